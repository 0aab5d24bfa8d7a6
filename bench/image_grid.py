"""Image grids for the report, when a run saved its images (``--save-images``).

The run's images are listed in a ``manifest.json``: named by the header
(``images_manifest``, relative to the run file), or found as ``<run>.images/manifest.json``
or ``manifest.json`` beside the run file. It holds ``{"images": [{"config_id": ...,
"path": ...}, ...]}`` (paths relative to the manifest). Anything missing or unreadable is
skipped with a note: grids are a convenience, never a reason for the report to fail.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

from bench.runfile import Run

MAX_IMAGES = 16
THUMBNAIL = 128


def find_manifest(run: Run) -> Path | None:
    named = run.header.get("images_manifest")
    candidates = [run.path.parent / named] if named else []
    candidates += [
        run.path.with_suffix(".images") / "manifest.json",
        run.path.parent / "manifest.json",
    ]
    return next((path for path in candidates if path.is_file()), None)


def manifest_images(manifest: Path) -> dict[str, list[Path]]:
    """config_id -> image paths, from a manifest; ValueError when it is malformed."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise ValueError("no 'images' list")
    by_config: dict[str, list[Path]] = defaultdict(list)
    for item in images:
        by_config[str(item["config_id"])].append(manifest.parent / str(item["path"]))
    return dict(by_config)


def grid_png(paths: list[Path]) -> bytes:
    """Thumbnails of up to ``MAX_IMAGES`` images in rows of four, as PNG bytes."""
    from PIL import Image

    thumbs = []
    for path in paths[:MAX_IMAGES]:
        with Image.open(path) as image:
            thumb = image.convert("RGB")
            thumb.thumbnail((THUMBNAIL, THUMBNAIL))
            thumbs.append(thumb)
    columns = min(4, len(thumbs))
    rows = -(-len(thumbs) // columns)
    sheet = Image.new("RGB", (columns * THUMBNAIL, rows * THUMBNAIL), "white")
    for i, thumb in enumerate(thumbs):
        sheet.paste(thumb, ((i % columns) * THUMBNAIL, (i // columns) * THUMBNAIL))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def run_grids(run: Run) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(config_id, grid PNG) for every config with saved images, and notes on what failed."""
    manifest = find_manifest(run)
    if manifest is None:
        return [], []
    try:
        by_config = manifest_images(manifest)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [], [f"image manifest {manifest} unreadable ({exc}); no image grids"]
    grids, notes = [], []
    for config_id, paths in by_config.items():
        try:
            grids.append((config_id, grid_png(paths)))
        except (OSError, ValueError) as exc:
            notes.append(f"images of {config_id} unreadable ({exc}); grid skipped")
    return grids, notes
