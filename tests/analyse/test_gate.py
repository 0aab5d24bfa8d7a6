import statistics

import pytest

from bench.analyse.compare import compare_entries
from bench.analyse.gate import (
    INCONCLUSIVE,
    MISSING,
    PASS,
    REGRESSED,
    Thresholds,
    exit_code,
    gate,
    judge,
    parse_percent,
)
from bench.errors import UsageError
from bench.store.result_files import Entry, ResultSet

BASE = [1.00, 1.01, 0.99, 1.02, 1.00, 0.98, 1.01, 1.00]


def entry(latencies, memory=1000, status="ok", key="cfg", raw=True):
    return Entry(
        key=key,
        latencies=tuple(latencies) if raw else (),
        median_s=statistics.median(latencies) if latencies else None,
        memory={"torch_reserved": memory},
        status=status,
    )


def verdict(base, cand, **thresholds):
    return judge(compare_entries(base, cand), Thresholds(**thresholds))


def scaled(values, factor):
    return [v * factor for v in values]


def test_significant_slowdown_under_threshold_passes():
    result = verdict(entry(BASE), entry(scaled(BASE, 1.03)))
    assert result.change.significance(0.05) == "significant"
    assert result.outcome == PASS


def test_slowdown_over_threshold_without_significance_passes():
    base = [1.0, 1.3, 0.9, 1.2, 1.1]
    cand = [1.25, 0.95, 1.35, 1.15, 1.2]  # median +9 %, but the samples overlap
    result = verdict(entry(base), entry(cand))
    assert result.change.latency_ratio > 1.05
    assert result.change.significance(0.05) == "not significant"
    assert result.outcome == PASS


def test_significant_slowdown_over_threshold_regresses():
    result = verdict(entry(BASE), entry(scaled(BASE, 1.10)))
    assert result.outcome == REGRESSED
    assert result.reasons[0].startswith("latency +10.0% (> 5.0%")


def test_memory_growth_above_threshold_regresses():
    result = verdict(entry(BASE, memory=1000), entry(BASE, memory=1150))
    assert result.outcome == REGRESSED
    assert result.reasons == ("torch_reserved memory +15.0% (> 10.0%)",)


def test_memory_growth_below_threshold_passes():
    assert verdict(entry(BASE, memory=1000), entry(BASE, memory=1050)).outcome == PASS


def test_speedup_passes_unless_fail_on_speedup():
    assert verdict(entry(BASE), entry(scaled(BASE, 0.8))).outcome == PASS
    result = verdict(entry(BASE), entry(scaled(BASE, 0.8)), fail_on_speedup=True)
    assert result.outcome == REGRESSED
    assert "faster than the baseline" in result.reasons[0]


def test_candidate_out_of_memory_regresses():
    result = verdict(entry(BASE), entry([], status="oom"))
    assert result.outcome == REGRESSED
    assert result.reasons == ("status ok -> oom",)


def test_missing_raw_data_is_inconclusive_not_a_pass_or_a_failure():
    result = verdict(entry(BASE, raw=False), entry(scaled(BASE, 2.0), raw=False))
    assert result.outcome == INCONCLUSIVE
    assert "no raw data" in result.reasons[0]
    assert not result.fails(Thresholds())
    assert result.fails(Thresholds(require_all=True))


def test_too_few_samples_is_inconclusive():
    result = verdict(entry(BASE[:3]), entry(scaled(BASE[:3], 2.0)))
    assert result.outcome == INCONCLUSIVE
    assert "too few samples" in result.reasons[0]


def results(*entries):
    return ResultSet(path=None, kind="run", device_name="cpu", entries=tuple(entries))


def test_missing_config_is_reported_and_fails_only_with_require_all():
    baseline = results(entry(BASE, key="a"), entry(BASE, key="b"))
    candidate = results(entry(BASE, key="a"))
    verdicts = gate(baseline, candidate, Thresholds())
    assert [(v.key, v.outcome) for v in verdicts] == [("a", PASS), ("b", MISSING)]
    assert verdicts[1].reasons == ("missing in candidate",)
    assert exit_code(verdicts, Thresholds()) == 0
    assert exit_code(verdicts, Thresholds(require_all=True)) == 1


def test_percent_thresholds_parse_with_or_without_sign():
    assert parse_percent("5%", "--max-slowdown") == 0.05
    assert parse_percent("12.5", "--max-slowdown") == 0.125


def test_bad_percent_threshold_is_a_usage_error():
    with pytest.raises(UsageError, match="--max-slowdown expects a percentage"):
        parse_percent("fast", "--max-slowdown")


def test_differing_call_arguments_are_named_next_to_the_verdict():
    base = Entry("cfg", tuple(BASE), 1.0, arguments={"guidance_scale": 1.0, "seed": 0})
    cand = Entry("cfg", tuple(BASE), 1.0, arguments={"guidance_scale": 5.0, "seed": 0})
    result = judge(compare_entries(base, cand), Thresholds())
    assert result.outcome == PASS
    assert result.reasons[-1] == "note: guidance_scale 1.0 -> 5.0"
