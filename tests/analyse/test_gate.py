import pytest

from bench.analyse.compare import compare_results
from bench.analyse.gate import (
    IMPROVED,
    INCONCLUSIVE,
    MISSING,
    PER_CALL,
    PER_RUN,
    REGRESSED,
    UNCHANGED,
    Code,
    Comparison,
    Thresholds,
    ab_gate,
    decide,
    exit_code,
    gate,
    paired_effect,
    two_sample_effect,
)
from bench.errors import UsageError
from bench.present.verdicts import reason_texts
from tests.support import results as typed

BASE = [1.00, 1.01, 0.99, 1.02, 1.00, 0.98, 1.01, 1.00]


def entry(latencies, memory=1000, status="ok", key="cfg", raw=True, **fields):
    return typed.entry(key, latencies=latencies, raw=raw, memory={"torch_reserved": memory},
                       status=status, **fields)


def results(*entries, name="run"):
    return typed.result_set(*entries, name=name)


def verdict(base, cand, **thresholds):
    """One config, one run per side; run-to-run drift not assumed (run_cv 0) unless given,
    so these tests see the test and thresholds alone."""
    thresholds.setdefault("run_cv", 0.0)
    [result] = gate(results(base), results(cand), Thresholds(**thresholds))
    return result


def texts(verdict):
    """The verdict's reasons as the gate prints them."""
    return reason_texts(verdict)


def scaled(values, factor):
    return [v * factor for v in values]


def test_significant_slowdown_under_threshold_is_unchanged():
    result = verdict(entry(BASE), entry(scaled(BASE, 1.03)))
    assert result.effect.p_slower < 0.001
    assert result.outcome == UNCHANGED
    assert result.reasons[0].code is Code.WITHIN_LIMIT
    assert "significant" in texts(result)[0] and "within 5.0%" in texts(result)[0]


def test_slowdown_over_threshold_without_significance_is_unchanged():
    base = [1.0, 1.3, 0.9, 1.2, 1.1]
    cand = [1.25, 0.95, 1.35, 1.15, 1.2]  # median +9 %, but the samples overlap
    result = verdict(entry(base), entry(cand))
    assert result.change.latency_ratio > 1.05
    assert result.outcome == UNCHANGED
    assert "not significant" in texts(result)[0]


def test_significant_slowdown_over_threshold_regresses():
    result = verdict(entry(BASE), entry(scaled(BASE, 1.10)))
    assert result.outcome == REGRESSED
    assert result.reasons[0].code is Code.SLOWER and result.reasons[0].limit == 0.05
    assert texts(result)[0].startswith("latency +10.0%, 99% CI [")
    assert "slower beyond 5.0%" in texts(result)[0]


def test_regression_interval_holds_the_planted_ratio():
    result = verdict(entry(BASE), entry(scaled(BASE, 1.10)))
    assert result.effect.low < 1.10 < result.effect.high
    assert result.effect.low > 1.0


def test_significant_speedup_beyond_threshold_is_improved_and_passes():
    result = verdict(entry(BASE), entry(scaled(BASE, 0.8)))
    assert result.outcome == IMPROVED
    assert not result.fails(Thresholds())


def test_improved_fails_only_with_fail_on_speedup():
    result = verdict(entry(BASE), entry(scaled(BASE, 0.8)), fail_on_speedup=True)
    assert result.outcome == IMPROVED
    assert result.fails(Thresholds(fail_on_speedup=True))
    assert "update the baseline" in texts(result)[0]


def test_memory_growth_above_threshold_regresses():
    result = verdict(entry(BASE, memory=1000), entry(BASE, memory=1150))
    assert result.outcome == REGRESSED
    assert texts(result)[0] == ("torch_reserved memory +15.0% (0.000 -> 0.000 GiB; > 10.0%;"
                                 " noise unknown: no per-call peaks)")


def test_memory_growth_below_threshold_is_unchanged():
    assert verdict(entry(BASE, memory=1000), entry(BASE, memory=1050)).outcome == UNCHANGED


def test_candidate_out_of_memory_regresses():
    result = verdict(entry(BASE), entry([], status="oom"))
    assert result.outcome == REGRESSED
    assert texts(result) == ["status ok -> oom"]
    assert result.reasons[0].code is Code.STATUS_FAILED


def test_missing_raw_data_is_inconclusive_and_fails_unless_allowed():
    result = verdict(entry(BASE, raw=False), entry(scaled(BASE, 2.0), raw=False))
    assert result.outcome == INCONCLUSIVE
    assert "no raw data" in texts(result)[0]
    assert result.fails(Thresholds())
    assert not result.fails(Thresholds(allow_inconclusive=True))


def test_three_calls_against_three_cannot_act_on_six_configs_and_fail():
    # One-sided 3 vs 3 can reach p = 1/20 at best; Holm over 6 configs at alpha 0.01 needs
    # 0.01 / 6 = 0.0017, which takes 6 calls a side (1/924).
    base = [entry([1.0, 1.01, 1.02], key=f"c{i}") for i in range(6)]
    cand = [entry([2.0, 2.01, 2.02], key=f"c{i}") for i in range(6)]
    verdicts = gate(results(*base), results(*cand), Thresholds())
    assert {v.outcome for v in verdicts} == {INCONCLUSIVE}
    assert "too few samples" in texts(verdicts[0])[1]
    assert "need >= 6 calls per side" in texts(verdicts[0])[1]
    assert exit_code(verdicts, Thresholds()) == 1
    assert exit_code(verdicts, Thresholds(allow_inconclusive=True)) == 0


def test_three_calls_against_three_regress_at_alpha_5_percent_for_one_config():
    result = verdict(entry([1.0, 1.01, 1.02]), entry([2.0, 2.01, 2.02]), alpha=0.05)
    assert result.outcome == REGRESSED
    assert result.p_adjusted == pytest.approx(0.05)


def test_holm_correction_keeps_a_marginal_config_from_failing_among_many():
    # 6 vs 6 with two crossed pairs: U = 34 of 36, one-sided p = 4/924 = 0.0043. Alone
    # that is below alpha 0.01; among 6 configs Holm multiplies it by 6.
    base, cand = [1.0, 1.01, 1.02, 1.03, 1.04, 1.215], [1.2, 1.21, 1.22, 1.23, 1.24, 1.25]
    marginal = Comparison("x", two_sample_effect(base, cand))
    quiet = [Comparison(f"q{i}", two_sample_effect(BASE, BASE)) for i in range(5)]
    assert marginal.effect.p_slower == pytest.approx(4 / 924)
    assert decide([marginal], Thresholds())[0].outcome == REGRESSED
    among = decide([marginal, *quiet], Thresholds())[0]
    assert among.outcome == UNCHANGED
    assert among.p_adjusted == pytest.approx(6 * 4 / 924)


def test_a_config_the_candidate_lost_fails_by_default():
    baseline = results(entry(BASE, key="a"), entry(BASE, key="b"))
    candidate = results(entry(BASE, key="a"))
    verdicts = gate(baseline, candidate, Thresholds())
    assert [(v.key, v.outcome) for v in verdicts] == [("a", UNCHANGED), ("b", MISSING)]
    assert texts(verdicts[1]) == ["missing in candidate"]
    assert exit_code(verdicts, Thresholds()) == 1
    assert exit_code(verdicts, Thresholds(allow_missing=True)) == 0


def test_a_config_new_in_the_candidate_fails_only_with_require_all():
    baseline = results(entry(BASE, key="a"))
    candidate = results(entry(BASE, key="a"), entry(BASE, key="b"))
    verdicts = gate(baseline, candidate, Thresholds())
    assert texts(verdicts[1]) == ["missing in baseline"]
    assert exit_code(verdicts, Thresholds()) == 0
    assert exit_code(verdicts, Thresholds(require_all=True)) == 1


def test_sides_without_a_shared_config_are_a_usage_error():
    with pytest.raises(UsageError, match="nothing to compare: .* share no config"):
        gate(results(entry(BASE, key="a")), results(entry(BASE, key="b")), Thresholds())


def test_several_runs_per_side_use_one_median_per_run():
    base = [results(entry(scaled(BASE, f))) for f in (1.0, 1.02, 0.99, 1.01, 1.0, 0.98)]
    cand = [results(entry(scaled(BASE, f))) for f in (1.2, 1.21, 1.19, 1.22, 1.2, 1.18)]
    [result] = gate(base, cand, Thresholds())
    assert result.effect.samples == PER_RUN
    assert (result.effect.n_base, result.effect.n_cand) == (6, 6)
    assert result.outcome == REGRESSED


def test_between_run_drift_shared_by_calls_is_no_regression_with_several_runs():
    # Every call of a run shares its drift: the per-call test sees one run 6 % slower
    # than the other and calls it significant; across runs the drift is noise.
    drifts_a, drifts_b = (1.0, 1.06, 0.97, 1.03, 0.99, 1.01), (1.06, 0.98, 1.02, 1.0, 1.04, 0.97)
    base = [results(entry(scaled(BASE, f))) for f in drifts_a]
    cand = [results(entry(scaled(BASE, f))) for f in drifts_b]
    [trusting] = gate(base[0], cand[0], Thresholds(run_cv=0.0))
    [single] = gate(base[0], cand[0], Thresholds())
    [several] = gate(base, cand, Thresholds())
    assert trusting.effect.samples == PER_CALL and trusting.outcome == REGRESSED
    assert single.outcome == UNCHANGED  # the assumed run-to-run drift explains 6 %
    assert several.outcome == UNCHANGED


def test_paired_runs_judge_the_ratio_within_each_pair():
    # Drift common to both runs of a pair cancels in their ratio.
    drifts = (1.0, 1.3, 0.8, 1.1, 0.9, 1.2, 1.05, 0.95)
    pairs = [(results(entry(scaled(BASE, d))), results(entry(scaled(BASE, d * 1.1))))
             for d in drifts]
    [result] = ab_gate(pairs, Thresholds())
    assert result.outcome == REGRESSED
    assert result.effect.ratio == pytest.approx(1.1)
    assert result.effect.n_cand == 8


def test_paired_identical_runs_are_unchanged():
    noise = (1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 1.01, 0.99)
    pairs = [(results(entry(BASE)), results(entry(scaled(BASE, n)))) for n in noise]
    [result] = ab_gate(pairs, Thresholds())
    assert result.outcome == UNCHANGED


def test_too_few_pairs_are_inconclusive():
    pairs = [(results(entry(BASE)), results(entry(scaled(BASE, 2.0)))) for _ in range(4)]
    [result] = ab_gate(pairs, Thresholds())
    assert result.outcome == INCONCLUSIVE
    assert "need >= 7 pairs" in texts(result)[1]


def test_paired_effect_of_constant_ratio_has_a_point_interval():
    effect = paired_effect([1.2] * 7)
    assert effect.ratio == pytest.approx(1.2)
    assert effect.low == pytest.approx(1.2) and effect.high == pytest.approx(1.2)
    assert effect.p_slower == pytest.approx(1 / 128)


def test_differing_call_arguments_are_named_next_to_the_verdict():
    base = typed.entry("cfg", latencies=BASE, median_s=1.0, guidance_scale=1.0, seed=0)
    cand = typed.entry("cfg", latencies=BASE, median_s=1.0, guidance_scale=5.0, seed=0)
    [result] = gate(results(base), results(cand), Thresholds())
    assert result.outcome == UNCHANGED
    assert texts(result)[-1] == "note: guidance_scale 1.0 -> 5.0"
    assert result.reasons[-1].code is Code.ARGUMENT_DIFFERS


def test_compare_results_still_reports_the_median_ratio():
    change = compare_results(entry(BASE).result, entry(scaled(BASE, 1.1)).result)
    assert change.latency_ratio == pytest.approx(1.1)


def test_paired_runs_of_two_models_match_with_the_model_left_out():
    def run(model, factor):
        return results(typed.entry(f"t2i bs1 {model}", latencies=scaled(BASE, factor),
                                   median_s=factor, model=model, key_any_model="t2i bs1 A/B"))

    pairs = [(run("small", 1.0), run("big", 1.5)) for _ in range(7)]
    [result] = ab_gate(pairs, Thresholds())
    assert result.key == "t2i bs1 A/B"
    assert result.outcome == REGRESSED


def test_plain_gate_does_not_match_different_models():
    a = typed.entry("t2i bs1 small", latencies=BASE, median_s=1.0, model="small",
                    key_any_model="t2i bs1 A/B")
    b = typed.entry("t2i bs1 big", latencies=BASE, median_s=1.0, model="big",
                    key_any_model="t2i bs1 A/B")
    with pytest.raises(UsageError, match="nothing to compare"):
        gate(results(a), results(b), Thresholds())


def test_one_run_per_side_does_not_call_a_change_within_run_drift_a_regression():
    result = verdict(entry(BASE), entry(scaled(BASE, 1.20)), run_cv=0.10)
    assert result.effect.p_slower < 0.001  # the calls alone would say "slower"
    assert result.outcome == UNCHANGED
    assert result.reasons[0].code is Code.WITHIN_DRIFT
    assert "within what drift between two runs explains" in texts(result)[0]


def test_one_run_per_side_still_fails_a_change_beyond_run_drift():
    result = verdict(entry(BASE), entry(scaled(BASE, 2.0)), run_cv=0.10)
    assert result.outcome == REGRESSED


BUSY = ("the machine was busy (load 3.5 on 2 cores)",)


def unstable(latencies, reasons=BUSY, **fields):
    return entry(latencies, unstable=reasons, **fields)


def test_a_change_beyond_run_drift_from_an_unstable_run_is_inconclusive_and_says_why():
    result = verdict(entry(BASE), unstable(scaled(BASE, 2.0)), run_cv=0.10)
    assert result.outcome == INCONCLUSIVE
    assert "not judged: the measurement was unstable (candidate: the machine was busy" \
        in texts(result)[0]
    assert "--rounds or sdxl-bench ab" in texts(result)[0]


def test_a_speedup_from_an_unstable_baseline_is_not_claimed_either():
    result = verdict(unstable(scaled(BASE, 2.0)), entry(BASE), run_cv=0.10)
    assert result.outcome == INCONCLUSIVE


def test_an_unstable_run_still_fails_on_memory():
    result = verdict(entry(BASE), unstable(scaled(BASE, 2.0), memory=2000), run_cv=0.10)
    assert result.outcome == REGRESSED
    assert any("not judged" in reason for reason in texts(result))


def test_an_unchanged_verdict_from_an_unstable_run_stays_unchanged():
    result = verdict(entry(BASE), unstable(BASE), run_cv=0.10)
    assert result.outcome == UNCHANGED


def test_run_cv_zero_trusts_the_calls_of_an_unstable_run():
    result = verdict(entry(BASE), unstable(scaled(BASE, 2.0)), run_cv=0.0)
    assert result.outcome == REGRESSED


def six_runs(factor, name, make=entry):
    """Six runs of one config, each scaled by ``factor`` and a little run-to-run drift."""
    return [results(make(scaled(BASE, factor * f)), name=f"{name}{i}")
            for i, f in enumerate((1.0, 1.01, 0.99, 1.0, 1.02, 0.98))]


def test_instability_of_one_run_does_not_hold_back_several_runs_per_side():
    base, cand = six_runs(1.0, "b"), six_runs(2.0, "c", make=unstable)
    [result] = gate(base, cand, Thresholds(run_cv=0.10))
    assert result.outcome == REGRESSED


def test_several_runs_per_side_are_not_held_to_the_assumed_run_drift():
    base, cand = six_runs(1.0, "b"), six_runs(1.2, "c")
    [result] = gate(base, cand, Thresholds(run_cv=0.10))
    assert result.effect.samples == PER_RUN
    assert result.outcome == REGRESSED


def test_drift_bound_grows_with_the_assumed_run_cv_and_the_configs_compared():
    from bench.analyse.gate import drift_bound

    assert drift_bound(Thresholds(run_cv=0.0), 6) == 1.0
    assert 1.3 < drift_bound(Thresholds(run_cv=0.10), 1) < drift_bound(Thresholds(run_cv=0.10), 6)
    assert drift_bound(Thresholds(run_cv=0.05), 6) < drift_bound(Thresholds(run_cv=0.10), 6)


def test_a_run_file_stability_mark_reaches_the_gate(tmp_path):
    from bench.store.result_files import load_results
    from tests.support.fakeruns import record, write_run

    busy = {"unstable": list(BUSY)}
    base = load_results(write_run(tmp_path / "a.jsonl", [record(BASE)]))
    cand = load_results(write_run(tmp_path / "b.jsonl",
                                  [record(scaled(BASE, 2.0), stability=busy)]))
    assert cand.entries[0].result.unstable == BUSY and base.entries[0].result.unstable == ()
    [result] = gate(base, cand, Thresholds(run_cv=0.10))
    assert result.outcome == INCONCLUSIVE


def test_several_baseline_runs_against_one_candidate_run_use_one_median_per_run():
    # Pooling the calls of three runs against those of one counts drift as signal: each
    # run is one sample, and 3 against 1 can never reach alpha, so it says so.
    base = [results(entry(scaled(BASE, f)), name=f"b{i}") for i, f in enumerate((1, 1.01, 0.99))]
    [result] = gate(base, results(entry(scaled(BASE, 1.2))), Thresholds(run_cv=0.0))
    assert result.effect.samples == PER_RUN
    assert (result.effect.n_base, result.effect.n_cand) == (3, 1)
    assert result.outcome == INCONCLUSIVE
    assert result.reasons[-1].code is Code.TOO_FEW_SAMPLES


def test_one_baseline_run_against_several_candidate_runs_use_one_median_per_run():
    cand = [results(entry(scaled(BASE, f)), name=f"c{i}") for i, f in enumerate((1, 1.01))]
    [result] = gate(results(entry(BASE)), cand, Thresholds())
    assert (result.effect.samples, result.effect.n_base, result.effect.n_cand) == (PER_RUN, 1, 2)


def test_a_memory_regression_fails_when_the_latency_change_is_within_drift():
    result = verdict(entry(BASE), entry(scaled(BASE, 1.2), memory=2000), run_cv=0.10)
    assert result.outcome == REGRESSED
    assert [r.code for r in result.reasons[:2]] == [Code.MEMORY_GREW, Code.WITHIN_DRIFT]


def test_a_candidate_whose_images_broke_regressed_even_when_faster():
    result = verdict(entry(BASE), entry(scaled(BASE, 0.5), nan_images=2))
    assert result.outcome == REGRESSED
    assert result.reasons[0].code is Code.IMAGES_BROKEN
    assert texts(result)[0].startswith("images broken in the candidate (2 NaN; none in the baseline)")


def test_images_broken_on_both_sides_are_no_news_to_the_gate():
    result = verdict(entry(BASE, black_images=1), entry(BASE, black_images=1))
    assert result.outcome == UNCHANGED
