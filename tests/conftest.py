"""Shared fixtures: one tiny-preset cache per test session, pipelines loaded once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One CPU thread per process: tests start CLI subprocesses (and several ranks or workers at
# once), and torch's default of one thread per core oversubscribes a 2-core machine badly.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def tiny_cache(tmp_path_factory) -> Path:
    """Every test (and every CLI subprocess it starts) shares one tiny-preset cache."""
    folder = Path(os.environ.get("SDXL_BENCH_TEST_CACHE") or tmp_path_factory.mktemp("cache"))
    os.environ["SDXL_BENCH_CACHE"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_pipes(tiny_cache):
    from bench.build.pipelines import load_pipelines, quiet_libraries
    from bench.plan.models import resolve_model

    quiet_libraries()
    return load_pipelines(resolve_model("tiny"), "cpu", "float32")


def pytest_collection_modifyitems(config, items):
    """``gpu`` tests need CUDA and NVML; skip them, with the reason, everywhere else."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none here)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
