"""Saved images and their seed manifest (``manifest.json`` in the images folder).

Every image is a PNG named after its scenario, config, position, prompt, copy and seed;
the manifest maps each image id (the file name without ``.png``) to everything needed to
make it again: model, config, prompt, input image, seed, generator device and the
content hash of its pixels.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench.determinism.single import image_sources
from bench.errors import UsageError
from bench.measure.generators import generator_device
from bench.measure.images import content_hash, to_uint8
from bench.plan.sweep import Config

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "x"


def image_id(config: Config, index: int, prompt_index: int, copy_index: int, seed: int) -> str:
    """``<scenario>_<bsB-nN>_i<index>_p<prompt>_c<copy>_s<seed>``: unique within a run."""
    layout = config.config_id.split("/", 1)[-1]
    return (f"{_slug(config.scenario)}_{_slug(layout)}_i{index}_p{prompt_index}"
            f"_c{copy_index}_s{seed}")


def check_images_dir(folder: str | Path) -> Path:
    """Fail before loading anything if the folder cannot hold the images."""
    path = Path(folder).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"--save-images {str(folder)!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe-", delete=True)
        probe.close()
    except OSError as exc:
        raise UsageError(f"--save-images {str(folder)!r} cannot be written: {exc.strerror}") from None
    return path


@dataclass
class ImageSaver:
    """Writes a call's images as PNGs and keeps ``manifest.json`` up to date (atomically).

    A new saver starts a new manifest: an existing ``manifest.json`` in the folder is
    replaced when the first images are saved.
    """

    folder: Path
    model: str
    prompts: tuple[str, ...]
    input_images: tuple[str, ...]  # paths/URLs as given; empty → generated defaults
    num_default_images: int
    run_id: str | None = None
    command: list[str] = field(default_factory=list)
    configs: dict = field(default_factory=dict)
    entries: list = field(default_factory=list)

    def save(self, config: Config, images) -> list[str]:
        """Save one call's images (float arrays); returns their ids in image order."""
        from PIL import Image

        n_inputs = (len(self.input_images) or self.num_default_images) if config.task == "img2img" else 0
        ids = []
        for source, image in zip(image_sources(config, len(self.prompts), n_inputs), images, strict=True):
            ident = image_id(config, source.index, source.prompt_index, source.copy_index, source.seed)
            Image.fromarray(to_uint8(image)).save(self.folder / f"{ident}.png")
            self.entries = [e for e in self.entries if e["id"] != ident]
            self.entries.append({
                "id": ident,
                "file": f"{ident}.png",
                "config_id": config.config_id,
                "index": source.index,
                "prompt_index": source.prompt_index,
                "copy_index": source.copy_index,
                "input_image_index": source.input_image_index,
                "prompt": self.prompts[source.prompt_index],
                "seed": source.seed,
                "generator_device": config.generator_device,
                "generator_on": generator_device(config.generator_device, config.device),
                "model": config.model,
                "sha256": content_hash(image),
            })
            ids.append(ident)
        self.configs[config.config_id] = config.describe()
        self.write()
        return ids

    def record_fields(self, config: Config, images) -> dict:
        """Save the images; the fields that tell a config record where they are."""
        return {"images_dir": str(self.folder), "image_files": [f"{i}.png" for i in
                                                                 self.save(config, images)]}

    def manifest(self) -> dict:
        return {
            "tool": "sdxl-bench",
            "manifest_version": MANIFEST_VERSION,
            "run_id": self.run_id,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": self.command,
            "model": self.model,
            "prompts": list(self.prompts),
            "input_images": list(self.input_images),
            "num_default_images": self.num_default_images,
            "configs": self.configs,
            "images": self.entries,
        }

    def write(self) -> None:
        text = json.dumps(self.manifest(), indent=1)
        handle, tmp = tempfile.mkstemp(prefix=".manifest-", dir=self.folder)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, self.folder / MANIFEST_NAME)


@dataclass(frozen=True)
class Manifest:
    """A manifest read back, with the folder its image files are relative to."""

    path: Path
    data: dict

    @property
    def folder(self) -> Path:
        return self.path.parent

    def entry(self, ident: str) -> dict:
        """An image by id, file name or path; a clear error listing a few ids otherwise."""
        wanted = Path(ident).name.removesuffix(".png")
        for entry in self.data.get("images", []):
            if entry["id"] == wanted:
                return entry
        known = [e["id"] for e in self.data.get("images", [])]
        sample = ", ".join(known[:3]) + (", …" if len(known) > 3 else "")
        raise UsageError(f"image {ident!r} is not in {self.path} ({len(known)} images: {sample})")

    def config(self, entry: dict) -> Config:
        """The config the image was made with, rebuilt from its described fields."""
        from bench.determinism.verdicts import described_config

        return described_config(self.data["configs"][entry["config_id"]])

    def image_path(self, entry: dict) -> Path:
        return self.folder / entry["file"]


def read_manifest(path: str | Path) -> Manifest:
    """A manifest file, or a folder holding ``manifest.json``."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"manifest {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"manifest {path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("tool") != "sdxl-bench" or "images" not in data:
        raise UsageError(f"{path} is not an sdxl-bench image manifest")
    if data.get("manifest_version", 0) > MANIFEST_VERSION:
        raise UsageError(f"{path} has manifest version {data.get('manifest_version')};"
                         f" this sdxl-bench reads <= {MANIFEST_VERSION}")
    return Manifest(path, data)


def load_png(path: Path):
    """The 8-bit RGB pixels of a saved image; a ``UsageError`` naming it when it is missing,
    corrupt or not an image."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"saved image {path} cannot be read: {why}") from None
