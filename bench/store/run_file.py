"""The run file: JSON Lines with a header, one record per finished config, and a footer.

Every record is written as one line and flushed (and fsynced) at once, so a crash loses
at most the config in flight; a process killed mid-write leaves at most a torn last
line, which ``read_run`` skips with a warning.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from bench.errors import UsageError

SCHEMA_VERSION = 1


def now_iso() -> str:
    """Timestamps in records: UTC, seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def footer_record(status: str, duration_s: float, configs: int, **extra: object) -> dict:
    """The run file's last record (the only place that builds one)."""
    return {"type": "footer", "status": status, "finished_at": now_iso(),
            "duration_s": duration_s, "configs": configs, **extra}


def drop_torn_tail(path: Path) -> None:
    """Cut a torn last line (a process killed mid-write) so appended records stay readable."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


class RunWriter:
    """Appends records to a run file, one flushed line each."""

    def __init__(self, path: Path, mode: str = "w") -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] = open(self.path, mode, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write run file {self.path}: {exc.strerror}") from exc

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record, allow_nan=False, default=_jsonable) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _jsonable(value: object) -> object:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass
class Run:
    """A run file read back: header, config-like records, footer (None when missing)."""

    path: Path
    header: dict
    records: list[dict] = field(default_factory=list)
    footer: dict | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def configs(self) -> list[dict]:
        return [r for r in self.records if r.get("type") == "config"]


def read_run(path: Path | str) -> Run:
    """Read a run file; a clear ``UsageError`` for anything that is not one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"run file {path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"run file {path} is a directory, not a run file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read run file {path}: {exc}") from None
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise UsageError(f"run file {path} is empty")
    objects: list[dict] = []
    notes: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            is_last = number == len(lines)
            if is_last and objects:
                notes.append(f"{path}: line {number} is torn (an interrupted write); skipped")
                continue
            raise UsageError(
                f"{path} line {number} is not JSON: not an sdxl-bench run file"
            ) from None
        if not isinstance(obj, dict) or "type" not in obj:
            raise UsageError(f"{path} line {number} is not an sdxl-bench record")
        objects.append(obj)
    header = objects[0]
    if header.get("type") != "header" or header.get("tool") != "sdxl-bench":
        raise UsageError(f"{path} has no sdxl-bench header: not an sdxl-bench run file")
    schema = header.get("schema")
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise UsageError(
            f"{path} has schema {schema!r}; this sdxl-bench reads schema <= {SCHEMA_VERSION}"
            " (upgrade sdxl-bench)"
        )
    body = objects[1:]
    footer = body.pop() if body and body[-1].get("type") == "footer" else None
    if footer is None:
        notes.append(f"{path}: no footer (the run did not finish); using the records present")
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return Run(path=path, header=header, records=body, footer=footer, warnings=notes)
