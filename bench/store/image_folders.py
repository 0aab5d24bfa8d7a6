"""Where a run's saved images are (``run --save-images DIR``), read back from its records.

A record names its folder in ``images_dir``; a run file copied together with its images
finds that folder beside itself. The report's grids and ``determinism A B`` look the same
way, so this lookup lives with the run file, below both.
"""

from __future__ import annotations

from pathlib import Path


def images_folder(run_path: Path | str, images_dir: str | None) -> Path | None:
    """The folder as recorded, else the folder of that name next to the run file; None when
    the record names none or neither exists."""
    if not images_dir:
        return None
    recorded = Path(images_dir)
    if recorded.is_dir():
        return recorded
    beside = Path(run_path).parent / recorded.name
    return beside if beside.is_dir() else None
