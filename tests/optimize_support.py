"""Helpers for the optimization tests: a shared tiny-preset cache and CLI subprocesses.

Kept apart from ``conftest.py`` (owned by the lead) so both can evolve; where the
conftest already set ``SDXL_BENCH_CACHE`` for the session, that cache is used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def ensure_cache() -> str:
    if not os.environ.get("SDXL_BENCH_CACHE"):
        os.environ["SDXL_BENCH_CACHE"] = os.environ.get("SDXL_BENCH_TEST_CACHE") or tempfile.mkdtemp(
            prefix="sdxl-bench-test-cache-")
    return os.environ["SDXL_BENCH_CACHE"]


def run_cli(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m bench ARGS`` in a real subprocess from the repository root."""
    ensure_cache()
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=env)


def config_records(path: Path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in lines if r["type"] == "config"]


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def gpu(test):
    """Mark a test ``gpu`` and skip it without CUDA (whether or not a conftest does)."""
    return pytest.mark.gpu(pytest.mark.skipif(not has_cuda(), reason="needs a CUDA GPU")(test))
