import json

import pytest

from bench.analyse.compare import compare_results, match_results, side_by_side
from bench.store.result_files import load_results
from tests.support.fakeruns import record, write_run

SLOW = [1.10, 1.12, 1.11, 1.13, 1.12, 1.14, 1.10, 1.11]
FAST = [1.00, 1.01, 1.02, 1.00, 1.01, 1.03, 1.02, 1.00]


def test_configs_match_across_devices_when_the_workload_is_the_same(tmp_path):
    a = load_results(write_run(tmp_path / "a.jsonl", [record(FAST)], device_name="A100"))
    b = load_results(
        write_run(tmp_path / "b.jsonl", [record(SLOW, device="cuda:0")], device_name="H100")
    )
    [matched] = match_results([a, b])
    assert all(result is not None for result in matched.results)


def test_configs_with_different_steps_do_not_match(tmp_path):
    a = load_results(write_run(tmp_path / "a.jsonl", [record(FAST)]))
    b = load_results(write_run(tmp_path / "b.jsonl", [record(FAST, num_inference_steps=8)]))
    matched = match_results([a, b])
    assert [m.results[0] is None for m in matched] == [False, True]
    assert [m.results[1] is None for m in matched] == [True, False]


def test_repeated_config_in_one_run_keeps_the_last_record(tmp_path):
    a = load_results(write_run(tmp_path / "a.jsonl", [record(FAST), record(SLOW)]))
    [matched] = match_results([a])
    assert matched.results[0].latency_values == tuple(SLOW)


def test_change_reports_ratios_and_significance(tmp_path):
    a = load_results(write_run(tmp_path / "a.jsonl", [record(FAST, memory=100)]))
    b = load_results(write_run(tmp_path / "b.jsonl", [record(SLOW, memory=150)]))
    change = compare_results(a.entries[0].result, b.entries[0].result)
    assert change.latency_ratio == pytest.approx(1.115 / 1.01)
    assert change.images_per_s_ratio == pytest.approx(1.01 / 1.115)
    assert change.significance(0.05) == "significant"
    assert change.memory_ratio == {"process_rss": 1.5}


def test_side_by_side_memory_delta_names_its_view_and_the_per_call_spread(tmp_path):
    def run(name, mib_per_call):
        calls = [v * 2**20 for v in mib_per_call]
        return load_results(write_run(tmp_path / name, [record(
            FAST, memory=max(calls), peak_memory_per_call_bytes={"process_rss": calls})]))

    headers, rows = side_by_side([run("a.jsonl", [1000, 990, 980]), run("b.jsonl", [1100, 1090, 1070])],
                                 alpha=0.05)
    column = headers.index("memory delta (± per-call spread)")
    assert rows[1][column] == "+0.098 GiB (+10.0%, ±3.0%) process_rss"  # 100 MiB; spread 30 of 1000


def test_side_by_side_memory_delta_prefers_the_process_view_to_the_whole_device(tmp_path):
    peaks = {"nvml_device_used": 9 * 2**30, "torch_reserved": 2**30}
    a = load_results(write_run(tmp_path / "a.jsonl", [record(FAST, peak_memory_bytes=peaks)]))
    b = load_results(write_run(tmp_path / "b.jsonl", [record(
        FAST, peak_memory_bytes={**peaks, "nvml_device_used": 12 * 2**30})]))
    headers, rows = side_by_side([a, b], alpha=0.05)
    column = headers.index("memory delta (± per-call spread)")
    assert rows[1][column] == "+0.000 GiB (+0.0%, noise unknown) torch_reserved"


def test_side_by_side_says_too_few_samples_for_three_calls(tmp_path):
    a = load_results(write_run(tmp_path / "a.jsonl", [record([1.0, 1.01, 1.02])]))
    b = load_results(write_run(tmp_path / "b.jsonl", [record([2.0, 2.01, 2.02])]))
    headers, rows = side_by_side([a, b], alpha=0.05)
    column = headers.index("significance")
    assert [row[column] for row in rows] == ["baseline", "too few samples"]


def test_configs_differing_only_in_optimizations_or_ranks_do_not_match(tmp_path):
    default = {"attention": "sdpa", "compile": False, "channels_last": False}
    compiled = {**default, "compile": True}
    records = [
        record(FAST, optimizations=default),
        record(FAST, optimizations=compiled),
        record(FAST, optimizations=default, world_size=2),
    ]
    run = load_results(write_run(tmp_path / "a.jsonl", records))
    keys = [entry.key for entry in run.entries]
    assert keys == [
        "t2i bs1 n1 4steps 64x64 float32 tiny",
        "t2i bs1 n1 4steps 64x64 float32 compile tiny",
        "t2i bs1 n1 4steps 64x64 float32 np2 tiny",
    ]


def test_pytest_benchmark_device_is_the_plugins_gpu_else_the_cpu(tmp_path):
    def saved(name, machine_info):
        stats = {"median": 1.0, "data": [1.0, 1.1]}
        doc = {"machine_info": machine_info, "benchmarks": [{"name": "t", "stats": stats}]}
        (tmp_path / name).write_text(json.dumps(doc))
        return load_results(tmp_path / name)

    gpu = saved("gpu.json", {"cpu": {"brand_raw": "EPYC"}, "sdxl_bench": {"device_name": "H100"}})
    assert gpu.device_name == "H100"
    assert saved("cpu.json", {"cpu": {"brand_raw": "EPYC"}}).device_name == "EPYC"
    assert saved("odd.json", {"cpu": "EPYC"}).device_name is None


def test_side_by_side_shows_intervals_for_the_median_and_the_ratio(tmp_path):
    a = load_results(write_run(tmp_path / "a.jsonl", [record(FAST)]))
    b = load_results(write_run(tmp_path / "b.jsonl", [record(SLOW)]))
    headers, rows = side_by_side([a, b], alpha=0.05)
    latency_ci = headers.index("latency p50 s") + 1
    # 8 calls: [2nd, 7th] would cover only 93 %, so the 95 % interval is [min, max] (99.2 %).
    assert rows[0][latency_ci] == "[1, 1.03]"
    change_ci = rows[1][headers.index("latency change 95% CI")]
    low, high = (float(x.strip("%")) for x in change_ci.strip("[]").split(", "))
    assert low < 100 * (1.115 / 1.01 - 1) < high and low > 0


def test_side_by_side_marks_small_sample_intervals_as_ranges(tmp_path):
    a = load_results(write_run(tmp_path / "a.jsonl", [record([1.0, 1.01, 1.02])]))
    headers, rows = side_by_side([a, a], alpha=0.05)
    assert rows[0][headers.index("latency p50 s") + 1] == "[1, 1.02] range, 75%"


def test_a_run_whose_images_are_broken_is_not_compared_as_a_win(tmp_path):
    a = load_results(write_run(tmp_path / "a.jsonl", [record(SLOW)]))
    b = load_results(write_run(tmp_path / "b.jsonl", [record(FAST, nan_images=1)]))
    headers, rows = side_by_side([a, b], alpha=0.05)
    significance, ratio = headers.index("significance"), headers.index("ratio")
    assert rows[1][significance] == "not compared: images broken (this run: 1 NaN)"
    assert rows[1][ratio] is None


def test_only_calls_of_one_run_per_side_carry_the_one_run_caveat(tmp_path):
    from bench.analyse.compare import tests_per_call

    a = load_results(write_run(tmp_path / "a.jsonl", [record(FAST)]))
    b = load_results(write_run(tmp_path / "b.jsonl", [record(SLOW)]))
    rounds = {"latency_s": {"median": 1.0, "values": [1.0, 1.1, 0.9], "n": 3,
                            "sample": "round medians"}}
    ra = load_results(write_run(tmp_path / "ra.jsonl", [record(FAST, **rounds)]))
    rb = load_results(write_run(tmp_path / "rb.jsonl", [record(SLOW, **rounds)]))
    assert tests_per_call([a, b]) and not tests_per_call([ra, rb])
