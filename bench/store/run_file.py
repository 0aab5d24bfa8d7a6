"""The run file: JSON Lines with a header, one record per finished config, and a footer.

Every record is written as one line and flushed (and fsynced) at once, so a crash loses
at most the config in flight; a process killed mid-write leaves at most a torn last
line, which ``read_run`` skips with a warning. A write that fails (disk full) is cut back
to the last whole record and ends the run with ``StorageError``: the file stays readable
and resumable. While a run writes its file it holds ``RunFileLock``, so a second writer
is refused instead of mixing two runs in one file.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from bench.errors import StorageError, UsageError
from bench.result import ConfigResult, Ending, Footer
from bench.store.rounds import merge_rounds

SCHEMA_VERSION = 1


def now_iso() -> str:
    """Timestamps in records: UTC, seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def footer_record(status: Ending, duration_s: float, configs: int, **extra: object) -> dict:
    """The run file's last record (the only place that builds one)."""
    return {"type": "footer", "status": Ending(status).value, "finished_at": now_iso(),
            "duration_s": duration_s, "configs": configs, **extra}


def drop_torn_tail(path: Path) -> None:
    """Cut a torn last line (a process killed mid-write) so appended records stay readable."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


# A launcher that holds the lock for its ranks names the file here, so rank 0 writes
# under the launcher's lock instead of being refused by it.
LOCK_HELD_ENV = "SDXL_BENCH_RUN_FILE_LOCKED"


class RunFileLock:
    """One writer per run file: an exclusive ``flock`` on ``FILE.lock`` holding the pid.

    Held from planning to the footer; a second run given the same file is refused with
    the holder's pid. The lock dies with its process, so a killed run never blocks the
    next one (its stale ``.lock`` file is simply taken over).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._fd: int | None = None
        self._made: list[Path] = []  # folders this lock had to create

    def acquire(self) -> RunFileLock:
        if os.environ.get(LOCK_HELD_ENV) == str(self.path.resolve()):
            return self  # the launcher that started this rank holds it
        self._made = [p for p in [self.path.parent, *self.path.parent.parents] if not p.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UsageError(f"run file {self.path} is being written by another sdxl-bench"
                             f" (pid {holder}); wait for it to finish or choose another --out"
                             ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.lock_path.unlink()
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None
        for folder in self._made:  # deepest first; a run that wrote nothing leaves nothing
            try:
                folder.rmdir()
            except OSError:
                break

    def __enter__(self) -> RunFileLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class RunWriter:
    """Appends records to a run file, one flushed line each."""

    def __init__(self, path: Path, mode: str = "w") -> None:
        self.path = Path(path)
        self.records = 0  # whole records written by this writer
        self.failed = False  # a write failed: the file ends at its last whole record
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] = open(self.path, mode, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write run file {self.path}: {exc.strerror}") from exc
        self._good = self._file.tell()  # end of the last whole record

    def write(self, record: dict) -> None:
        line = json.dumps(record, allow_nan=False, default=_jsonable) + "\n"  # may raise: nothing written
        try:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            self._fail(exc)
        self._good = self._file.tell()
        self.records += 1

    def _fail(self, exc: OSError) -> None:
        """Cut the file back to its last whole record and say what is safe in it."""
        self.failed = True
        try:
            self._file.close()
        except OSError:
            pass
        try:
            os.truncate(self.path, self._good)
        except OSError:
            pass  # read_run skips a torn last line anyway
        safe = sum(1 for _ in _config_lines(self.path))
        raise StorageError(f"cannot write run file {self.path}: {exc.strerror or exc};"
                           f" {safe} finished config record(s) are safe in it"
                           f" (free space, then continue with --resume {self.path})") from exc

    def close(self) -> None:
        if not self._file.closed:
            try:
                self._file.close()
            except OSError:
                pass

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _config_lines(path: Path):
    """The whole config records of a file (for counting what a failed write left); a
    device such as /dev/full is not read (it never ends)."""
    if not path.is_file():
        return
    try:
        with open(path, encoding="utf-8") as file:
            for line in file:
                if line.endswith("\n") and '"type": "config"' in line:
                    yield line
    except OSError:
        return


def _jsonable(value: object) -> object:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _is_pytest_benchmark(text: str) -> bool:
    """A pytest-benchmark JSON file: one object with ``machine_info`` and ``benchmarks``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and "benchmarks" in data and "machine_info" in data


@dataclass
class Run:
    """A run file read back: header, records, footer (None when missing), and the config
    records as typed results (``results``) for every reader."""

    path: Path
    header: dict
    records: list[dict] = field(default_factory=list)
    footer: dict | None = None
    warnings: list[str] = field(default_factory=list)
    torn: bool = False  # a torn last line (an interrupted write) was skipped
    results: tuple[ConfigResult, ...] = ()  # the ``config`` records, typed
    end: Footer | None = None  # the footer, typed

    @property
    def configs(self) -> list[dict]:
        return [r for r in self.records if r.get("type") == "config"]

    @property
    def checks(self) -> list[dict]:
        """The ``determinism`` records (one per check and config)."""
        return [r for r in self.records if r.get("type") == "determinism"]


class NotFinite(ValueError):
    """A NaN or an infinity in a run file (JSON has none; ``json`` reads them anyway)."""


def _not_finite(name: str) -> float:
    raise NotFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999
        raise NotFinite(text)
    return value


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
    torn = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_constant=_not_finite, parse_float=_finite_float)
        except NotFinite as exc:
            raise UsageError(f"{path} line {number} holds {exc}: the harness never writes a"
                             " number that is not finite; the file is malformed") from None
        except json.JSONDecodeError:
            is_last = number == len(lines)
            if is_last and objects:
                notes.append(f"{path}: line {number} is torn (an interrupted write); skipped")
                torn = True
                continue
            if number == 1 and _is_pytest_benchmark(text):
                raise UsageError(f"{path} is a pytest-benchmark file, not an sdxl-bench run file"
                                 " (compare and gate read both)") from None
            raise UsageError(
                f"{path} line {number} is not JSON: not an sdxl-bench run file"
            ) from None
        if not isinstance(obj, dict) or "type" not in obj:
            if number == 1 and _is_pytest_benchmark(text):
                raise UsageError(f"{path} is a pytest-benchmark file, not an sdxl-bench run file"
                                 " (compare and gate read both)")
            raise UsageError(f"{path} line {number} is not an sdxl-bench record")
        if obj["type"] in ("config", "round") and not isinstance(obj.get("config_id"), str):
            raise UsageError(f"{path} line {number}: a {obj['type']} record's config_id must be"
                             f" a string, got {obj.get('config_id')!r}")
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
    body += _merge_orphan_rounds(body, header, path, notes)
    results = []
    for record in body:
        if record.get("type") == "config":
            try:
                results.append(ConfigResult.from_record(record, schema))
            except (TypeError, ValueError, AttributeError) as exc:
                raise UsageError(f"{path}: config record {record.get('config_id')!r} is"
                                 f" malformed ({exc})") from None
    try:
        end = None if footer is None else Footer.from_record(footer)
    except ValueError as exc:
        raise UsageError(f"{path}: the footer is malformed ({exc})") from None
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return Run(path=path, header=header, records=body, footer=footer, warnings=notes, torn=torn,
               results=tuple(results), end=end)


def _merge_orphan_rounds(body: list[dict], header: dict, path: Path, notes: list[str]
                         ) -> list[dict]:
    """Config records for the configs of a ``--rounds`` run killed before it merged them
    (SIGKILL, a power cut): every finished round is a measurement the reader keeps. They
    lack what the writer derives with the measuring stack (FLOPs, MFU, stability) and are
    marked ``merged_by_reader``."""
    merged = {r.get("config_id") for r in body if r.get("type") == "config"}
    by_id: dict = {}
    for record in body:
        if record.get("type") == "round" and record.get("config_id") not in merged:
            by_id.setdefault(record.get("config_id"), []).append(record)
    if not by_id:
        return []
    planned = (header.get("options") or {}).get("rounds") or max(
        int(r.get("round") or 1) for rounds in by_id.values() for r in rounds)
    try:
        records = [merge_rounds([ConfigResult.from_record(r) for r in rounds], planned)
                   .replace(merged_by_reader=True).to_record() for rounds in by_id.values()]
    except (TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path}: a round record is malformed ({exc})") from None
    notes.append(f"{path}: {len(records)} config(s) have --rounds measurements but no merged"
                 " record (the run was killed before merging); merged here from their"
                 " finished rounds, without FLOPs, MFU or stability")
    return records
