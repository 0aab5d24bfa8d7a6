"""The gate command end to end on real files: exit codes and what it prints."""

import json

from tests.support.cli import run_in_process
from tests.support.fakeruns import record, write_run

BASE = [1.00, 1.01, 0.99, 1.02, 1.00, 0.98, 1.01, 1.00]
SLOWER = [v * 1.2 for v in BASE]
# These files stand for runs with no drift between them: trust the calls (--run-cv 0).
TRUST_CALLS = ("--run-cv", "0")


def test_gate_passes_identical_runs(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE), record(BASE, batch_size=2)])
    result = run_in_process("gate", str(a), str(a))
    assert result.code == 0, result.out
    assert "PASS: no regression in 2 config(s)" in result.out


def test_gate_fails_and_names_the_regressed_config(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE), record(BASE, batch_size=2)])
    b = write_run(tmp_path / "b.jsonl", [record(BASE), record(SLOWER, batch_size=2)])
    result = run_in_process("gate", str(a), str(b), *TRUST_CALLS)
    assert result.code == 1
    verdict_line = result.out.split("FAIL: 1 of 2 config(s) failed (1 regressed, 1 unchanged):")[1]
    assert "t2i bs2 n1" in verdict_line
    assert "t2i bs1 n1" not in verdict_line


def test_gate_threshold_flag_changes_the_verdict(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE)])
    b = write_run(tmp_path / "b.jsonl", [record(SLOWER)])
    assert run_in_process("gate", str(a), str(b), "--max-slowdown", "25%").code == 0


def test_gate_require_all_fails_on_a_config_new_in_the_candidate(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE)])
    b = write_run(tmp_path / "b.jsonl", [record(BASE), record(BASE, batch_size=2)])
    assert run_in_process("gate", str(a), str(b)).code == 0
    result = run_in_process("gate", str(a), str(b), "--require-all")
    assert result.code == 1
    assert "missing in baseline" in result.out


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
    result = run_in_process("gate", str(a), str(b), *TRUST_CALLS)
    assert result.code == 1
    assert "tests/test_perf.py::test_tiny" in result.out


def test_gate_says_when_pytest_benchmark_raw_data_is_missing(tmp_path):
    a = pytest_benchmark_json(tmp_path / "a.json", BASE, save_data=False)
    b = pytest_benchmark_json(tmp_path / "b.json", SLOWER, save_data=False)
    result = run_in_process("gate", str(a), str(b))
    assert result.code == 1
    assert "--benchmark-save-data" in result.err
    assert "no raw data" in result.out
    assert run_in_process("gate", str(a), str(b), "--allow-inconclusive").code == 0


def test_gate_reads_a_pytest_benchmark_file_without_machine_info(tmp_path):
    doc = {"benchmarks": [{"name": "t", "fullname": "t", "stats": {"median": 1.0, "data": BASE}}]}
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(doc, indent=2))
    result = run_in_process("gate", str(path), str(path))
    assert result.code == 0, result.err
    assert "unchanged" in result.out


def test_gate_refuses_other_json_documents_by_name(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"results": [1, 2]}, indent=2))
    result = run_in_process("gate", str(path), str(path))
    assert result.code == 2
    assert "neither an sdxl-bench run file nor a pytest-benchmark file" in result.err
    assert "line 1" not in result.err


def test_gate_without_a_shared_config_exits_2_in_one_line(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE)])
    b = write_run(tmp_path / "b.jsonl", [record(BASE, batch_size=2)])
    result = run_in_process("gate", str(a), str(b))
    assert result.code == 2
    assert result.err.startswith("sdxl-bench: error: nothing to compare:")
    assert result.err.count("\n") == 1


def test_gate_fails_a_planted_2x_slowdown_at_three_calls_per_config(tmp_path):
    configs = [(1, 1), (1, 2), (2, 1), (2, 2), (4, 1), (4, 2)]
    a = write_run(tmp_path / "a.jsonl", [record([1.0, 1.01, 1.02], bs, n) for bs, n in configs])
    b = write_run(tmp_path / "b.jsonl", [record([2.0, 2.01, 2.02], bs, n) for bs, n in configs])
    result = run_in_process("gate", str(a), str(b))
    assert result.code == 1
    assert "6 inconclusive" in result.out and "too few samples" in result.out


def test_gate_takes_several_runs_per_side(tmp_path):
    def runs(side, factors):
        return [str(write_run(tmp_path / f"{side}{i}.jsonl", [record([v * f for v in BASE])]))
                for i, f in enumerate(factors)]

    base = runs("a", (1.0, 1.02, 0.99, 1.01, 1.0, 0.98))
    cand = runs("b", (1.2, 1.21, 1.19, 1.22, 1.2, 1.18))
    result = run_in_process("gate", "--baseline", *base, "--candidate", *cand)
    assert result.code == 1
    assert "6 vs 6 per-run medians" in result.out
    assert "understate" not in result.out


def test_gate_with_one_run_per_side_says_within_run_samples_understate_noise(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE)])
    assert "understate the noise between runs" in run_in_process("gate", str(a), str(a)).out


def test_gate_with_three_positional_files_is_a_usage_error(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE)])
    result = run_in_process("gate", str(a), str(a), str(a))
    assert result.code == 2
    assert "--baseline A B C --candidate X Y Z" in result.err


def test_one_run_per_side_passes_a_change_within_run_drift_and_says_why(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record(BASE)])
    b = write_run(tmp_path / "b.jsonl", [record(SLOWER)])
    result = run_in_process("gate", str(a), str(b))
    assert result.code == 0, result.out
    assert "within what drift between two runs explains" in result.out
    assert "sdxl-bench ab" in result.out


def test_three_runs_against_one_say_which_test_judged_them_and_why(tmp_path):
    base = [write_run(tmp_path / f"b{i}.jsonl", [record([v * f for v in BASE])])
            for i, f in enumerate((1.0, 1.01, 0.99))]
    cand = write_run(tmp_path / "c.jsonl", [record(SLOWER)])
    result = run_in_process("gate", "--baseline", *map(str, base), "--candidate", str(cand))
    assert "3 vs 1 per-run medians" in result.out
    assert "per-call times of one run" not in result.out  # the calls were not pooled
    test = " ".join(result.out.split("test: ")[1].split("\n\n")[0].split())
    assert test.startswith("exact one-sided Mann-Whitney on per-run medians: a side has several runs")
    assert result.code == 1 and "need >= 5 runs per side" in " ".join(result.out.split())


def torn_candidate(tmp_path):
    """The baseline has two configs; the candidate was killed while writing the second."""
    a = write_run(tmp_path / "a.jsonl", [record(BASE), record(BASE, batch_size=2)])
    torn = write_run(tmp_path / "torn.jsonl", [record(BASE), record(BASE, batch_size=2)])
    lines = torn.read_text().splitlines()
    torn.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])  # header, config 1, torn
    return a, torn


def test_a_config_the_candidate_lost_fails_and_the_verdict_line_names_it(tmp_path):
    a, torn = torn_candidate(tmp_path)
    result = run_in_process("gate", str(a), str(torn))
    assert result.code == 1
    line = " ".join(result.out.split("FAIL: ")[1].split())
    assert line.startswith("1 of 2 config(s) failed (1 unchanged, 1 missing); not compared:"
                           " t2i bs2 n1 4steps 64x64 float32 tiny (missing in candidate, fails)")


def test_allow_missing_passes_a_candidate_that_measured_a_subset_and_says_so(tmp_path):
    a, torn = torn_candidate(tmp_path)
    result = run_in_process("gate", str(a), str(torn), "--allow-missing")
    assert result.code == 0
    line = " ".join(result.out.split("PASS: ")[1].split())
    assert line.startswith("no regression in 1 of the 2 config(s) asked for (1 unchanged,"
                           " 1 missing); not compared: t2i bs2 n1")


def test_require_all_and_allow_missing_contradict_each_other(tmp_path):
    a, torn = torn_candidate(tmp_path)
    result = run_in_process("gate", str(a), str(torn), "--allow-missing", "--require-all")
    assert result.code == 2 and "drop one" in result.err
