"""A write that fails (disk full) ends the sweep with one line, and the file stays a
readable run file ending at its last whole record. ENOSPC is provoked with /dev/full and
with a failing fsync, the two places the kernel reports it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from bench.errors import StorageError
from bench.execute.sweep import run_sweep
from bench.measure.config import failed_result
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan
from bench.result import Status
from bench.store.run_file import RunFileLock, RunWriter, read_run


def plan():
    return make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                     SweepOptions(batch_sizes="1,2,4"))


def ok(plan, config):
    return failed_result(config, Status.OK, None).replace(images_per_s=1.0)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_device_raises_storage_error_naming_the_file():
    writer = RunWriter(Path("/dev/full"), mode="w")
    with pytest.raises(StorageError, match="cannot write run file /dev/full"):
        writer.write({"type": "header"})
    assert writer.failed


def test_disk_full_mid_sweep_keeps_every_finished_record_readable(tmp_path, monkeypatch):
    path = tmp_path / "run.jsonl"
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:  # header, first config, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with RunWriter(path) as writer:
        writer.write({"type": "header", "schema": 1, "tool": "sdxl-bench", "plan": {}})
        with pytest.raises(StorageError) as caught:
            run_sweep(plan(), ok, writer, footer={})
    assert "1 finished config record(s) are safe in it" in str(caught.value)
    assert f"--resume {path}" in str(caught.value)
    with pytest.warns(UserWarning, match="no footer"):  # the run never reached its footer
        run = read_run(path)
    assert [r["batch_size"] for r in run.configs] == [1]
    assert path.read_text().endswith("\n")  # no torn line left behind


def test_storage_errors_exit_1_not_2():
    assert StorageError.exit_code == 1


def test_the_lock_is_released_and_its_file_removed_on_exit(tmp_path):
    out = tmp_path / "run.jsonl"
    with RunFileLock(out) as lock:
        assert lock.lock_path.read_text() == str(os.getpid())
    assert not lock.lock_path.exists()
    with RunFileLock(out):  # free again
        pass


def test_a_pytest_benchmark_file_is_refused_by_name(tmp_path):
    from bench.errors import UsageError

    path = tmp_path / "0001_bench.json"
    path.write_text('{\n  "machine_info": {},\n  "benchmarks": []\n}\n')
    with pytest.raises(UsageError, match="is a pytest-benchmark file, not an sdxl-bench run file"):
        read_run(path)
