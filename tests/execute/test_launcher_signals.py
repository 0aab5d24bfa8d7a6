"""Signals to an ``--nproc`` run end it as they end a single process: 130 after Ctrl-C
(delivered to the whole process group, as a terminal does), 143 after SIGTERM to the
launcher alone; the config in flight is recorded ``interrupted`` and the footer written."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings
from pathlib import Path

import pytest

from bench.store.run_file import read_run
from tests.support.cli import REPO, command

FLAGS = ["run", "--device", "cpu", "--threads", "1", "--steps", "50", "--height", "32", "--width",
         "32", "--warmup", "0", "--repeats", "20", "--batch-sizes", "1,2", "--images-per-prompt",
         "1", "--quiet", "--nproc", "2"]


def started_run(out):
    process = subprocess.Popen(command(*FLAGS, "--out", str(out)), cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # its own group, as a terminal job
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # measuring has begun once rank 0 wrote the header
        if out.exists() and out.read_text().strip():
            time.sleep(2)
            return process
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1][-2000:])
        time.sleep(0.5)
    process.kill()
    raise AssertionError("the ranks never wrote a header")


@pytest.mark.parametrize("signum, to_group, code", [
    (signal.SIGINT, True, 130),
    (signal.SIGTERM, False, 143),
], ids=["ctrl-c to the group", "sigterm to the launcher"])
def test_a_signal_ends_a_data_parallel_run_like_a_single_process(tmp_path, signum, to_group, code):
    out = tmp_path / "run.jsonl"
    process = started_run(out)
    if to_group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, err = process.communicate(timeout=180)
    assert process.returncode == code, err[-2000:]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torn line, no missing footer
        run = read_run(out)
    assert run.footer["status"] == "interrupted"
    assert run.configs[-1]["status"] == "interrupted"


SIGTERM_WHILE_STARTING = """
import os, signal, subprocess, sys
from bench.execute.distributed import launch

real_popen = subprocess.Popen

def popen_then_sigterm(*args, **kwargs):  # the signal lands before Popen has returned
    process = real_popen(*args, **kwargs)
    print(process.pid, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    return process

subprocess.Popen = popen_then_sigterm
torchrun = [sys.executable, "-c", "import os, time; os.close(1); os.close(2); time.sleep(60)"]
print(launch._run_torchrun(torchrun, launch.Segment()))
"""


def test_a_sigterm_while_torchrun_starts_is_passed_on_not_lost():
    done = subprocess.run(command(prefix=["-c", SIGTERM_WHILE_STARTING]), cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    child, *rest = done.stdout.split()
    try:
        assert done.returncode == 0, f"the launcher died of signal {-done.returncode}"
        assert rest == ["143"]  # as a single-process run ends on SIGTERM
        assert not Path(f"/proc/{child}").exists(), "torchrun was left running"
    finally:
        if Path(f"/proc/{child}").exists():
            os.kill(int(child), signal.SIGKILL)
