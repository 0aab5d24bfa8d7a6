"""Signals against a real ``python -m bench run``: what the run file holds afterwards,
and resuming it. Each run is signalled once its file holds a finished config record."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import warnings
from pathlib import Path

import pytest

from bench.store.run_file import read_run
from tests.support.cli import REPO, command, run_forked, written_records
from tests.support.processes import wait_for_cpu_time

SWEEP = ["--scenario", "t2i-prompts", "--batch-sizes", "1,6,8", "--steps", "2", "--warmup", "0",
         "--repeats", "1", "--threads", "1", "--quiet"]


def start_run(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(command("run", *SWEEP, "--out", str(out), *extra),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def signal_after_first_record(process: subprocess.Popen, out: Path, signum: int) -> tuple[int, str]:
    deadline = time.monotonic() + 240
    while not written_records(out, "config"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no config record within 240 s"
        time.sleep(0.02)
    wait_for_cpu_time(process, 0.3)  # the next config has begun (between configs, none would
    # be interrupted); CPU time, not a sleep, which ends too early on a loaded machine
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def read_quietly(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_run(path)


@pytest.fixture(scope="module")
def terminated_run(tmp_path_factory) -> tuple[Path, int, str]:
    out = tmp_path_factory.mktemp("sigterm") / "run.jsonl"
    code, stderr = signal_after_first_record(start_run(out), out, signal.SIGTERM)
    return out, code, stderr


def test_sigterm_records_config_in_flight_as_interrupted_and_exits_143(terminated_run):
    out, code, stderr = terminated_run
    assert code == 143, stderr
    run = read_quietly(out)
    assert run.configs[0]["status"] == "ok"
    assert run.configs[-1]["status"] == "interrupted"
    assert run.footer is not None and run.footer["status"] == "interrupted"
    assert "Traceback" not in stderr


def test_sigint_records_config_in_flight_as_interrupted_and_exits_130(tmp_path):
    out = tmp_path / "run.jsonl"
    code, stderr = signal_after_first_record(start_run(out), out, signal.SIGINT)
    assert code == 130, stderr
    run = read_quietly(out)
    assert [r["status"] for r in run.configs][-1] == "interrupted"
    assert run.footer["status"] == "interrupted"
    assert run.footer["configs"] == len(run.configs)
    assert "Traceback" not in stderr


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory) -> tuple[Path, int]:
    out = tmp_path_factory.mktemp("sigkill") / "run.jsonl"
    code, _ = signal_after_first_record(start_run(out), out, signal.SIGKILL)
    return out, code


def test_sigkilled_run_file_reads_back_with_a_warning(killed_run):
    out, code = killed_run
    assert code == -signal.SIGKILL
    with pytest.warns(UserWarning, match="no footer"):
        run = read_run(out)
    assert run.configs and run.configs[0]["status"] == "ok"
    assert run.footer is None


def test_torn_last_line_of_a_killed_run_is_skipped_with_a_warning(killed_run, tmp_path):
    out = tmp_path / "run.jsonl"
    shutil.copy(killed_run[0], out)
    whole = out.read_text()
    last_record = whole.splitlines()[-1]
    out.write_text(whole + last_record[: len(last_record) // 2])  # a write cut off mid-line
    with pytest.warns(UserWarning, match="torn"):
        run = read_run(out)
    assert len(run.configs) == len(written_records(killed_run[0], "config"))


def test_resumed_sweep_measures_the_same_configs_as_an_uninterrupted_one(terminated_run, tmp_path):
    partial, _, _ = terminated_run
    resumed = tmp_path / "resumed.jsonl"
    shutil.copy(partial, resumed)
    first_before = read_quietly(resumed).configs[0]
    result = run_forked("run", *SWEEP, "--resume", str(resumed))
    assert result.code == 0, result.err
    reference = tmp_path / "reference.jsonl"
    result = run_forked("run", *SWEEP, "--out", str(reference))
    assert result.code == 0, result.err
    after, full = read_run(resumed), read_run(reference)
    assert [r["config_id"] for r in after.configs] == [r["config_id"] for r in full.configs]
    assert all(r["status"] == "ok" for r in after.configs)
    assert after.configs[0] == first_before  # the finished measurement was kept, not redone
    assert after.footer["status"] == "complete"
    assert len(after.header["resumed"]) == 1


def test_resume_refuses_a_different_plan(terminated_run, tmp_path):
    partial, _, _ = terminated_run
    copy = tmp_path / "run.jsonl"
    shutil.copy(partial, copy)
    flags = [f if f != "1,6,8" else "1,6" for f in SWEEP]
    result = run_forked("run", *flags, "--resume", str(copy))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert "--batch-sizes '1,6' differs from the run's '1,6,8'" in lines[0]
    assert copy.read_bytes() == partial.read_bytes()  # nothing was touched
