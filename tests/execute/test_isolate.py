"""``--isolate``: one worker process per config. A worker killed mid-config is recorded
as ``crashed`` with its signal; a worker out of memory as ``oom``; the rest are measured."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.execute.interrupts import Interrupted, InterruptGuard
from bench.execute.isolate import Isolated
from bench.plan.request import SweepRequest, plan_request
from bench.plan.sweep import SweepOptions
from bench.store.run_file import read_run
from tests.support.cli import REPO, command, run_subprocess
from tests.support.processes import wait_for_worker


@pytest.fixture(scope="module")
def isolated_sweep(tmp_path_factory):
    """Sweep 1,64,2 with a memory budget; the first worker is killed with SIGKILL."""
    out = tmp_path_factory.mktemp("isolate") / "run.jsonl"
    manager = subprocess.Popen(
        command("run", "--isolate", "--scenario", "t2i-prompts",
                "--batch-sizes", "1,64,2", "--steps", "1", "--warmup", "0", "--repeats", "1",
                "--threads", "1", "--memory-budget", "0.1", "--quiet", "--out", str(out)),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.kill(wait_for_worker(manager), signal.SIGKILL)
    _, stderr = manager.communicate(timeout=600)
    assert manager.returncode == 0, stderr
    return read_run(out)


def test_killed_worker_is_recorded_as_crashed_with_its_signal(isolated_sweep):
    first = isolated_sweep.configs[0]
    assert first["status"] == "crashed"
    assert first["exit_signal"] == "SIGKILL"


def test_worker_out_of_memory_is_recorded_as_oom(isolated_sweep):
    assert isolated_sweep.configs[1]["status"] == "oom"


def test_configs_after_a_crash_and_an_oom_are_measured(isolated_sweep):
    last = isolated_sweep.configs[2]
    assert last["status"] == "ok" and last["images_per_s"] > 0
    assert isolated_sweep.header["options"]["isolate"] is True


def test_each_worker_reports_its_own_cold_start_with_every_import_timed(isolated_sweep):
    cold = isolated_sweep.configs[2]["cold_start"]
    assert cold["notes"] == []  # the worker started the import clock before importing torch
    assert cold["import_s"] > 0 and cold["load_s"] > 0 and cold["first_call"] == "timed"


def test_sigint_to_the_manager_stops_the_worker_and_records_interrupted(tmp_path):
    out = tmp_path / "run.jsonl"
    manager = subprocess.Popen(
        command("run", "--isolate", "--scenario", "t2i-prompts",
                "--batch-sizes", "1,2", "--steps", "1", "--warmup", "0", "--repeats", "1", "--quiet",
                "--out", str(out)),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = wait_for_worker(manager)
    time.sleep(0.5)  # the worker is importing torch or measuring
    manager.send_signal(signal.SIGINT)
    _, stderr = manager.communicate(timeout=120)
    assert manager.returncode == 130, stderr
    assert not Path(f"/proc/{worker}").exists() or b"Z" in Path(f"/proc/{worker}/stat").read_bytes()
    run = read_run(out)
    assert [r["status"] for r in run.configs] == ["interrupted"]
    assert run.footer["status"] == "interrupted"


@pytest.mark.gpu
def test_max_batch_finds_a_real_cuda_out_of_memory_boundary():
    """sdxl-arch in bfloat16 at 1024²: a few GB per image, so an 80–141 GB GPU runs out
    within a few dozen images (tiny at 1024² in float32 needed thousands: past the timeout)."""
    result = run_subprocess(
        "max-batch", "--device", "cuda", "--isolate", "--model", "sdxl-arch",
        "--dtype", "bfloat16", "--scenario", "t2i-prompts", "--steps", "1", "--height", "1024",
        "--width", "1024", "--limit", "512", "--json", timeout=600)
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    status = {p["size"]: p["status"] for p in summary["probes"]}
    assert 1 < summary["max_size"] < 512
    assert min(size for size, s in status.items() if s != "ok") == summary["max_size"] + 1
    assert summary["peak_memory_view"] in ("nvml_process_used", "torch_reserved")


def test_a_signal_while_the_worker_is_started_still_stops_the_worker(monkeypatch):
    request = SweepRequest(scenario="t2i-prompts", options=SweepOptions(
        batch_sizes="1", steps=1, height=32, width=32, warmup=0, repeats=1))
    plan = plan_request(request, "cpu")
    started = []
    real_popen = subprocess.Popen

    def popen_then_signal(*args, **kwargs):  # Ctrl-C lands before Popen has returned
        process = real_popen(*args, **kwargs)
        started.append(process)
        os.kill(os.getpid(), signal.SIGINT)
        return process

    monkeypatch.setattr(subprocess, "Popen", popen_then_signal)
    try:
        with InterruptGuard() as guard, pytest.raises(Interrupted), guard.interruptible():
            Isolated(request)(plan, plan.configs[0])
        [worker] = started
        assert worker.poll() is not None, "the worker outlived the interrupted manager"
    finally:
        for process in started:
            process.kill()
            process.wait()
