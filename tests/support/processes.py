"""The worker processes of a running ``sdxl-bench`` manager, found through ``/proc``, so
that a test can signal the manager while a config is certainly being measured."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def workers(pid: int) -> list[int]:
    """The manager's child processes running ``bench.execute.worker`` (after their exec)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    found = []
    for child in (int(p) for p in text.split()):
        try:
            if b"bench.execute.worker" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def wait_for_worker(manager: subprocess.Popen, timeout_s: float = 120) -> int:
    """The pid of a worker of the manager, once one exists."""
    deadline = time.monotonic() + timeout_s
    while not workers(manager.pid):
        assert manager.poll() is None, manager.communicate()
        assert time.monotonic() < deadline, f"no worker process within {timeout_s:.0f} s"
        time.sleep(0.01)
    return workers(manager.pid)[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_cpu_time(process: subprocess.Popen, seconds: float, timeout_s: float = 120) -> None:
    """Until the process has worked ``seconds`` more CPU time: on a loaded machine a
    wall-clock sleep can end before the process has moved on."""
    target = cpu_seconds(process.pid) + seconds
    deadline = time.monotonic() + timeout_s
    while cpu_seconds(process.pid) < target:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{seconds} s of CPU time not used in {timeout_s:.0f} s"
        time.sleep(0.01)
