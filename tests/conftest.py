"""Shared fixtures (one tiny-preset cache per test session, pipelines loaded once) and the
two test tiers: ``e2e`` marks the tests that start processes (``tests/support/tiers.py``)."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import tiers
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
    """Two tiers: a test that starts processes (``tiers.item_starts_processes``) joins the
    end-to-end tier, marker ``e2e``; ``pytest -m "not e2e"`` is the fast tier.

    ``gpu`` tests need CUDA and NVML; skip them, with the reason, everywhere else. With
    ``SDXL_BENCH_EXPECT_GPU=1`` (a GPU machine) they fail instead: a run whose every gpu
    test skipped must not pass."""
    for item in items:
        if tiers.E2E not in item.keywords and tiers.item_starts_processes(item):
            item.add_marker(tiers.E2E)
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
    # Python's platform module runs ``uname -p`` once per process and caches the answer:
    # asked now, before the guard, so that which test first reads the platform (the run
    # environment does) does not decide whether that test starts a process.
    platform.processor()
    GUARD.install()


def pytest_unconfigure(config) -> None:
    GUARD.uninstall()


# Fails a fast-tier test (one not marked e2e) that starts a process: the fast tier runs none.
GUARD = tiers.ProcessGuard()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Watch each fast-tier test through its setup (session fixtures it starts included),
    call and teardown."""
    with GUARD.watching(None if item.get_closest_marker(tiers.E2E) else item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that tried to start a process fails, even if the code under test caught the
    failure the guard raised."""
    outcome = yield
    report = outcome.get_result()
    if GUARD.item is item and GUARD.started and not report.failed:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid} tried to start a process ({', '.join(GUARD.started)})"
                           f" but is not in the end-to-end tier: mark it @pytest.mark.{tiers.E2E}")
    if GUARD.item is item:
        GUARD.started.clear()


def pytest_runtest_setup(item) -> None:
    """Fail (not skip) a ``gpu`` test when SDXL_BENCH_EXPECT_GPU is set and CUDA is missing."""
    mark = item.get_closest_marker("cuda_expected_but_missing")
    if mark is not None:
        pytest.fail(mark.kwargs["reason"], pytrace=False)
