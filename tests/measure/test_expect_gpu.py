"""``SDXL_BENCH_EXPECT_GPU=1`` turns "no CUDA" into failing gpu tests, not skips: on a GPU
machine whose driver is too old for torch's CUDA, ``pytest -m gpu`` must not exit 0."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from tests.support.cli import REPO

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is usable here")


def pytest_gpu(expect: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SDXL_BENCH_EXPECT_GPU"}
    if expect is not None:
        env["SDXL_BENCH_EXPECT_GPU"] = expect
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:randomly",
         "tests/measure/test_limit_trackers.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_gpu_tests_fail_when_a_gpu_is_expected_but_cuda_is_missing():
    done = pytest_gpu("1")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "SDXL_BENCH_EXPECT_GPU=1 but CUDA is not usable" in done.stdout
    assert "skipped" not in done.stdout.splitlines()[-1]


def test_gpu_tests_skip_without_the_setting():
    done = pytest_gpu(None)
    assert done.returncode == 0 and "skipped" in done.stdout.splitlines()[-1], done.stdout[-2000:]
