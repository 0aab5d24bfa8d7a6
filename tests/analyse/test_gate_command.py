"""The gate command end to end on real files: exit codes and what it prints."""

import json

from tests.support.cli import run_in_process
from tests.support.fakeruns import record, write_run

BASE = [1.00, 1.01, 0.99, 1.02, 1.00, 0.98, 1.01, 1.00]
SLOWER = [v * 1.2 for v in BASE]


def test_gate_passes_identical_runs(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE), record(BASE, batch_size=2)])
    result = run_in_process("gate", str(a), str(a))
    assert result.code == 0, result.out
    assert "PASS: no regression in 2 config(s)" in result.out


def test_gate_fails_and_names_the_regressed_config(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE), record(BASE, batch_size=2)])
    b = write_run(tmp_path / "b.jsonl", [record(BASE), record(SLOWER, batch_size=2)])
    result = run_in_process("gate", str(a), str(b))
    assert result.code == 1
    failed_table = result.out.split("FAIL: 1 of 2 config(s) failed (1 regressed):")[1]
    assert "t2i bs2 n1" in failed_table
    assert "+20.0%" in failed_table
    assert "t2i bs1 n1" not in failed_table


def test_gate_threshold_flag_changes_the_verdict(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE)])
    b = write_run(tmp_path / "b.jsonl", [record(SLOWER)])
    assert run_in_process("gate", str(a), str(b), "--max-slowdown", "25%").code == 0


def test_gate_require_all_fails_on_a_missing_config(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE), record(BASE, batch_size=2)])
    b = write_run(tmp_path / "b.jsonl", [record(BASE)])
    assert run_in_process("gate", str(a), str(b)).code == 0
    result = run_in_process("gate", str(a), str(b), "--require-all")
    assert result.code == 1
    assert "missing in candidate" in result.out


def pytest_benchmark_json(path, times, save_data=True):
    stats = {"min": min(times), "max": max(times), "mean": sum(times) / len(times)}
    stats["median"] = sorted(times)[len(times) // 2]
    stats["rounds"] = len(times)
    if save_data:
        stats["data"] = times
    doc = {
        "machine_info": {"node": "ci", "cpu": {"brand_raw": "Test CPU"}},
        "commit_info": {},
        "benchmarks": [
            {
                "name": "test_tiny",
                "fullname": "tests/test_perf.py::test_tiny",
                "stats": stats,
                "extra_info": {"peak_memory_bytes": {"process_rss": 1000}},
            }
        ],
        "datetime": "2026-01-01T00:00:00",
        "version": "5.3.1",
    }
    path.write_text(json.dumps(doc, indent=4))
    return path


def test_gate_reads_pytest_benchmark_raw_data_and_catches_a_slowdown(tmp_path):
    a = pytest_benchmark_json(tmp_path / "a.json", BASE)
    b = pytest_benchmark_json(tmp_path / "b.json", SLOWER)
    result = run_in_process("gate", str(a), str(b))
    assert result.code == 1
    assert "tests/test_perf.py::test_tiny" in result.out


def test_gate_says_when_pytest_benchmark_raw_data_is_missing(tmp_path):
    a = pytest_benchmark_json(tmp_path / "a.json", BASE, save_data=False)
    b = pytest_benchmark_json(tmp_path / "b.json", SLOWER, save_data=False)
    result = run_in_process("gate", str(a), str(b))
    assert result.code == 0
    assert "--benchmark-save-data" in result.err
    assert "no raw data" in result.out
    assert run_in_process("gate", str(a), str(b), "--require-all").code == 1
