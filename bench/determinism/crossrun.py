"""Match the images of two run files: exact (equal content hashes), within tolerance (saved
pixels compared), or not. No torch: hashes and PNGs only.

Images are paired by config id and position in the call, and only when everything that
decides the pixels agrees (model, task, dtype, size, steps, guidance, strength, generator
device, seed, prompt). Run files from ``run`` carry the last timed call's hashes;
those from ``determinism`` carry the hashes of each config's first call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.determinism.manifest import load_png
from bench.determinism.pixels import default_tolerance, max_abs_diff, psnr_db, quantized_tolerance
from bench.errors import UsageError
from bench.result import ConfigResult, json_data
from bench.store.image_folders import images_folder

EXACT, WITHIN, DIFFER, HASH_DIFFERS, NOT_COMPARABLE = (
    "exact", "within", "differ", "hash-differs", "not-comparable")
SETTINGS = ("model", "task", "dtype", "height", "width", "num_inference_steps", "guidance_scale",
            "strength", "generator_device")


@dataclass(frozen=True)
class RunImage:
    """One image of a run file: where it sits, what made it, its hash, its PNG if saved."""

    config_id: str
    index: int
    seed: int
    prompt: str | None
    settings: tuple
    sha256: str
    file: Path | None


@dataclass(frozen=True)
class ImageMatch:
    config_id: str
    index: int
    seed: int
    status: str
    max_abs_diff: float | None = None
    psnr_db: float | None = None
    note: str = ""


@dataclass(frozen=True)
class CrossRun:
    matches: tuple[ImageMatch, ...]
    tolerance: float | None  # None: by each image's dtype
    only_first: int
    only_second: int

    @property
    def mismatched(self) -> list[ImageMatch]:
        return [m for m in self.matches if m.status not in (EXACT, WITHIN)]


def run_images(run) -> list[RunImage]:
    """Every hashed image of a run file (config records, or determinism repeatability records)."""
    prompts = run.header.get("plan", {}).get("prompts", [])
    images = []
    repeatability = [ConfigResult.from_record(r) for r in run.checks
                     if r.get("check") == "repeatability"]
    for result in [r for r in run.results if r.ok] + repeatability:
        hashes = result.image_sha256
        if not hashes:
            continue
        folder = images_folder(run.path, result.images_dir)
        files = result.image_files or ()
        indices = result.prompt_indices or [None] * len(hashes)
        for index, sha in enumerate(hashes):
            prompt_index = indices[index]
            prompt = prompts[prompt_index] if prompt_index is not None and prompt_index < len(
                prompts) else None
            file = folder / files[index] if folder and index < len(files) else None
            images.append(RunImage(
                config_id=result.config_id, index=index, seed=result.seeds[index],
                prompt=prompt, settings=tuple(json_data(getattr(result, k)) for k in SETTINGS),
                sha256=sha,
                file=file if file and file.is_file() else None,
            ))
    return images


def _differences(a: RunImage, b: RunImage) -> list[str]:
    notes = [f"{name} {x!r} vs {y!r}"
             for name, x, y in zip(SETTINGS, a.settings, b.settings, strict=True) if x != y]
    if a.seed != b.seed:
        notes.append(f"seed {a.seed} vs {b.seed}")
    if a.prompt != b.prompt:
        notes.append("prompt differs")
    return notes


def match_image(a: RunImage, b: RunImage, tolerance: float | None) -> ImageMatch:
    base = {"config_id": a.config_id, "index": a.index, "seed": a.seed}
    differences = _differences(a, b)
    if differences:
        return ImageMatch(**base, status=NOT_COMPARABLE, note="; ".join(differences))
    if a.sha256 == b.sha256:
        return ImageMatch(**base, status=EXACT, max_abs_diff=0.0, psnr_db=math.inf)
    if a.file is None or b.file is None:
        return ImageMatch(**base, status=HASH_DIFFERS,
                          note="hashes differ; no saved images to measure how much (use --save-images)")
    try:
        pa, pb = load_png(a.file), load_png(b.file)
    except UsageError as exc:  # one unreadable image does not hide the others' verdicts
        return ImageMatch(**base, status=NOT_COMPARABLE, note=str(exc))
    diff, psnr = max_abs_diff(pa, pb), psnr_db(pa, pb)
    if tolerance is None:
        tolerance = default_tolerance(a.settings[SETTINGS.index("dtype")])
    status = WITHIN if diff <= quantized_tolerance(tolerance) else DIFFER
    return ImageMatch(**base, status=status, max_abs_diff=diff, psnr_db=psnr,
                      note=f"{a.file.name} vs {b.file.name}")


def compare(first, second, tolerance: float | None) -> CrossRun:
    """Pair the images of two runs by (config id, position) and judge each pair."""
    ours = {(i.config_id, i.index): i for i in run_images(first)}
    theirs = {(i.config_id, i.index): i for i in run_images(second)}
    for run, images in ((first, ours), (second, theirs)):
        if not images:
            raise UsageError(f"{run.path} holds no image hashes (no finished config records)")
    common = [key for key in ours if key in theirs]
    if not common:
        raise UsageError(f"{first.path} and {second.path} share no config: nothing to compare")
    matches = tuple(match_image(ours[k], theirs[k], tolerance) for k in common)
    return CrossRun(matches, tolerance, len(ours) - len(common), len(theirs) - len(common))
