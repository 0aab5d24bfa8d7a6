"""Where a run's file goes: the default name, and checks before anything is measured.

A run file is never overwritten by accident: an existing file is refused unless the user
says ``--force`` (replace) or ``--resume`` (continue it).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from bench.errors import UsageError


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-") or "x"


def default_out(scenario: str, model: str, device: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("reports/runs") / f"{stamp}_{_slug(scenario)}_{_slug(model)}_{_slug(device)}.jsonl"


def check_writable(path: Path) -> None:
    """Fail at planning time, not after an hour of measuring, if the file cannot be written.

    Leaves nothing behind: folders and the file it had to create are removed again.
    """
    missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UsageError(f"--out {str(path)!r} cannot be written: {exc.strerror}") from None
    if not existed:
        path.unlink()
    for folder in missing:  # deepest first
        folder.rmdir()


def check_out(out: str | None, flag: str = "--out", force: bool = False,
              resumable: bool = True) -> Path | None:
    """The ``--out`` value checked: not empty, not a folder, not an existing file unless
    ``force`` (then it is replaced), writable."""
    if out is None:
        return None
    if not out.strip():
        raise UsageError(f"{flag} {out!r}: give a file name, or leave {flag} out for the default")
    path = Path(out).expanduser()
    if path.is_dir():
        raise UsageError(f"{flag} {out!r} is a folder; give a file name inside it")
    if path.exists() and not force:
        hint = f", or continue that run with --resume {out}" if resumable else ""
        raise UsageError(f"{flag} {out!r} exists; add --force to replace it{hint}")
    check_writable(path)
    return path
