"""The results store: what goes in, what is refused (changing nothing), what comes out."""

import csv
import hashlib
import json
import sqlite3
import sys

import pytest

from bench.errors import UsageError
from bench.store.history import (
    PARQUET_INSTALL,
    Query,
    default_store_path,
    machine_of,
    open_store,
    write_csv,
    write_parquet,
)
from tests.support.history_runs import commit, write_history_run, write_series


def fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path):
    runs = write_series(tmp_path / "runs", [1.0, 1.0, 1.0])
    with open_store(tmp_path / "history.sqlite", create=True) as opened:
        for path in runs:
            opened.add(path)
    return tmp_path / "history.sqlite"


def test_a_run_is_stored_with_its_commit_machine_versions_and_every_config(store):
    with open_store(store) as opened:
        rows = opened.rows()
        assert opened.run_count() == 3
    assert len(rows) == 6
    first = rows[0]
    run, result = first.run, first.result
    assert run.commit == commit(0)
    assert run.started_at == "2026-03-01T00:00:00+00:00"
    assert run.machine.host == "runner-1" and run.machine.cpu == "Test CPU"
    assert run.versions["torch"] == "2.5.0"
    assert first.workload == "t2i bs1 n1 4steps 64x64 float32 tiny"
    assert (result.batch_size, result.num_images_per_prompt, result.height, result.dtype) == (
        1, 1, 64, "float32")
    assert len(result.latency_values) == 6 and result.median_s > 0 and result.images_per_s > 0
    assert result.budget_memory() == ("process_rss", 2**30)


def test_adding_the_same_run_twice_changes_nothing(store, tmp_path):
    before = fingerprint(store)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes((tmp_path / "runs" / "run000.jsonl").read_bytes())
    with open_store(store, create=True) as opened:
        again = opened.add(tmp_path / "runs" / "run000.jsonl")
        elsewhere = opened.add(copy, commit="other", label="x")  # the same run, another path
        assert opened.run_count() == 3
    assert not again.added and not elsewhere.added
    assert "already in the store" in again.text()
    assert fingerprint(store) == before


def damaged(tmp_path, kind):
    good = (tmp_path / "runs" / "run001.jsonl").read_text()
    path = tmp_path / f"{kind}.jsonl"
    if kind == "torn":
        path.write_text(good[: len(good) - 30])  # killed mid-write: no footer, torn last line
    elif kind == "empty":
        path.write_text("")
    elif kind == "foreign":
        path.write_text("name,value\na,1\n")
    elif kind == "pytest-benchmark":
        path.write_text(json.dumps({"machine_info": {}, "benchmarks": []}, indent=2))
    elif kind == "unfinished":
        path.write_text("".join(good.splitlines(keepends=True)[:-1]))  # whole lines, no footer
    elif kind == "interrupted":
        lines = good.splitlines(keepends=True)
        footer = json.loads(lines[-1])
        footer["status"] = "interrupted"
        path.write_text("".join(lines[:-1]) + json.dumps(footer) + "\n")
    elif kind == "no-configs":
        path.write_text(good.splitlines(keepends=True)[0] + json.dumps(
            {"type": "footer", "status": "complete", "configs": 0}) + "\n")
    elif kind == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    return path


REASONS = {
    "torn": "torn line",
    "empty": "is empty",
    "foreign": "not an sdxl-bench run file",
    "pytest-benchmark": "pytest-benchmark file",
    "unfinished": "no footer",
    "interrupted": "'interrupted', not complete",
    "no-configs": "no config records",
    "binary": "cannot read",
}


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_a_damaged_file_is_refused_with_its_reason_and_the_store_is_unchanged(store, tmp_path, kind):
    path = damaged(tmp_path, kind)
    before = fingerprint(store)
    with open_store(store, create=True) as opened:
        with pytest.raises(UsageError) as refused:
            opened.add(path)
        assert opened.run_count() == 3
    message = str(refused.value)
    assert REASONS[kind] in message and str(path) in message
    assert "\n" not in message
    assert fingerprint(store) == before


def test_a_failure_inside_the_transaction_leaves_no_part_of_the_run(store, tmp_path):
    class FailingResults:
        """The store's connection, but inserting the results fails (after the run row)."""

        def __init__(self, db):
            self.db = db

        def executemany(self, *args):
            raise sqlite3.OperationalError("disk I/O error")

        def __getattr__(self, name):
            return getattr(self.db, name)

    path = write_history_run(tmp_path / "new.jsonl", 50)
    before = fingerprint(store)
    with open_store(store, create=True) as opened:
        real = opened._db
        opened._db = FailingResults(real)
        with pytest.raises(UsageError, match="cannot write to the history store.*disk I/O"):
            opened.add(path)
        opened._db = real
        assert opened.run_count() == 3 and len(opened.rows()) == 6
    assert fingerprint(store) == before


def test_a_file_that_is_not_a_store_is_refused_and_left_alone(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    with pytest.raises(UsageError, match="not an sdxl-bench history store"):
        open_store(notes, create=True)
    assert notes.read_text() == "not a database\n" * 100
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(UsageError, match="SQLite database but not an sdxl-bench history store"):
        open_store(other, create=True)
    with pytest.raises(UsageError, match="no history store at"):
        open_store(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()


def test_a_newer_store_schema_is_refused(store):
    with sqlite3.connect(store) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(UsageError, match="schema 99"):
        open_store(store)


def test_commit_label_and_machine_name_override_the_header(tmp_path):
    run = write_history_run(tmp_path / "r.jsonl", 3)
    with open_store(tmp_path / "s.sqlite", create=True) as opened:
        added = opened.add(run, commit="v1.2.3", label="nightly", machine_name="ci-gpu")
        row = opened.rows()[0]
    assert added.added and "v1.2.3" in added.text() and "nightly" in added.text()
    assert (row.run.commit, row.run.label, row.run.machine.id, row.run.machine.name) == (
        "v1.2.3", "nightly", "ci-gpu", "ci-gpu")
    assert row.run.machine.host == "runner-1"  # the fingerprint fields are still recorded


def test_one_machine_name_cannot_cover_two_devices(tmp_path):
    with open_store(tmp_path / "s.sqlite", create=True) as opened:
        opened.add(write_history_run(tmp_path / "a.jsonl", 1), machine_name="ci")
        with pytest.raises(UsageError, match="give this machine another --machine name"):
            opened.add(write_history_run(tmp_path / "b.jsonl", 2, device="NVIDIA H100"),
                       machine_name="ci")


def test_the_fingerprint_is_device_driver_cpu_and_host():
    env = {"device_name": "NVIDIA H100 80GB HBM3", "driver": "550.54", "cpu": "EPYC",
           "host": "gpu-7", "torch": "2.5"}
    machine = machine_of(env)
    assert len(machine.id) == 12
    assert machine.name == "NVIDIA H100 80GB HBM3, driver 550.54, EPYC @ gpu-7"
    assert machine_of({**env, "torch": "2.6"}).id == machine.id  # versions are not the machine
    for name in ("device_name", "driver", "cpu", "host"):
        assert machine_of({**env, name: "other"}).id != machine.id
    assert machine_of({"device_name": "CPU: EPYC", "cpu": "EPYC"}).name == "CPU: EPYC"


def test_default_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SDXL_BENCH_HISTORY", str(tmp_path / "h.sqlite"))
    assert default_store_path() == tmp_path / "h.sqlite"
    monkeypatch.delenv("SDXL_BENCH_HISTORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_store_path() == tmp_path / "data" / "sdxl-bench" / "history.sqlite"


def test_filters_by_config_machine_and_date(store, tmp_path):
    with open_store(store, create=True) as opened:
        opened.add(write_history_run(tmp_path / "gpu.jsonl", 30, device="NVIDIA L4", host="gpu"))
        rows = opened.rows
        assert len(rows(Query(workload="bs2"))) == 4
        opened.add(write_history_run(tmp_path / "bs16.jsonl", 31, layouts=((16, 1),)))
        assert len(rows(Query(workload="bs1"))) == 4  # numbers are whole: bs1 is not bs16
        assert len(rows(Query(workload="bs16 tiny"))) == 1
        assert len(rows(Query(workload="BS2 N1 tiny"))) == 4
        assert len(rows(Query(machine="L4"))) == 2
        assert len(rows(Query(since="2026-03-01T02:00"))) == 5  # the third run, GPU's, bs16's
        assert len(rows(Query(until="2026-03-01T00"))) == 2
        assert len(rows(Query(since="2026-03-02"))) == 3
    with pytest.raises(UsageError, match="--since takes a date"):
        Query(since="yesterday")


def test_export_to_csv_has_one_row_per_run_and_workload(store, tmp_path):
    with open_store(store) as opened:
        rows = opened.rows()
    out = tmp_path / "history.csv"
    write_csv(rows, out)
    with open(out, newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 6
    assert table[0]["commit"] == commit(0) and table[0]["host"] == "runner-1"
    assert float(table[0]["median_s"]) == pytest.approx(rows[0].result.median_s)


def test_parquet_without_pyarrow_says_what_to_install(store, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    with open_store(store) as opened:
        rows = opened.rows()
    with pytest.raises(UsageError, match=PARQUET_INSTALL):
        write_parquet(rows, tmp_path / "h.parquet")
    assert not (tmp_path / "h.parquet").exists()


def test_parquet_round_trip_when_pyarrow_is_installed(store, tmp_path):
    parquet = pytest.importorskip("pyarrow.parquet")
    with open_store(store) as opened:
        rows = opened.rows()
    write_parquet(rows, tmp_path / "h.parquet")
    table = parquet.read_table(tmp_path / "h.parquet")
    assert table.num_rows == 6 and "median_s" in table.column_names


# The results table as schema-1 stores written before the column table have it (its
# columns in their first order): such a store must still open and read by name.
SCHEMA_1_RESULTS = """
CREATE TABLE results (
    run INTEGER NOT NULL REFERENCES runs(id), workload TEXT NOT NULL,
    config_id TEXT, scenario TEXT, model TEXT, dtype TEXT,
    batch_size INTEGER, num_images_per_prompt INTEGER, num_inference_steps INTEGER,
    height INTEGER, width INTEGER, optimizations TEXT, world_size INTEGER,
    images_per_call INTEGER, status TEXT NOT NULL, median_s REAL, images_per_s REAL,
    latencies TEXT NOT NULL, sample TEXT NOT NULL, memory_view TEXT, memory_bytes INTEGER,
    memory TEXT NOT NULL, memory_calls TEXT NOT NULL, unstable TEXT NOT NULL,
    arguments TEXT NOT NULL, PRIMARY KEY (run, workload))
"""


def test_a_store_written_with_the_first_column_order_still_reads(tmp_path):
    path = tmp_path / "old.sqlite"
    with open_store(path, create=True):
        pass
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE results")
        db.execute(SCHEMA_1_RESULTS)
        db.execute("INSERT INTO machines VALUES ('m1', 'old box', 'cpu', NULL, 'CPU', 'h')")
        db.execute("INSERT INTO runs (id, digest, run_id, started_at, added_at, machine_id,"
                   " git_commit, torch, env) VALUES (7, 'd', 'r', '2025-01-01T00:00:00',"
                   " '2025-01-02', 'm1', 'abc', '2.4', '{}')")
        db.execute(
            "INSERT INTO results VALUES (7, 't2i bs1 n1 4steps 64x64 float32 tiny', 't2i/bs1-n1',"
            " 't2i', 'tiny', 'float32', 1, 1, 4, 64, 64, 'default', 1, 1, 'ok', 0.5, 2.0,"
            " '[0.4, 0.5, 0.6]', 'calls', 'process_rss', 1024, '{\"process_rss\": 1024}',"
            " '{\"process_rss\": [1000, 1024]}', '[\"busy\"]', '{\"seed\": 3}')")
    with open_store(path) as opened:
        [row] = opened.rows()
    result = row.result
    assert (row.run.id, row.run.commit, row.run.machine.name, row.run.versions["torch"]) == (
        7, "abc", "old box", "2.4")
    assert (row.workload, row.optimizations) == ("t2i bs1 n1 4steps 64x64 float32 tiny", "default")
    assert result.ok and result.latency_values == (0.4, 0.5, 0.6) and result.median_s == 0.5
    assert result.budget_memory() == ("process_rss", 1024)
    assert result.memory_per_call() == {"process_rss": (1000, 1024)}
    assert result.unstable == ("busy",) and result.seed == 3


def test_a_stored_result_reads_back_as_the_run_file_gave_it(store, tmp_path):
    from bench.store.result_files import load_results

    [entry, *_] = load_results(tmp_path / "runs" / "run000.jsonl").entries
    with open_store(store) as opened:
        row = opened.rows()[0]
    stored, original = row.result, entry.result
    assert row.workload == entry.key
    for name in ("config_id", "status", "batch_size", "images_per_call", "images_per_s",
                 "latency_values", "sample", "median_s", "unstable", "task", "seed"):
        assert getattr(stored, name) == getattr(original, name), name
    assert stored.memory_bytes() == original.memory_bytes()
