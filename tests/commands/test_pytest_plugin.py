"""The pytest-benchmark route end to end: a real pytest run using the sdxl_bench fixture."""

import json
import os
from importlib.metadata import entry_points

import pytest

from tests.support.cli import REPO, run_in_process, run_subprocess

PERF_TEST = """
def test_tiny_bs2(sdxl_bench):
    info = sdxl_bench(
        model="tiny", batch_size=2, steps=2, height=32, width=32,
        device="cpu", warmup_rounds=1, rounds=4,
    )
    assert info["images_per_call"] == 2
"""


def plugin_installed() -> bool:
    return any(ep.name == "sdxl_bench" for ep in entry_points(group="pytest11"))


@pytest.fixture(scope="module")
def benchmark_json(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pytest-benchmark")
    (folder / "test_perf.py").write_text(PERF_TEST)
    out = folder / "bench.json"
    # Where the package is installed the entry point loads the plugin; else name it.
    load = [] if plugin_installed() else ["-p", "bench.pytest_plugin"]
    done = run_subprocess(
        *load, "-p", "no:cacheprovider", "-q", "test_perf.py", f"--benchmark-json={out}",
        "--benchmark-save-data",
        prefix=["-m", "pytest"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
        timeout=240,
    )
    assert done.code == 0, done.out[-3000:] + done.err[-3000:]
    (folder / "pytest-output.txt").write_text(done.out + done.err)
    return out


def test_fixture_records_images_per_call_throughput_and_memory(benchmark_json):
    [bench] = json.loads(benchmark_json.read_text())["benchmarks"]
    extra = bench["extra_info"]
    assert extra["images_per_call"] == 2
    assert extra["images_per_s"] == pytest.approx(2 / bench["stats"]["median"])
    assert extra["peak_memory_bytes"]["process_rss"] > 0


def test_fixture_adds_no_third_party_warnings_to_the_users_test_summary(benchmark_json):
    printed = benchmark_json.with_name("pytest-output.txt").read_text()
    assert "DeprecationWarning" not in printed and "warnings summary" not in printed


def test_fixture_times_the_requested_rounds_with_raw_data(benchmark_json):
    [bench] = json.loads(benchmark_json.read_text())["benchmarks"]
    assert bench["stats"]["rounds"] == 4
    assert len(bench["stats"]["data"]) == 4


def test_machine_info_carries_library_versions(benchmark_json):
    info = json.loads(benchmark_json.read_text())["machine_info"]["sdxl_bench"]
    assert info["torch"] and info["diffusers"] and info["device_name"]


def test_gate_reads_the_plugin_output(benchmark_json):
    # 4 rounds cannot reach alpha 0.01 (that takes 5): the verdict is inconclusive.
    result = run_in_process("gate", str(benchmark_json), str(benchmark_json), "--allow-inconclusive")
    assert result.code == 0, result.out
    assert "inconclusive" in result.out
    assert "test_perf.py::test_tiny_bs2" in result.out
