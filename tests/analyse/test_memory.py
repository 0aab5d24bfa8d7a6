"""The memory-verdict rule on synthetic entries: beyond the threshold *and* the noise."""

from bench.analyse.gate import REGRESSED, UNCHANGED, Thresholds, ab_gate, gate
from bench.analyse.memory import PER_CALL_SPREAD, RUN_SPREAD, memory_changes
from bench.present.verdicts import memory_noise_text, reason_texts
from tests.support import results as typed

MIB = 2**20
LATENCIES = (1.00, 1.01, 0.99, 1.02, 1.00, 0.98, 1.01, 1.00)


def entry(rss_calls=None, key="cfg", **views):
    """One config's entry; ``rss_calls`` are process_rss per-call peaks in MiB (the run's
    peak is their maximum), other views are run peaks in MiB without per-call values."""
    memory = {view: value * MIB for view, value in views.items()}
    calls = {}
    if rss_calls:
        calls["process_rss"] = tuple(v * MIB for v in rss_calls)
        memory["process_rss"] = max(calls["process_rss"])
    return typed.entry(key, latencies=LATENCIES, memory=memory, memory_calls=calls)


def runs(*entries):
    return [typed.result_set(e, name=f"run{i}") for i, e in enumerate(entries)]


def judge(base, cand):
    """The verdict of one config; the latencies are identical on both sides, and too few
    runs for a latency verdict pass (only memory is under test here)."""
    [verdict] = gate(runs(*base), runs(*cand), THRESHOLDS)
    return verdict


THRESHOLDS = Thresholds(run_cv=0.0, allow_inconclusive=True)


def test_an_increase_beyond_the_limit_and_the_per_call_spread_regresses():
    result = judge([entry([800, 801, 802])], [entry([900, 901, 902])])
    assert result.outcome == REGRESSED
    assert reason_texts(result)[0] == ("process_rss memory +12.5% (0.783 -> 0.881 GiB; > 10.0%"
                                       " and beyond the noise ±0.2% (per-call spread))")
    [change] = result.memory
    assert change.noise == 2 * MIB and change.noise_source == PER_CALL_SPREAD


def test_an_increase_beyond_the_limit_but_within_the_per_call_spread_does_not_fail():
    # The calls of one run span up to 220 MiB: +12 % between runs is no evidence.
    result = judge([entry([800, 1000, 820])], [entry([900, 1120, 905])])
    assert result.outcome == UNCHANGED
    assert ("note: process_rss memory +12.0% (0.977 -> 1.094 GiB) is above 10.0% but within the"
            " noise ±22.0% (per-call spread): not counted") in reason_texts(result)


def test_an_increase_within_the_spread_across_runs_does_not_fail():
    base = [entry([800, 800]), entry([860, 860]), entry([905, 905])]
    cand = [entry([955, 955]), entry([960, 960]), entry([1000, 1000])]
    result = judge(base, cand)
    [change] = result.memory
    assert change.increase > 0.10  # medians 860 -> 960
    assert change.noise_source == RUN_SPREAD and change.noise == 105 * MIB
    assert not change.regressed and not result.fails(THRESHOLDS)


def test_identical_runs_spanning_seven_percent_do_not_fail():
    # process_rss of identical runs spans ~7.5 % on this machine.
    sizes = [830, 845, 892, 851, 838, 880]
    result = judge([entry([s, s + 1]) for s in sizes[:3]], [entry([s, s + 1]) for s in sizes[3:]])
    assert not any(c.regressed for c in result.memory) and not result.fails(THRESHOLDS)


def test_the_device_wide_view_is_ignored_when_a_process_view_exists():
    # Another process took 4 GiB of the GPU; this process's own memory did not move.
    base = entry(nvml_device_used=10_000, nvml_process_used=6_000, torch_reserved=5_000)
    cand = entry(nvml_device_used=14_000, nvml_process_used=6_010, torch_reserved=5_000)
    result = judge([base], [cand])
    assert result.outcome == UNCHANGED
    assert [c.view for c in result.memory] == ["nvml_process_used", "torch_reserved"]


def test_the_device_wide_view_stands_in_only_without_a_process_view_and_says_so():
    changes, device_wide = memory_changes([entry(nvml_device_used=10_000).result],
                                          [entry(nvml_device_used=12_000).result], 0.10)
    assert [c.view for c in changes] == ["nvml_device_used"] and changes[0].regressed
    assert device_wide
    [result] = gate(runs(entry(nvml_device_used=10_000)), runs(entry(nvml_device_used=12_000)),
                    THRESHOLDS)
    assert any("the whole GPU" in text for text in reason_texts(result))


def test_a_view_missing_in_one_run_is_not_judged():
    base = [entry([800, 801]), entry([800, 801])]
    cand = [entry([950, 951]), entry(torch_reserved=1)]  # second run has no process_rss
    changes, _ = memory_changes([e.result for e in base], [e.result for e in cand], 0.10)
    assert [c.view for c in changes] == []


def test_ab_pairs_weigh_memory_against_the_spread_across_the_pairs():
    pairs = [(a, b) for a, b in zip(
        runs(entry([800, 801]), entry([900, 901]), entry([805, 806])),
        runs(entry([905, 906]), entry([810, 811]), entry([910, 911])), strict=True)]
    [result] = ab_gate(pairs, Thresholds())
    [change] = result.memory
    assert change.noise_source == RUN_SPREAD  # 800..901 on the A side
    assert change.increase > 0.10 and result.outcome != REGRESSED


def test_ab_pairs_with_a_steady_increase_regress_on_memory():
    pairs = list(zip(runs(*(entry([800, 801]) for _ in range(3))),
                     runs(*(entry([1000, 1001]) for _ in range(3))), strict=True))
    [result] = ab_gate(pairs, Thresholds(allow_inconclusive=True))
    assert result.outcome == REGRESSED
    assert reason_texts(result)[0].startswith("process_rss memory +25.0%")


def test_a_spread_far_below_a_tenth_of_a_percent_still_shows_its_size():
    [change], _ = memory_changes([entry([1000.0, 1000.3]).result],
                                 [entry([1001.0, 1001.2]).result], 0.10)
    assert memory_noise_text(change) == "noise ±0.03% (per-call spread)"
