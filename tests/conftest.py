"""Shared fixtures: one tiny-preset cache per test session, pipelines loaded once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import Result, run_subprocess

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
def tiny_model(tiny_cache) -> Path:
    """The tiny preset's folder in the session cache, built now if no test built it yet.

    Tests that time concurrent runs ask for it first: otherwise both processes would build
    the model at once, and one could be timed while the other is still building.
    """
    from bench.build.pipelines import tiny_folder

    return tiny_folder()


@pytest.fixture(scope="session")
def tiny_pipes(tiny_cache):
    from bench.build.pipelines import load_pipelines, quiet_libraries
    from bench.plan.models import resolve_model

    quiet_libraries()
    return load_pipelines(resolve_model("tiny"), "cpu", "float32")


# The one small real run that tests only read: the default scenario's 2 prompts x 2 images,
# one call, its images saved. ``run`` plus these flags, ``--out`` and ``--save-images``.
TINY_RUN = ("run", "--scenario", "t2i-prompts-x-images", "--batch-sizes", "2", "--images-per-prompt", "2",
            "--steps", "2", "--height", "32", "--width", "32", "--threads", "1", "--quiet",
            "--warmup", "0", "--repeats", "1")


@dataclass(frozen=True)
class TinyRun:
    path: Path  # the run file
    images: Path  # its --save-images folder
    result: Result  # the finished ``sdxl-bench run`` process


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_cache) -> TinyRun:
    """``TINY_RUN`` once per session, shared by every test that reads its run file or images.

    Read-only: a test that changes the file or an image works on a copy in its own tmp_path.
    """
    folder = tmp_path_factory.mktemp("tiny-run")
    out, images = folder / "run.jsonl", folder / "images"
    result = run_subprocess(*TINY_RUN, "--out", str(out), "--save-images", str(images))
    assert result.code == 0, result.err
    return TinyRun(out, images, result)


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
