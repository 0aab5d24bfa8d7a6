"""The results store: every run of every machine in one SQLite file (docs/history.md).

``sdxl-bench history add`` puts run files in; ``history show``, ``history report``,
``history export`` and ``gate --history`` read them back as ``ResultRow``s, one per
(run, workload): the stored run and its ``ConfigResult`` as the store keeps it. The
``results`` table's columns are written once, in ``RESULT_COLUMNS``: the table, the
insert, the select and the export are generated from it, and rows are read by name.
Run files are read with the project's own readers (``result_files.load_results``), so a
file refused anywhere else is refused here in the same words; on top of that a store
takes only finished runs: a torn last line, a missing footer or an interrupted run is
refused, never stored in part. Each file is one transaction: it is stored whole or not
at all, and a run already in the store (same header and records, whichever path it
comes from) is left alone.

Standard library only (``sqlite3``); nothing here computes statistics.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sqlite3
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.errors import UsageError
from bench.result import ConfigResult
from bench.store.atomic import write_bytes_atomic, write_text_atomic
from bench.store.result_files import load_results
from bench.store.run_file import Run
from bench.store.schema import UNMATCHED_ARGUMENTS, config_key, unmatched_arguments

STORE_ENV = "SDXL_BENCH_HISTORY"
FORMAT = "sdxl-bench history"
STORE_SCHEMA = 1
BUSY_TIMEOUT_S = 30.0  # how long a command waits for another process's lock on the store
VERSION_FIELDS = ("torch", "diffusers", "transformers", "cuda", "python", "sdxl_bench")
PARQUET_INSTALL = "pip install pyarrow"

# The tables besides ``results`` (whose columns are ``RESULT_COLUMNS``, below).
_RUN_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE machines (
    id TEXT PRIMARY KEY,          -- fingerprint (12 hex digits) or the --machine name
    name TEXT NOT NULL,           -- how tables show it
    device_name TEXT, driver TEXT, cpu TEXT, host TEXT
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,  -- sha256 of the header and config records
    run_id TEXT, started_at TEXT NOT NULL, added_at TEXT NOT NULL,
    machine_id TEXT NOT NULL REFERENCES machines(id),
    git_commit TEXT, label TEXT,
    torch TEXT, diffusers TEXT, transformers TEXT, cuda TEXT, python TEXT, sdxl_bench TEXT,
    source TEXT,                  -- the path it was added from
    env TEXT NOT NULL             -- the header's env, JSON
);
CREATE INDEX runs_by_machine ON runs (machine_id, started_at);
"""


class StoreError(UsageError):
    """The store itself cannot be used (damaged, locked): not a problem of one run file,
    so ``history add`` stops rather than refusing every file in turn. Exit code 2."""


class StoreLocked(StoreError):
    """Another process holds the store's lock longer than ``BUSY_TIMEOUT_S``: nothing is
    wrong with the store or the input, so exit code 1 (try again)."""

    exit_code = 1


class NotTimed(UsageError):
    """A run file of another kind that holds no timings (a determinism run): ``history
    add`` skips it with a note instead of refusing it."""


def default_store_path() -> Path:
    """``$SDXL_BENCH_HISTORY``, else ``$XDG_DATA_HOME/sdxl-bench/history.sqlite``
    (``~/.local/share/sdxl-bench/history.sqlite``)."""
    chosen = os.environ.get(STORE_ENV)
    if chosen:
        return Path(chosen)
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data) / "sdxl-bench" / "history.sqlite"


@dataclass(frozen=True)
class Machine:
    """Where a run was measured: the fingerprint fields and the id they hash to."""

    id: str
    name: str
    device_name: str | None = None
    driver: str | None = None
    cpu: str | None = None
    host: str | None = None


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def machine_of(env: dict, name: str | None = None) -> Machine:
    """The machine of a run header's ``env``: device name, driver, CPU and host hashed to
    a 12-digit id, or ``name`` (``--machine``) for runners whose host name changes."""
    fields = [_text(env.get(k)) for k in ("device_name", "driver", "cpu", "host")]
    device, driver, cpu, host = fields
    if name is not None:
        name = name.strip()
        if not name:
            raise UsageError("--machine needs a non-empty name")
        return Machine(name, name, device, driver, cpu, host)
    digest = hashlib.sha256("\x1f".join(f or "" for f in fields).encode()).hexdigest()[:12]
    parts = [device or "unknown device"]
    if driver:
        parts.append(f"driver {driver}")
    if cpu and not (device or "").startswith("CPU"):
        parts.append(cpu)
    text = ", ".join(parts) + (f" @ {host}" if host else "")
    return Machine(digest, text, device, driver, cpu, host)


@dataclass(frozen=True)
class StoredRun:
    """One stored run: where and when it was measured, and what it measured (``runs``)."""

    id: int  # the run's row id in the store
    digest: str
    run_id: str | None
    started_at: str
    commit: str | None
    label: str | None
    machine: Machine
    versions: Mapping[str, str | None]
    source: str | None  # the path it was added from

    @property
    def revision(self) -> str:
        """The commit (short) and label, as tables show them."""
        commit = short_commit(self.commit)
        if self.label:
            return f"{commit} ({self.label})" if commit else self.label
        return commit or "—"


@dataclass(frozen=True)
class StoredResult:
    """What the store keeps of one config of a run: its workload (the key text ``compare``
    and ``gate`` match configs by), the key's optimizations in words, and its result."""

    workload: str
    optimizations: str  # "attn-math compile", or "default"
    result: ConfigResult

    @classmethod
    def of(cls, result: ConfigResult) -> StoredResult:
        """A run's result as stored: the key's fields as the key reads them (so a stored
        row and a run file match on the same text), images per call filled in."""
        key = config_key(result)
        images = result.images_per_call or (key.batch_size * key.num_images_per_prompt) or None
        keyed = result.replace(
            scenario=key.scenario, model=key.model, dtype=key.dtype, batch_size=key.batch_size,
            num_images_per_prompt=key.num_images_per_prompt,
            num_inference_steps=key.num_inference_steps, height=key.height, width=key.width,
            world_size=key.world_size, images_per_call=images)
        return cls(str(key), " ".join(key.optimizations) or "default", keyed)


@dataclass(frozen=True)
class ResultRow(StoredResult):
    """One workload measured in one stored run."""

    run: StoredRun

    @property
    def arguments(self) -> Arguments:
        """The call arguments that set this result's series apart (``series_arguments``)."""
        return series_arguments(self.result)


# --- series: a workload, its call arguments, a machine -----------------------------------

# Call arguments outside the key that leave the work of a call as it is: a run with
# another seed stays in its series (CI jobs that vary the seed keep one history).
SAME_WORK_ARGUMENTS = ("seed",)
Arguments = tuple[tuple[str, Any], ...]  # (name, value) pairs, sorted by name


def series_arguments(result: ConfigResult) -> Arguments:
    """The call arguments outside the workload key that change the work of a call
    (guidance scale: 1.0 turns classifier-free guidance off; strength; the task; where
    the noise is drawn): results that differ in them are different series, in ``history
    show``, the dashboard, the export and ``gate --history``."""
    return tuple(sorted(
        (name, json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value)
        for name, value in unmatched_arguments(result).items()
        if name not in SAME_WORK_ARGUMENTS))


def arguments_text(arguments: Arguments, names: Sequence[str] | None = None) -> str:
    """'guidance_scale 1.0, strength 0.5': the arguments (only ``names``, when given)."""
    values = dict(arguments)
    shown = sorted(values) if names is None else names
    return ", ".join(f"{name} {values[name] if name in values else 'not recorded'}"
                     for name in shown)


def series_marks(keys: Sequence[tuple[str, Arguments]]) -> dict[tuple[str, Arguments], str]:
    """(workload, arguments) -> the words that tell its series from the others of the same
    workload: the arguments whose values differ between them ('guidance_scale 1.0'); ''
    for a workload stored with one set of arguments only."""
    by_workload: dict[str, set[Arguments]] = {}
    for workload, arguments in keys:
        by_workload.setdefault(workload, set()).add(arguments)
    marks = {}
    for workload, arguments in keys:
        sets = [dict(a) for a in by_workload[workload]]
        names = sorted({n for values in sets for n in values
                        if len({repr(v.get(n, "not recorded")) for v in sets}) > 1})
        marks[(workload, arguments)] = arguments_text(arguments, names) if names else ""
    return marks


def series_label(workload: str, mark: str) -> str:
    """The series as tables title it: the workload, and its mark when it has one."""
    return f"{workload} · {mark}" if mark else workload


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


@dataclass(frozen=True)
class Column:
    """One column of the ``results`` table: its SQL type, the value a stored result puts
    there, the record fields it gives back (``read``: the row by name -> fields of a config
    record), and its name in an export (None: not exported; ``exported`` the value there
    when it is not the stored one)."""

    name: str
    sql: str
    put: Callable[[StoredResult], Any]
    read: Callable[[Mapping[str, Any]], dict] = lambda row: {}
    export: str | None = None
    exported: Callable[[StoredResult], Any] | None = None


def _field(name: str, sql: str) -> Column:
    """A column holding the result's attribute and record field ``name`` as it is."""
    return Column(name, sql, lambda stored: getattr(stored.result, name),
                  lambda row: {name: row[name]}, export=name)


def _latency(row: Mapping[str, Any]) -> dict:
    if row["median_s"] is None:
        return {"latency_s": None}
    values = json.loads(row["latencies"])
    return {"latency_s": {"median": row["median_s"], "values": values, "n": len(values),
                          "sample": row["sample"]}}


def _config_id(stored: StoredResult) -> str | None:
    return None if "config_id" in stored.result.absent else _text(stored.result.config_id)


def _budget(stored: StoredResult, part: int) -> Any:
    budget = stored.result.budget_memory()
    return budget[part] if budget else None


# The results table, in column order (the export keeps this order too). One row per
# (run, workload); ``run`` and the primary key are added around these.
RESULT_COLUMNS = (
    Column("workload", "TEXT NOT NULL", lambda s: s.workload, export="workload"),
    Column("config_id", "TEXT", _config_id, lambda row: {"config_id": row["config_id"]}),
    _field("scenario", "TEXT"),
    _field("model", "TEXT"),
    _field("dtype", "TEXT"),
    _field("batch_size", "INTEGER"),
    _field("num_images_per_prompt", "INTEGER"),
    _field("num_inference_steps", "INTEGER"),
    _field("height", "INTEGER"),
    _field("width", "INTEGER"),
    Column("optimizations", "TEXT", lambda s: s.optimizations, export="optimizations"),
    _field("world_size", "INTEGER"),
    _field("images_per_call", "INTEGER"),
    Column("status", "TEXT NOT NULL", lambda s: s.result.status.value,
           lambda row: {"status": row["status"]}, export="status"),
    # why the run's stability check distrusts it (JSON list)
    Column("unstable", "TEXT NOT NULL", lambda s: _json(list(s.result.unstable)),
           lambda row: {"stability": {"unstable": json.loads(row["unstable"])}},
           export="unstable", exported=lambda s: "; ".join(s.result.unstable) or None),
    # what latencies are: 'calls' or 'round medians' (--rounds)
    Column("sample", "TEXT NOT NULL", lambda s: s.result.sample, export="sample"),
    # JSON list of seconds: per call, or per round (sample)
    Column("latencies", "TEXT NOT NULL", lambda s: _json(list(s.result.latency_values)),
           _latency, export="calls", exported=lambda s: len(s.result.latency_values)),
    Column("median_s", "REAL", lambda s: s.result.median_s, export="median_s"),
    _field("images_per_s", "REAL"),
    # the view that answers "memory needed", and its bytes
    Column("memory_view", "TEXT", lambda s: _budget(s, 0), export="memory_view"),
    Column("memory_bytes", "INTEGER", lambda s: _budget(s, 1), export="memory_bytes"),
    # JSON: bytes per view; per view, the peak of every timed call
    Column("memory", "TEXT NOT NULL", lambda s: _json(s.result.memory_bytes()),
           lambda row: {"peak_memory_bytes": json.loads(row["memory"])}),
    Column("memory_calls", "TEXT NOT NULL",
           lambda s: _json({v: list(c) for v, c in s.result.memory_per_call().items()}),
           lambda row: {"peak_memory_per_call_bytes": json.loads(row["memory_calls"])}),
    # JSON: call arguments outside the key, by their record names
    Column("arguments", "TEXT NOT NULL", lambda s: _json(unmatched_arguments(s.result)),
           lambda row: json.loads(row["arguments"])),
)


def _schema() -> str:
    columns = "".join(f"    {c.name} {c.sql},\n" for c in RESULT_COLUMNS)
    return (_RUN_TABLES + "CREATE TABLE results (\n    run INTEGER NOT NULL REFERENCES runs(id),\n"
            + columns + "    PRIMARY KEY (run, workload)\n);\n"
            "CREATE INDEX results_by_workload ON results (workload);\n")


def stored_result(row: Mapping[str, Any]) -> ConfigResult:
    """The result of a stored row, read by column name."""
    record: dict = {}
    for column in RESULT_COLUMNS:
        record.update(column.read(row))
    return ConfigResult.from_record(record)


def short_commit(commit: str | None) -> str | None:
    if not commit:
        return None
    dirty = commit.endswith("-dirty")
    core = commit.removesuffix("-dirty")
    short = core[:10] if len(core) == 40 and all(c in "0123456789abcdef" for c in core) else core
    return short + ("-dirty" if dirty else "")


@dataclass(frozen=True)
class Added:
    """What ``add`` did with one file."""

    path: Path
    added: bool  # False: the run was in the store already
    configs: int
    machine: Machine
    commit: str | None
    label: str | None
    started_at: str

    def text(self) -> str:
        what = "added" if self.added else "already in the store (unchanged)"
        revision = short_commit(self.commit) or "no commit"
        if self.label:
            revision += f", label {self.label}"
        return (f"{self.path}: {what}: {self.configs} config(s), {self.started_at},"
                f" {revision}, machine {self.machine.name} [{self.machine.id}]")


@dataclass(frozen=True)
class Query:
    """Filters of show, report, export: words of the workload key (``bs1`` matches ``bs1``,
    not ``bs16``), a substring of the machine id or name, and dates."""

    workload: str | None = None
    machine: str | None = None
    since: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        for flag, value in (("--since", self.since), ("--until", self.until)):
            if value is not None:
                try:
                    datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    raise UsageError(f"{flag} takes a date like 2026-01-31 (or an ISO time),"
                                     f" got {value!r}") from None

    def accepts(self, row: ResultRow) -> bool:
        if self.workload and not all(
                re.search(rf"(?<!\d){re.escape(word)}(?!\d)", row.workload, re.IGNORECASE)
                for word in self.workload.split()):
            return False
        if self.machine and self.machine.lower() not in (
                f"{row.run.machine.id} {row.run.machine.name}".lower()):
            return False
        if self.since and row.run.started_at < self.since:
            return False
        return not (self.until and row.run.started_at[: len(self.until)] > self.until)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_digest(run: Run) -> str:
    """What makes two files the same run: a hash of the header and config records."""
    body = json.dumps({"header": run.header, "configs": run.configs}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _finish_advice(run: Run) -> str:
    """How to get a finished run from an unfinished one: resume it, unless ``run
    --resume`` refuses its kind (``--rounds`` and data-parallel runs are run again)."""
    header = run.header
    options = header.get("options") if isinstance(header.get("options"), dict) else {}
    if (options.get("rounds") or 1) > 1:
        return "a --rounds run cannot be resumed: run it again"
    if header.get("distributed"):
        return "a data-parallel run cannot be resumed: run it again"
    return f"finish it with `sdxl-bench run --resume {run.path}`"


def unstorable(run: Run) -> str | None:
    """Why a run file cannot go into the store, or None: only whole, finished runs do."""
    path = run.path
    if run.torn:
        return (f"{path} ends in a torn line (a write was interrupted): not stored;"
                f" {_finish_advice(run)}")
    if run.end is None:
        return f"{path} has no footer (the run did not finish): not stored; {_finish_advice(run)}"
    if not run.end.complete:
        return (f"{path}: the run ended {run.end.status.value!r}, not complete:"
                f" not stored; {_finish_advice(run)}")
    if not run.results:
        return f"{path} has no config records (nothing measured): not stored"
    if not _text(run.header.get("started_at")):
        return f"{path}: the header has no started_at: not stored"
    return None


def read_finished_run(path: Path | str) -> Run:
    """A run file whole and finished, or a ``UsageError`` saying why it cannot be stored."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reasons are checked below, one line each
        result = load_results(path)
    run = result.run
    if result.kind != "run" or run is None:
        raise UsageError(f"{path} is a {result.kind} file: the history stores sdxl-bench run files")
    if run.header.get("mode") == "determinism":
        raise NotTimed(f"skipped {path}: a determinism run (image checks, no timings); the"
                       " history keeps timed runs")
    problem = unstorable(run)
    if problem:
        raise UsageError(problem)
    return run


class HistoryStore:
    """One SQLite file. ``open_store`` opens it; use as a context manager."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------

    def add(self, path: Path | str, commit: str | None = None, label: str | None = None,
            machine_name: str | None = None) -> Added:
        """Store one run file in one transaction; a ``UsageError`` (store unchanged) when
        the file cannot be stored, a ``StoreError`` when the store cannot be written."""
        return self.add_run(read_finished_run(path), commit, label, machine_name)

    def add_run(self, run: Run, commit: str | None = None, label: str | None = None,
                machine_name: str | None = None) -> Added:
        """Store a run read by ``read_finished_run`` (``add``)."""
        path = run.path
        env = run.header.get("env") if isinstance(run.header.get("env"), dict) else {}
        machine = machine_of(env, machine_name)
        commit = _text(commit) or _text(env.get("git_commit"))
        label = _text(label)
        started = str(run.header["started_at"])
        try:
            stored: dict[str, tuple] = {}
            for result in run.results:  # a resumed run's repeat keeps the last record
                keyed = StoredResult.of(result)
                stored[keyed.workload] = tuple(column.put(keyed) for column in RESULT_COLUMNS)
        except (TypeError, ValueError, AttributeError):
            raise UsageError(f"{path}: a config record is malformed: not stored") from None
        digest = run_digest(run)
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                found = db.execute("SELECT id, machine_id, git_commit, label FROM runs"
                                   " WHERE digest = ?", (digest,)).fetchone()
                if found:
                    configs = db.execute("SELECT count(*) FROM results WHERE run = ?",
                                         (found[0],)).fetchone()[0]
                    db.execute("ROLLBACK")
                    known = self._machine(found[1]) or machine
                    return Added(path, False, configs, known, found[2], found[3], started)
                other = db.execute("SELECT source FROM runs WHERE run_id = ? AND started_at = ?"
                                   " AND machine_id = ?",
                                   (_text(run.header.get("run_id")), started, machine.id)).fetchone()
                if other and run.header.get("run_id") not in (None, ""):
                    raise UsageError(
                        f"{path}: run {run.header.get('run_id')} started {started} is in the store"
                        f" already with other records (added from {other[0]}): not stored again")
                self._put_machine(machine)
                cursor = db.execute(
                    "INSERT INTO runs (digest, run_id, started_at, added_at, machine_id,"
                    " git_commit, label, torch, diffusers, transformers, cuda, python,"
                    " sdxl_bench, source, env) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (digest, _text(run.header.get("run_id")), started, _now(), machine.id, commit,
                     label, *(_text(env.get(k)) for k in VERSION_FIELDS), str(path),
                     json.dumps(env, sort_keys=True, default=str)))
                run_row = cursor.lastrowid
                db.executemany(_INSERT, [(run_row, *values) for values in stored.values()])
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise store_failure(self.path, exc, "write to") from None
        return Added(path, True, len(stored), machine, commit, label, started)

    def _machine(self, machine_id: str) -> Machine | None:
        row = self._db.execute("SELECT id, name, device_name, driver, cpu, host FROM machines"
                               " WHERE id = ?", (machine_id,)).fetchone()
        return None if row is None else Machine(*row)

    def _put_machine(self, machine: Machine) -> None:
        known = self._machine(machine.id)
        if known is None:
            self._db.execute("INSERT INTO machines VALUES (?,?,?,?,?,?)",
                             (machine.id, machine.name, machine.device_name, machine.driver,
                              machine.cpu, machine.host))
        elif known.device_name != machine.device_name:
            raise UsageError(
                f"machine {machine.id!r} is in the store as {known.device_name}, but this run"
                f" is on {machine.device_name}: give this machine another --machine name")

    # --- reading --------------------------------------------------------------------

    def machines(self) -> list[Machine]:
        with sqlite_failures(self.path):
            rows = self._db.execute("SELECT id, name, device_name, driver, cpu, host FROM"
                                    " machines ORDER BY name").fetchall()
        return [Machine(*row) for row in rows]

    def run_count(self) -> int:
        with sqlite_failures(self.path):
            return self._db.execute("SELECT count(*) FROM runs").fetchone()[0]

    def has_digest(self, digest: str) -> bool:
        with sqlite_failures(self.path):
            return self._db.execute("SELECT 1 FROM runs WHERE digest = ?",
                                    (digest,)).fetchone() is not None

    def rows(self, query: Query | None = None, machine_id: str | None = None) -> list[ResultRow]:
        """Every stored result passing ``query``, oldest run first."""
        sql = _SELECT
        params: tuple = ()
        if machine_id is not None:
            sql += " WHERE machine_id = ?"
            params = (machine_id,)
        sql += " ORDER BY started_at, runs.id, workload"
        runs: dict[int, StoredRun] = {}
        try:
            with sqlite_failures(self.path):
                cursor = self._db.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                found = [_row(r, runs) for r in cursor]
        except (ValueError, TypeError) as exc:
            raise StoreError(f"cannot read the history store {self.path}: {exc}") from None
        return [r for r in found if query is None or query.accepts(r)]


_INSERT = (f"INSERT INTO results (run, {', '.join(c.name for c in RESULT_COLUMNS)})"
           f" VALUES ({', '.join('?' * (len(RESULT_COLUMNS) + 1))})")
_SELECT = (
    "SELECT runs.id AS run_row, digest, run_id, started_at, git_commit, label, source,"
    " machine_id, machines.name AS machine_name, machines.device_name AS machine_device,"
    " machines.driver AS machine_driver, machines.cpu AS machine_cpu,"
    f" machines.host AS machine_host, {', '.join('runs.' + v for v in VERSION_FIELDS)},"
    f" {', '.join('results.' + c.name for c in RESULT_COLUMNS)} FROM results"
    " JOIN runs ON runs.id = results.run"
    " JOIN machines ON machines.id = runs.machine_id"
)


def _row(row: sqlite3.Row, runs: dict[int, StoredRun]) -> ResultRow:
    """A stored result read by column name; rows of one run share its ``StoredRun``."""
    run = runs.get(row["run_row"])
    if run is None:
        machine = Machine(row["machine_id"], row["machine_name"], row["machine_device"],
                          row["machine_driver"], row["machine_cpu"], row["machine_host"])
        run = runs[row["run_row"]] = StoredRun(
            id=row["run_row"], digest=row["digest"], run_id=row["run_id"],
            started_at=row["started_at"], commit=row["git_commit"], label=row["label"],
            machine=machine, versions={v: row[v] for v in VERSION_FIELDS}, source=row["source"])
    return ResultRow(workload=row["workload"], optimizations=row["optimizations"],
                     result=stored_result(row), run=run)


def _sqlite_error(exc: sqlite3.Error) -> str:
    """SQLite's name of the error (SQLITE_BUSY, SQLITE_CORRUPT, …), from the exception
    where Python gives it (3.11+), else from its message."""
    name = getattr(exc, "sqlite_errorname", None)
    if name:
        return name.split("_SNAPSHOT")[0].split("_RECOVERY")[0]
    text = str(exc).lower()
    for words, name in (("locked", "SQLITE_BUSY"), ("busy", "SQLITE_BUSY"),
                        ("malformed", "SQLITE_CORRUPT"), ("not a database", "SQLITE_NOTADB")):
        if words in text:
            return name
    return "SQLITE_ERROR"


def lock_holders(path: Path) -> list[str]:
    """Other processes that have the store (or its journal) open, as 'pid N: command'
    (Linux ``/proc``; empty where it cannot be read). Best effort: SQLite does not say
    who holds a lock, but an open file is a strong hint."""
    try:
        target = os.path.realpath(path)
        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return []
    wanted = {target, target + "-journal"}
    found = []
    for pid in pids:
        try:
            opened = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
            if not opened & wanted:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        short = command if len(command) <= 80 else command[:77] + "..."
        found.append(f"pid {pid}: {short}" if short else f"pid {pid}")
    return found


def store_failure(path: Path, exc: sqlite3.Error, doing: str = "read") -> StoreError:
    """The one-line error for an SQLite failure on the store: locked (exit 1), damaged, or
    the operation that failed."""
    kind = _sqlite_error(exc)
    if kind in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        holders = lock_holders(path)
        who = f"another process ({'; '.join(holders)})" if holders else "another process"
        return StoreLocked(
            f"history store {path} is locked by {who} and stayed locked for"
            f" {BUSY_TIMEOUT_S:g} s; nothing was read or changed: try again when it has finished")
    if kind == "SQLITE_CORRUPT":
        return StoreError(
            f"history store {path} is damaged ({exc}): nothing was changed; restore it from a"
            f" copy, or save what is readable with `sqlite3 {path} .recover`")
    return StoreError(f"cannot {doing} the history store {path}: {exc}")


@contextmanager
def sqlite_failures(path: Path, doing: str = "read") -> Iterator[None]:
    """Turn an SQLite error inside into ``store_failure``'s one line."""
    try:
        yield
    except sqlite3.Error as exc:
        raise store_failure(path, exc, doing) from None


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if read_only:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               isolation_level=None, timeout=BUSY_TIMEOUT_S)
    return sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)


def open_store(path: Path | str | None = None, create: bool = False,
               flag: str = "--store") -> HistoryStore:
    """Open the store at ``path`` (default: ``default_store_path()``); ``create`` makes
    a new one when there is none (``history add``), else a missing store is an error.
    ``flag``: the option that named the store, for the messages."""
    path = Path(path) if path is not None else default_store_path()
    if path.is_dir():
        raise StoreError(f"history store {path} is a directory; {flag} takes a file")
    fresh = not path.exists() or path.stat().st_size == 0
    if fresh and not create:
        raise StoreError(f"no history store at {path}: add runs first with"
                         f" `sdxl-bench history add RUN_FILE --store {path}`")
    try:
        if fresh:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = _connect(path, read_only=not create)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the history store {path}: {exc}") from None
    try:
        if fresh:
            db.execute("BEGIN IMMEDIATE")
            schema = _schema().replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ").replace(
                "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ")
            for statement in schema.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                           [("format", FORMAT), ("schema", str(STORE_SCHEMA))])
            db.execute("COMMIT")
        has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                              " AND name = 'meta'").fetchone()
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall()) if has_meta else {}
    except sqlite3.Error as exc:
        db.close()
        if _sqlite_error(exc) != "SQLITE_NOTADB":
            raise store_failure(path, exc, "open") from None
        raise StoreError(f"{path} is not an SQLite file, so not an sdxl-bench history store"
                         f" (left alone); {flag} takes a store written by"
                         " `sdxl-bench history add`") from None
    if meta.get("format") != FORMAT:
        db.close()
        raise StoreError(f"{path} is an SQLite database but not an sdxl-bench history store"
                         f" (left alone); {flag} takes a store written by"
                         " `sdxl-bench history add`")
    if int(meta.get("schema", "0")) > STORE_SCHEMA:
        db.close()
        raise StoreError(f"history store {path} has schema {meta['schema']}; this sdxl-bench"
                         f" reads schema <= {STORE_SCHEMA} (upgrade sdxl-bench)")
    return HistoryStore(path, db)


# --- export ------------------------------------------------------------------------------

# The run's fields an export starts and ends with; the result's come from RESULT_COLUMNS.
_RUN_EXPORT: dict[str, Callable[[StoredRun], Any]] = {
    "started_at": lambda run: run.started_at, "commit": lambda run: run.commit,
    "label": lambda run: run.label, "machine_id": lambda run: run.machine.id,
    "machine": lambda run: run.machine.name, "device_name": lambda run: run.machine.device_name,
    "driver": lambda run: run.machine.driver, "cpu": lambda run: run.machine.cpu,
    "host": lambda run: run.machine.host,
    **{name: (lambda run, name=name: run.versions.get(name)) for name in VERSION_FIELDS},
}
_RUN_EXPORT_TAIL: dict[str, Callable[[StoredRun], Any]] = {
    "run_id": lambda run: run.run_id, "source": lambda run: run.source}
_EXPORTED = tuple(c for c in RESULT_COLUMNS if c.export)
# ``series``: the workload with the call arguments that set its series apart, as ``history
# show`` titles it; then every call argument outside the key, one column each.
EXPORT_COLUMNS = (*_RUN_EXPORT, "series", *(c.export for c in _EXPORTED),
                  *UNMATCHED_ARGUMENTS, *_RUN_EXPORT_TAIL)


def export_records(rows: Sequence[ResultRow]) -> Iterator[dict]:
    """One flat dict per result, in ``EXPORT_COLUMNS`` order (per-call times left out)."""
    marks = series_marks([(row.workload, row.arguments) for row in rows])
    for row in rows:
        arguments = unmatched_arguments(row.result)
        yield {
            **{name: value(row.run) for name, value in _RUN_EXPORT.items()},
            "series": series_label(row.workload, marks[(row.workload, row.arguments)]),
            **{c.export: (c.exported or c.put)(row) for c in _EXPORTED},
            **{name: _export_value(arguments.get(name)) for name in UNMATCHED_ARGUMENTS},
            **{name: value(row.run) for name, value in _RUN_EXPORT_TAIL.items()},
        }


def _export_value(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def write_csv(rows: Sequence[ResultRow], out: Path) -> None:
    """The export as CSV, written whole or not at all (``atomic``)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(export_records(rows))
    try:
        write_text_atomic(out, buffer.getvalue())
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None


def write_parquet(rows: Sequence[ResultRow], out: Path) -> None:
    """The export as Parquet (pyarrow), written whole or not at all."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise UsageError(f"Parquet export needs pyarrow: {PARQUET_INSTALL}"
                         " (or export CSV: --out FILE.csv)") from None
    records = list(export_records(rows))
    table = pyarrow.table({column: [r[column] for r in records] for column in EXPORT_COLUMNS})
    sink = pyarrow.BufferOutputStream()
    pyarrow.parquet.write_table(table, sink)
    try:
        write_bytes_atomic(out, sink.getvalue().to_pybytes())
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
