"""Deterministic-algorithm mode: the checks again, in a fresh process set up before CUDA starts.

``CUBLAS_WORKSPACE_CONFIG`` is read when cuBLAS initialises, so it cannot be set from inside
a process that may already have touched CUDA; and deterministic algorithms slow
everything down, so they never share a process with throughput measurements. ``--strict``
therefore starts ``python -m bench determinism ...`` (without ``--strict``) with the
environment below; the child sees ``SDXL_BENCH_STRICT=1`` and switches torch into
deterministic mode before loading anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MARKER = "SDXL_BENCH_STRICT"
CUBLAS_WORKSPACE = ":4096:8"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def in_strict_child() -> bool:
    return os.environ.get(MARKER) == "1"


def child_command(argv: list[str]) -> list[str]:
    """The same command line without ``--strict``, run by this interpreter."""
    return [sys.executable, "-m", "bench", *[a for a in argv if a != "--strict"]]


def child_environment() -> dict:
    env = dict(os.environ)
    env[MARKER] = "1"
    env["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
    # The child must import this checkout's ``bench``, wherever it is started from.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return env


def relaunch(argv: list[str]) -> int:
    """Run the checks in a fresh strict process; its exit code is ours."""
    print("sdxl-bench: --strict: running the checks in a fresh process with deterministic"
          f" algorithms (CUBLAS_WORKSPACE_CONFIG={CUBLAS_WORKSPACE})", file=sys.stderr, flush=True)
    return subprocess.run(child_command(argv), env=child_environment(), check=False).returncode


def apply() -> dict:
    """Switch torch into deterministic mode (before any model is loaded); what is now in force."""
    import torch

    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    return settings()


def settings() -> dict:
    """The determinism settings of this process, for the run header."""
    import torch

    return {
        "strict": in_strict_child(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
    }
