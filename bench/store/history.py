"""The results store: every run of every machine in one SQLite file (docs/history.md).

``sdxl-bench history add`` puts run files in; ``history show``, ``history report``,
``history export`` and ``gate --history`` read them back as ``ResultRow``s, one per
(run, workload). Run files are read with the project's own readers
(``result_files.load_results``), so a file refused anywhere else is refused here in the
same words; on top of that a store takes only finished runs: a torn last line, a missing
footer or an interrupted run is refused, never stored in part. Each file is one
transaction: it is stored whole or not at all, and a run already in the store (same
header and records, whichever path it comes from) is left alone.

Standard library only (``sqlite3``); nothing here computes statistics.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sqlite3
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench.errors import UsageError
from bench.store.result_files import load_results
from bench.store.run_file import Run
from bench.store.schema import (
    CALLS,
    budget_memory,
    config_key,
    instability,
    latency_sample,
    latency_stat,
    latency_values,
    memory_bytes,
    memory_per_call,
    unmatched_arguments,
)

STORE_ENV = "SDXL_BENCH_HISTORY"
FORMAT = "sdxl-bench history"
STORE_SCHEMA = 1
VERSION_FIELDS = ("torch", "diffusers", "transformers", "cuda", "python", "sdxl_bench")
PARQUET_INSTALL = "pip install pyarrow"

_SCHEMA = """
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
CREATE TABLE results (
    run INTEGER NOT NULL REFERENCES runs(id),
    workload TEXT NOT NULL,       -- the config key text, as compare and gate match configs
    config_id TEXT, scenario TEXT, model TEXT, dtype TEXT,
    batch_size INTEGER, num_images_per_prompt INTEGER, num_inference_steps INTEGER,
    height INTEGER, width INTEGER, optimizations TEXT, world_size INTEGER,
    images_per_call INTEGER,
    status TEXT NOT NULL,
    median_s REAL, images_per_s REAL,
    latencies TEXT NOT NULL,      -- JSON list of seconds: per call, or per round (sample)
    sample TEXT NOT NULL,         -- what latencies are: 'calls' or 'round medians' (--rounds)
    memory_view TEXT, memory_bytes INTEGER,  -- the view that answers "memory needed"
    memory TEXT NOT NULL,         -- JSON: bytes per view
    memory_calls TEXT NOT NULL,   -- JSON: per view, the peak of every timed call
    unstable TEXT NOT NULL,       -- JSON: why the run's stability check distrusts it
    arguments TEXT NOT NULL,      -- JSON: call arguments outside the key
    PRIMARY KEY (run, workload)
);
CREATE INDEX results_by_workload ON results (workload);
"""


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
class ResultRow:
    """One workload measured in one stored run."""

    run: int  # the run's row id in the store
    digest: str
    run_id: str | None
    started_at: str
    commit: str | None
    label: str | None
    machine: Machine
    versions: dict
    source: str | None
    workload: str
    config_id: str | None
    scenario: str | None
    model: str | None
    dtype: str | None
    batch_size: int | None
    num_images_per_prompt: int | None
    num_inference_steps: int | None
    height: int | None
    width: int | None
    optimizations: str
    world_size: int
    images_per_call: int | None
    status: str
    median_s: float | None
    images_per_s: float | None
    latencies: tuple[float, ...]  # per call, or per round (``sample``)
    memory_view: str | None
    memory_bytes: int | None
    memory: dict = field(default_factory=dict)
    arguments: dict = field(default_factory=dict)
    sample: str = CALLS
    memory_calls: dict = field(default_factory=dict)  # view -> peak of every timed call
    unstable: tuple[str, ...] = ()  # the run's stability check: why it is not trustworthy

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.median_s is not None and self.median_s > 0

    @property
    def size(self) -> str:
        return f"{self.height}x{self.width}"

    @property
    def layout(self) -> str:
        return f"{self.batch_size}x{self.num_images_per_prompt}"

    @property
    def revision(self) -> str:
        """The commit (short) and label, as tables show them."""
        commit = short_commit(self.commit)
        if self.label:
            return f"{commit} ({self.label})" if commit else self.label
        return commit or "—"


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
                f"{row.machine.id} {row.machine.name}".lower()):
            return False
        if self.since and row.started_at < self.since:
            return False
        return not (self.until and row.started_at[: len(self.until)] > self.until)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_digest(run: Run) -> str:
    """What makes two files the same run: a hash of the header and config records."""
    body = json.dumps({"header": run.header, "configs": run.configs}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _int(value: object) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _result_values(record: dict) -> dict:
    key = config_key(record)
    budget = budget_memory(record)
    values = latency_values(record)
    median = latency_stat(record, "median")
    images_per_call = _int(record.get("images_per_call")) or (
        (key.batch_size or 0) * (key.num_images_per_prompt or 0) or None)
    return {
        "workload": str(key),
        "config_id": _text(record.get("config_id")),
        "scenario": key.scenario, "model": key.model, "dtype": key.dtype,
        "batch_size": key.batch_size, "num_images_per_prompt": key.num_images_per_prompt,
        "num_inference_steps": key.num_inference_steps, "height": key.height,
        "width": key.width, "optimizations": " ".join(key.optimizations) or "default",
        "world_size": key.world_size, "images_per_call": images_per_call,
        "status": str(record.get("status")),
        "median_s": median,
        "images_per_s": None if record.get("images_per_s") is None else float(record["images_per_s"]),
        "latencies": json.dumps(values),
        "sample": latency_sample(record),
        "memory_view": budget[0] if budget else None,
        "memory_bytes": budget[1] if budget else None,
        "memory": json.dumps(memory_bytes(record)),
        "memory_calls": json.dumps(memory_per_call(record)),
        "unstable": json.dumps(instability(record)),
        "arguments": json.dumps(unmatched_arguments(record), default=str),
    }


def read_finished_run(path: Path | str) -> Run:
    """A run file whole and finished, or a ``UsageError`` saying why it cannot be stored."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reasons are checked below, one line each
        result = load_results(path)
    run = result.run
    if result.kind != "run" or run is None:
        raise UsageError(f"{path} is a {result.kind} file: the history stores sdxl-bench run files")
    if run.torn:
        raise UsageError(f"{path} ends in a torn line (a write was interrupted): not stored;"
                         f" finish the run with `sdxl-bench run --resume {path}`")
    if run.footer is None:
        raise UsageError(f"{path} has no footer (the run did not finish): not stored;"
                         f" finish it with `sdxl-bench run --resume {path}`")
    if run.footer.get("status") != "complete":
        raise UsageError(f"{path}: the run ended {run.footer.get('status')!r}, not complete:"
                         f" not stored; finish it with `sdxl-bench run --resume {path}`")
    if not run.configs:
        raise UsageError(f"{path} has no config records (nothing measured): not stored")
    if not _text(run.header.get("started_at")):
        raise UsageError(f"{path}: the header has no started_at: not stored")
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
        the file cannot be stored."""
        path = Path(path)
        run = read_finished_run(path)
        env = run.header.get("env") if isinstance(run.header.get("env"), dict) else {}
        machine = machine_of(env, machine_name)
        commit = _text(commit) or _text(env.get("git_commit"))
        label = _text(label)
        started = str(run.header["started_at"])
        try:
            rows: dict[str, dict] = {}
            for record in run.configs:  # a resumed run's repeat keeps the last record
                values = _result_values(record)
                rows[values["workload"]] = values
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
                columns = ["run", *next(iter(rows.values()))]
                db.executemany(
                    f"INSERT INTO results ({', '.join(columns)}) VALUES"
                    f" ({', '.join('?' * len(columns))})",
                    [(run_row, *values.values()) for values in rows.values()])
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise UsageError(f"cannot write to the history store {self.path}: {exc}") from None
        return Added(path, True, len(rows), machine, commit, label, started)

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
        rows = self._db.execute("SELECT id, name, device_name, driver, cpu, host FROM machines"
                                " ORDER BY name").fetchall()
        return [Machine(*row) for row in rows]

    def run_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM runs").fetchone()[0]

    def has_digest(self, digest: str) -> bool:
        return self._db.execute("SELECT 1 FROM runs WHERE digest = ?", (digest,)).fetchone() is not None

    def rows(self, query: Query | None = None, machine_id: str | None = None) -> list[ResultRow]:
        """Every stored result passing ``query``, oldest run first."""
        sql = (
            "SELECT runs.id, digest, run_id, started_at, git_commit, label, machine_id,"
            " machines.name, machines.device_name, machines.driver, machines.cpu, machines.host,"
            f" {', '.join('runs.' + v for v in VERSION_FIELDS)}, source,"
            " workload, config_id, scenario, model, dtype, batch_size, num_images_per_prompt,"
            " num_inference_steps, height, width, optimizations, world_size, images_per_call,"
            " status, median_s, images_per_s, latencies, memory_view, memory_bytes, memory,"
            " arguments, sample, memory_calls, unstable FROM results"
            " JOIN runs ON runs.id = results.run"
            " JOIN machines ON machines.id = runs.machine_id"
        )
        params: tuple = ()
        if machine_id is not None:
            sql += " WHERE machine_id = ?"
            params = (machine_id,)
        sql += " ORDER BY started_at, runs.id, workload"
        try:
            found = [self._row(r) for r in self._db.execute(sql, params)]
        except (sqlite3.Error, ValueError) as exc:
            raise UsageError(f"cannot read the history store {self.path}: {exc}") from None
        return [r for r in found if query is None or query.accepts(r)]

    @staticmethod
    def _row(r: tuple) -> ResultRow:
        versions = dict(zip(VERSION_FIELDS, r[12:18], strict=True))
        (source, workload, config_id, scenario, model, dtype, batch, per_prompt, steps, height,
         width, optimizations, world, per_call, status, median, ips, latencies, view,
         memory_bytes_, memory, arguments, sample, memory_calls, unstable) = r[18:]
        return ResultRow(
            run=r[0], digest=r[1], run_id=r[2], started_at=r[3], commit=r[4], label=r[5],
            machine=Machine(*r[6:12]), versions=versions, source=source, workload=workload,
            config_id=config_id, scenario=scenario, model=model, dtype=dtype,
            batch_size=batch, num_images_per_prompt=per_prompt, num_inference_steps=steps,
            height=height, width=width, optimizations=optimizations, world_size=world,
            images_per_call=per_call, status=status, median_s=median, images_per_s=ips,
            latencies=tuple(json.loads(latencies)), memory_view=view,
            memory_bytes=memory_bytes_, memory=json.loads(memory), arguments=json.loads(arguments),
            sample=sample, memory_calls={k: tuple(v) for k, v in json.loads(memory_calls).items()},
            unstable=tuple(json.loads(unstable)),
        )


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if read_only:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               isolation_level=None, timeout=30)
    return sqlite3.connect(path, isolation_level=None, timeout=30)


def open_store(path: Path | str | None = None, create: bool = False) -> HistoryStore:
    """Open the store at ``path`` (default: ``default_store_path()``); ``create`` makes
    a new one when there is none (``history add``), else a missing store is an error."""
    path = Path(path) if path is not None else default_store_path()
    if path.is_dir():
        raise UsageError(f"history store {path} is a directory; --store takes a file")
    fresh = not path.exists() or path.stat().st_size == 0
    if fresh and not create:
        raise UsageError(f"no history store at {path}: add runs first with"
                         f" `sdxl-bench history add RUN_FILE --store {path}`")
    try:
        if fresh:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = _connect(path, read_only=not create)
    except (OSError, sqlite3.Error) as exc:
        raise UsageError(f"cannot open the history store {path}: {exc}") from None
    try:
        if fresh:
            db.execute("BEGIN IMMEDIATE")
            schema = _SCHEMA.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ").replace(
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
    except sqlite3.Error:
        db.close()
        raise UsageError(f"{path} is not an SQLite file, so not an sdxl-bench history store;"
                         " choose another --store") from None
    if meta.get("format") != FORMAT:
        db.close()
        raise UsageError(f"{path} is an SQLite database but not an sdxl-bench history store;"
                         " choose another --store")
    if int(meta.get("schema", "0")) > STORE_SCHEMA:
        db.close()
        raise UsageError(f"history store {path} has schema {meta['schema']}; this sdxl-bench"
                         f" reads schema <= {STORE_SCHEMA} (upgrade sdxl-bench)")
    return HistoryStore(path, db)


# --- export ------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "started_at", "commit", "label", "machine_id", "machine", "device_name", "driver", "cpu",
    "host", *VERSION_FIELDS, "workload", "scenario", "model", "dtype", "batch_size",
    "num_images_per_prompt", "num_inference_steps", "height", "width", "optimizations",
    "world_size", "images_per_call", "status", "unstable", "sample", "calls", "median_s",
    "images_per_s",
    "memory_view", "memory_bytes", "run_id", "source",
)


def export_records(rows: Sequence[ResultRow]) -> Iterator[dict]:
    """One flat dict per result, in ``EXPORT_COLUMNS`` order (per-call times left out)."""
    for row in rows:
        yield {
            "started_at": row.started_at, "commit": row.commit, "label": row.label,
            "machine_id": row.machine.id, "machine": row.machine.name,
            "device_name": row.machine.device_name, "driver": row.machine.driver,
            "cpu": row.machine.cpu, "host": row.machine.host,
            **{k: row.versions.get(k) for k in VERSION_FIELDS},
            "workload": row.workload, "scenario": row.scenario, "model": row.model,
            "dtype": row.dtype, "batch_size": row.batch_size,
            "num_images_per_prompt": row.num_images_per_prompt,
            "num_inference_steps": row.num_inference_steps, "height": row.height,
            "width": row.width, "optimizations": row.optimizations,
            "world_size": row.world_size, "images_per_call": row.images_per_call,
            "status": row.status, "unstable": "; ".join(row.unstable) or None,
            "sample": row.sample, "calls": len(row.latencies), "median_s": row.median_s,
            "images_per_s": row.images_per_s, "memory_view": row.memory_view,
            "memory_bytes": row.memory_bytes, "run_id": row.run_id, "source": row.source,
        }


def write_csv(rows: Sequence[ResultRow], out: Path) -> None:
    try:
        with open(out, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
            writer.writeheader()
            writer.writerows(export_records(rows))
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None


def write_parquet(rows: Sequence[ResultRow], out: Path) -> None:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise UsageError(f"Parquet export needs pyarrow: {PARQUET_INSTALL}"
                         " (or export CSV: --out FILE.csv)") from None
    records = list(export_records(rows))
    table = pyarrow.table({column: [r[column] for r in records] for column in EXPORT_COLUMNS})
    try:
        pyarrow.parquet.write_table(table, out)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc}") from None
