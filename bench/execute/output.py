"""Where a run's file goes: the default name, and a check that it can be written at all."""

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
