"""Where a pipeline comes from: the ``--model`` value checked at planning time (no torch).

The presets' component configurations live in ``bench.assemble.architectures``; what a plan
needs of them (name, default size and steps, one line for ``list``) lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.errors import UsageError

PRESETS = {
    "tiny": {
        "default_size": 64,
        "default_steps": 4,
        # docs/measurements/2026-12-05-cpu-xeon-example.md: 0.15-0.20 s per image (idle
        # 2-core Xeon, 64x64, 4 steps); 0.3-0.5 s on the same machine under load.
        "description": "tiny random-weight SDXL (seeded), built offline; about 0.2 s per image"
                       " on an idle CPU at its defaults, more on a busy one",
    },
    "sdxl-arch": {
        "default_size": 1024,
        "default_steps": 30,
        "description": "full SDXL-base architecture, random weights: real FLOPs and memory, no download",
    },
}

# Default resolution and steps for hub ids and local folders.
PRETRAINED_DEFAULTS = {"default_size": 1024, "default_steps": 30}


@dataclass(frozen=True)
class ModelSpec:
    """Where a pipeline comes from, resolved at planning time (no torch needed)."""

    name: str  # preset name, hub id or folder, as the user typed it
    kind: str  # "preset" | "folder" | "hub"
    default_size: int
    default_steps: int
    variant: str | None = None


def resolve_model(name: str, variant: str | None = None) -> ModelSpec:
    """Check the ``--model`` value before anything is loaded."""
    if name in PRESETS:
        preset = PRESETS[name]
        if variant:
            raise UsageError(f"--variant {variant!r} applies to hub ids and folders, not preset {name!r}")
        return ModelSpec(name, "preset", preset["default_size"], preset["default_steps"])
    path = Path(name).expanduser()
    looks_like_path = name.startswith((".", "/", "~")) or path.exists()
    if looks_like_path:
        if not path.is_dir():
            raise UsageError(
                f"--model {name!r}: no such folder (presets: {', '.join(PRESETS)}; or a hub id)"
            )
        if not (path / "model_index.json").is_file():
            raise UsageError(
                f"--model {name!r} is not a diffusers pipeline folder (no model_index.json)"
            )
        return ModelSpec(str(path), "folder", folder_default_size(path),
                         PRETRAINED_DEFAULTS["default_steps"], variant=variant)
    if name.count("/") != 1 or not all(name.split("/")):
        raise UsageError(
            f"--model {name!r} is not a preset ({', '.join(PRESETS)}), a folder, or a hub id"
            " of the form owner/name"
        )
    return ModelSpec(name, "hub", **PRETRAINED_DEFAULTS, variant=variant)


def folder_default_size(folder: Path) -> int:
    """The image size diffusers itself would use for a pipeline folder: the UNet's
    ``sample_size`` times the VAE's scale factor (2 ** (number of VAE blocks - 1)); 1024
    when the configs do not say (SDXL's own size)."""
    import json

    try:
        unet = json.loads((folder / "unet" / "config.json").read_text())
        vae = json.loads((folder / "vae" / "config.json").read_text())
        sample = unet["sample_size"]
        sample = sample[0] if isinstance(sample, list) else int(sample)
        return int(sample) * 2 ** (len(vae["block_out_channels"]) - 1)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return PRETRAINED_DEFAULTS["default_size"]
