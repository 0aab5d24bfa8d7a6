"""The history commands answer what happened, in one line, and destroy nothing: a locked
store, a damaged store, a file that is not a timed run, a run that cannot be resumed, a
full disk (issue 22, "misleading answers")."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import sys
import time

import pytest

from bench.store import atomic, history
from tests.support.cli import run_in_process
from tests.support.fakeruns import header
from tests.support.history_runs import write_history_run, write_series


def fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def runs(tmp_path):
    return write_series(tmp_path / "runs", [1.0] * 4, run_cv=0.01, seed=4)


@pytest.fixture
def store(tmp_path, runs):
    path = tmp_path / "history.sqlite"
    assert run_in_process("history", "add", *map(str, runs[:3]), "--store", str(path)).code == 0
    return path


@pytest.fixture
def quick_lock_timeout(monkeypatch):
    monkeypatch.setattr(history, "BUSY_TIMEOUT_S", 0.2)


def test_a_locked_store_says_it_is_locked_exits_1_and_changes_nothing(store, runs,
                                                                      quick_lock_timeout):
    before = fingerprint(store)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, or a sqlite3 shell
    try:
        for argv in (("history", "add", str(runs[3])), ("history", "show"),
                     ("history", "export", "--out", str(store.parent / "h.csv"))):
            result = run_in_process(*argv, "--store", str(store))
            assert result.code == 1, (argv, result.err)
            lines = result.err.strip().splitlines()
            assert len(lines) == 1 and "is locked by another process" in lines[0], argv
            assert "not an SQLite file" not in result.err and "choose another" not in result.err
        gate = run_in_process("gate", "--history", str(store), str(runs[3]))
        assert gate.code == 1 and "is locked by another process" in gate.err
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert fingerprint(store) == before
    assert not (store.parent / "h.csv").exists()


def test_the_process_holding_the_lock_is_named(store, runs, quick_lock_timeout):
    import subprocess

    code = ("import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1], isolation_level=None);"
            " db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(store)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = run_in_process("history", "add", str(runs[3]), "--store", str(store))
    finally:
        holder.kill()
        holder.wait()
    assert result.code == 1
    assert f"pid {holder.pid}" in result.err and "import sqlite3" in result.err


def damage(path):
    """Overwrite the start of every page after the first two, as a bad disk would."""
    data = bytearray(path.read_bytes())
    for offset in range(2 * 4096, len(data), 4096):
        data[offset:offset + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))


def test_adding_to_a_damaged_store_is_one_line_exit_2_and_the_store_untouched(store, runs):
    damage(store)
    before = fingerprint(store)
    result = run_in_process("history", "add", str(runs[3]), str(runs[2]), "--store", str(store))
    assert result.code == 2
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "is damaged" in lines[0] and str(store) in lines[0], result.err
    assert fingerprint(store) == before


def test_a_missing_run_file_creates_no_store(tmp_path):
    path = tmp_path / "new.sqlite"
    result = run_in_process("history", "add", str(tmp_path / "nosuch.jsonl"), "--store", str(path))
    assert result.code == 2 and "does not exist" in result.err
    assert not path.exists()
    assert "no store created" in result.out


def determinism_file(path):
    head = {**header(), "mode": "determinism", "run_id": "det", "started_at": "2026-03-02T00:00:00Z"}
    lines = [head, {"type": "determinism", "config_id": "t2i/bs1-n1", "check": "repeat",
                    "passed": True},
             {"type": "footer", "status": "complete", "configs": 0}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_determinism_file_among_run_files_is_skipped_with_a_note(tmp_path, runs):
    det = determinism_file(tmp_path / "runs" / "determinism.jsonl")
    path = tmp_path / "s.sqlite"
    result = run_in_process("history", "add", *map(str, [*runs, det]), "--store", str(path))
    assert result.code == 0, result.err
    assert result.err.strip().splitlines() == [
        f"sdxl-bench: note: skipped {det}: a determinism run (image checks, no timings);"
        " the history keeps timed runs"]
    assert "4 run(s) stored; 4 of 5 file(s) added or already present, 1 skipped" in result.out


def test_an_interrupted_rounds_run_is_not_sent_to_run_resume(tmp_path):
    path = write_history_run(tmp_path / "rounds.jsonl", 1, sample="round medians")
    lines = path.read_text().splitlines()
    head, footer = json.loads(lines[0]), json.loads(lines[-1])
    head["options"] = {"rounds": 3}
    footer["status"] = "interrupted"
    path.write_text("\n".join([json.dumps(head), *lines[1:-1], json.dumps(footer)]) + "\n")
    result = run_in_process("history", "add", str(path), "--store", str(tmp_path / "s.sqlite"))
    assert result.code == 2
    assert "--resume" not in result.err
    assert "a --rounds run cannot be resumed: run it again" in result.err


def test_gate_history_on_a_file_that_is_not_a_store_names_its_own_flag(tmp_path, runs):
    notsql = tmp_path / "notsql.sqlite"
    notsql.write_text("not a database\n" * 50)
    result = run_in_process("gate", "--history", str(notsql), str(runs[0]))
    assert result.code == 2
    assert "--store" not in result.err and "--history" in result.err
    assert "not an SQLite file" in result.err


def full_disk(monkeypatch):
    def write(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "write", write)


def test_export_on_a_full_disk_keeps_the_previous_csv(store, tmp_path, monkeypatch):
    out = tmp_path / "old.csv"
    assert run_in_process("history", "export", "--store", str(store), "--out", str(out)).code == 0
    previous = out.read_text()
    full_disk(monkeypatch)
    result = run_in_process("history", "export", "--store", str(store), "--out", str(out))
    assert result.code == 2 and "No space left on device" in result.err
    assert out.read_text() == previous
    fresh = tmp_path / "new.csv"
    assert run_in_process("history", "export", "--store", str(store), "--out", str(fresh)).code == 2
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_report_on_a_full_disk_keeps_the_previous_dashboard(store, tmp_path, monkeypatch):
    out = tmp_path / "dash"
    assert run_in_process("history", "report", "--store", str(store), "--out", str(out)).code == 0
    previous = (out / "index.html").read_text()
    time.sleep(0.01)
    full_disk(monkeypatch)
    result = run_in_process("history", "report", "--store", str(store), "--out", str(out))
    assert result.code == 2 and "No space left on device" in result.err
    assert (out / "index.html").read_text() == previous
    assert sorted(os.listdir(out)) == ["index.html"]
    fresh = tmp_path / "fresh"
    assert run_in_process("history", "report", "--store", str(store), "--out", str(fresh)).code == 2
    assert not (fresh / "index.html").exists()
