"""The worker processes of a running ``sdxl-bench`` manager, found through ``/proc``, so
that a test can signal the manager while a config is certainly being measured."""

from __future__ import annotations

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
