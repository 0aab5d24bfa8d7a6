"""Image grids for the report, when a run saved its images (``run --save-images DIR``).

A config result names its folder in ``images_dir`` and, from a one-process run, its files
in ``image_files``; a ``--nproc`` run gives each config its own folder of PNGs instead.
A folder that does not exist as recorded is looked for next to the run file (a run file
copied together with its images). Anything missing or unreadable is skipped with a note:
grids are a convenience, never a reason for the report to fail.
"""

from __future__ import annotations

import io
from pathlib import Path

from bench.result import ConfigResult
from bench.store.image_folders import images_folder
from bench.store.run_file import Run

MAX_IMAGES = 16
THUMBNAIL = 128


def result_images(run: Run, result: ConfigResult) -> list[Path]:
    """The saved PNGs of one config, in image order (empty when none)."""
    folder = images_folder(run.path, result.images_dir)
    if folder is None:
        return []
    files = result.image_files
    if files:
        return [folder / name for name in files]
    return sorted(folder.glob("*.png"))


def grid_png(paths: list[Path]) -> bytes:
    """Up to ``MAX_IMAGES`` images, shrunk to at most ``THUMBNAIL`` pixels, in rows of four."""
    from PIL import Image

    thumbs = []
    for path in paths[:MAX_IMAGES]:
        with Image.open(path) as image:
            thumb = image.convert("RGB")
            thumb.thumbnail((THUMBNAIL, THUMBNAIL))
            thumbs.append(thumb)
    columns = min(4, len(thumbs))
    rows = -(-len(thumbs) // columns)
    width = max(thumb.width for thumb in thumbs)  # small images stay small, no empty cells
    height = max(thumb.height for thumb in thumbs)
    sheet = Image.new("RGB", (columns * width, rows * height), "white")
    for i, thumb in enumerate(thumbs):
        sheet.paste(thumb, ((i % columns) * width, (i // columns) * height))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def run_grids(run: Run) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(config_id, grid PNG) for every config with saved images, and notes on what failed."""
    grids, notes = [], []
    for result in run.results:
        if not result.images_dir:
            continue
        config_id = str(result.config_id)
        paths = result_images(run, result)
        if not paths:
            notes.append(f"images of {config_id} not found ({result.images_dir}); grid skipped")
            continue
        try:
            grids.append((config_id, grid_png(paths)))
        except (OSError, ValueError) as exc:
            notes.append(f"images of {config_id} unreadable ({exc}); grid skipped")
    return grids, notes
