"""Shared fixtures: one tiny-preset cache per test session, pipelines loaded once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import Result, run_forked

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
    from bench.assemble.pipelines import tiny_folder

    return tiny_folder()


@pytest.fixture(scope="session")
def tiny_pipes(tiny_cache):
    from bench.assemble.pipelines import load_pipelines, quiet_libraries
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
    result = run_forked(*TINY_RUN, "--out", str(out), "--save-images", str(images))
    assert result.code == 0, result.err
    return TinyRun(out, images, result)


EXPECT_GPU = "SDXL_BENCH_EXPECT_GPU"


def no_cuda_reason() -> str | None:
    """Why CUDA cannot be used here (None when it can), naming torch's CUDA build: a torch
    built for a newer CUDA than the driver supports reports ``is_available() == False``."""
    try:
        import torch
    except ImportError as exc:
        return f"torch is not installed ({exc})"
    if torch.cuda.is_available():
        return None
    return (f"CUDA is not usable: torch {torch.__version__} is built for CUDA"
            f" {torch.version.cuda or '(none: a CPU build)'}; check the driver"
            " (`sdxl-bench doctor`)")


def pytest_collection_modifyitems(config, items):
    """``gpu`` tests need CUDA and NVML; skip them, with the reason, everywhere else. With
    ``SDXL_BENCH_EXPECT_GPU=1`` (a GPU machine) they fail instead: a run whose every gpu
    test skipped must not pass."""
    reason = no_cuda_reason()
    if reason is None:
        return
    expected = os.environ.get(EXPECT_GPU, "") not in ("", "0")
    mark = (pytest.mark.cuda_expected_but_missing(reason=f"{EXPECT_GPU}=1 but {reason}")
            if expected else pytest.mark.skip(reason=reason))
    for item in items:
        if item.get_closest_marker("gpu") is not None:  # not keywords: a folder named gpu
            item.add_marker(mark)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "cuda_expected_but_missing: set by conftest; fails the test")


def pytest_runtest_setup(item) -> None:
    """Fail (not skip) a ``gpu`` test when SDXL_BENCH_EXPECT_GPU is set and CUDA is missing."""
    mark = item.get_closest_marker("cuda_expected_but_missing")
    if mark is not None:
        pytest.fail(mark.kwargs["reason"], pytrace=False)
