"""Gate against history: Student's t, the variance of the difference, the verdicts."""

import math
import random
from dataclasses import replace

import pytest

from bench.analyse.gate import (
    INCONCLUSIVE,
    MISSING,
    REGRESSED,
    UNCHANGED,
    Code,
    Samples,
    Thresholds,
    difference_variance,
    gate_history,
    history_effect,
)
from bench.errors import UsageError
from bench.present.verdicts import reason_texts, samples_text
from bench.stats import median
from bench.stats.distributions import t_quantile, t_sf
from bench.store.history import open_store
from bench.store.result_files import load_results
from tests.support import results as typed
from tests.support.history_runs import write_history_run, write_series


def run_result(median_s, calls=()):
    """One run's result with median latency ``median_s``: its ``calls`` scaled to have
    that median."""
    if calls:
        centre = median(calls)
        calls = [c * median_s / centre for c in calls]
    return typed.result(calls, median_s=median_s)


def samples(medians, calls=()):
    return [run_result(m, calls) for m in medians]


def test_one_candidate_run_is_the_classic_prediction_interval():
    base = samples([1.00, 1.02, 0.98, 1.01, 0.99])
    cand = samples([1.10])
    effect = history_effect(base, cand, confidence=0.99)
    logs = [math.log(r.median_s) for r in base]
    mean = sum(logs) / 5
    s = math.sqrt(sum((x - mean) ** 2 for x in logs) / 4)
    t = (math.log(1.10) - mean) / (s * math.sqrt(1 + 1 / 5))
    assert effect.p_slower == pytest.approx(t_sf(t, 4))
    assert effect.ratio == pytest.approx(1.10 / math.exp(mean))
    half = t_quantile(0.995, 4) * s * math.sqrt(1.2)
    assert effect.low == pytest.approx(effect.ratio * math.exp(-half))
    assert (effect.n_base, effect.n_cand, effect.min_p) == (5, 1, 0.0)
    assert effect.samples is Samples.HISTORY and effect.df == pytest.approx(4)
    assert samples_text(effect) == "history runs (t, df 4)"


def test_candidate_runs_pool_with_the_baseline_when_their_calls_match():
    calls = [1.0] * 5
    base = [run_result(m, calls) for m in (1.0, 1.02, 0.98, 1.01)]
    cand = [run_result(m, calls) for m in (1.1, 1.12, 1.08)]
    variance = difference_variance(base, cand)
    assert variance.df == pytest.approx(4 + 3 - 2)


def test_within_run_spread_is_a_floor_and_adjusts_for_other_call_counts():
    rng = random.Random(1)

    def run(median, n, cv):
        return run_result(median, [median * math.exp(rng.gauss(0, cv)) for _ in range(n)])

    # identical medians (no spread between runs) but noisy calls: the floor applies
    base = [run(1.0, 10, 0.05) for _ in range(5)]
    floored = difference_variance(base, [base[0]])
    assert floored.floored and floored.value > 0
    # a candidate with fewer calls has a noisier median: more variance, other df
    spread = [run(m, 10, 0.05) for m in (0.97, 1.0, 1.03, 1.01, 0.99)]
    same = difference_variance(spread, [run(1.0, 10, 0.05)])
    fewer = difference_variance(spread, [run(1.0, 3, 0.05)])
    assert fewer.value > same.value and fewer.df != same.df


def test_fewer_than_two_baseline_runs_cannot_be_judged():
    with pytest.raises(ValueError):
        difference_variance(samples([1.0]), samples([1.0]))


def history(tmp_path, factors, seed=0, **kwargs):
    runs = write_series(tmp_path / "runs", factors, run_cv=0.02, seed=seed, **kwargs)
    with open_store(tmp_path / "h.sqlite", create=True) as store:
        for path in runs:
            store.add(path)
        return store.rows()


def candidate(tmp_path, name, factor, index=90, seed=9, **kwargs):
    rng = random.Random(seed)
    path = write_history_run(tmp_path / name, index, factor=factor, drift=rng.gauss(0, 0.02),
                             rng=rng, **kwargs)
    return load_results(path)


def test_a_clear_slowdown_regresses_and_an_identical_candidate_passes(tmp_path):
    rows = history(tmp_path, [1.0] * 10)
    slow = gate_history(rows, [candidate(tmp_path, "slow.jsonl", 1.25)], Thresholds(), last=5)
    assert [v.outcome for v in slow.verdicts] == [REGRESSED, REGRESSED]
    assert len({r.run.id for r in slow.baseline}) == 5  # the last 5 runs
    assert all("flags slowdowns beyond" in " ".join(reason_texts(v)) for v in slow.verdicts)
    same = gate_history(rows, [candidate(tmp_path, "same.jsonl", 1.0)], Thresholds(), last=5)
    assert [v.outcome for v in same.verdicts] == [UNCHANGED, UNCHANGED]


def test_history_too_noisy_to_catch_a_doubling_is_inconclusive_not_unchanged(tmp_path):
    runs = write_series(tmp_path / "runs", [1.0, 2.2, 0.7, 1.8, 0.8], run_cv=0.0, seed=3)
    with open_store(tmp_path / "h.sqlite", create=True) as store:
        for path in runs:
            store.add(path)
        rows = store.rows()
    result = gate_history(rows, [candidate(tmp_path, "c.jsonl", 1.0)], Thresholds(), last=5)
    assert [v.outcome for v in result.verdicts] == [INCONCLUSIVE, INCONCLUSIVE]
    assert "even a 2x slowdown would pass" in reason_texts(result.verdicts[0])[0]


def test_one_baseline_run_is_inconclusive_and_a_new_config_is_missing(tmp_path):
    rows = history(tmp_path, [1.0], layouts=((1, 1),))
    result = gate_history(rows, [candidate(tmp_path, "c.jsonl", 1.0)], Thresholds(), last=5)
    outcomes = {v.key.split()[1]: v for v in result.verdicts}
    assert outcomes["bs1"].outcome == INCONCLUSIVE
    assert "needs >= 2" in reason_texts(outcomes["bs1"])[0]
    assert outcomes["bs2"].outcome == MISSING
    assert reason_texts(outcomes["bs2"]) == ["not in the history of this machine"]
    assert outcomes["bs2"].reasons[0].code is Code.NOT_IN_HISTORY


def test_a_config_that_ran_out_of_memory_regressed(tmp_path):
    rows = history(tmp_path, [1.0] * 5)
    result = gate_history(rows, [candidate(tmp_path, "oom.jsonl", 1.0, status="oom")],
                          Thresholds(), last=5)
    assert all(v.outcome == REGRESSED and "status ok -> oom" in reason_texts(v)[0]
               for v in result.verdicts)


def test_more_memory_regressed(tmp_path):
    rows = history(tmp_path, [1.0] * 5)
    result = gate_history(rows, [candidate(tmp_path, "mem.jsonl", 1.0, memory=2 * 2**30)],
                          Thresholds(), last=5)
    assert all(v.outcome == REGRESSED and "memory +100.0%" in " ".join(reason_texts(v))
               for v in result.verdicts)


def test_a_step_inside_the_baseline_window_is_noted(tmp_path):
    rows = history(tmp_path, [1.0] * 12 + [1.3] * 8)
    result = gate_history(rows, [candidate(tmp_path, "c.jsonl", 1.3)], Thresholds(), last=15)
    assert all("--last 8 gates against the runs after it" in " ".join(reason_texts(v))
               for v in result.verdicts)


def test_nothing_shared_is_a_usage_error_and_a_window_needs_two_runs(tmp_path):
    rows = history(tmp_path, [1.0] * 3, layouts=((4, 1),))
    with pytest.raises(UsageError, match="nothing to compare"):
        gate_history(rows, [candidate(tmp_path, "c.jsonl", 1.0)], Thresholds(), last=3)
    with pytest.raises(ValueError, match="needs >= 2 runs"):
        gate_history(rows, [candidate(tmp_path, "c.jsonl", 1.0)], Thresholds(), last=1)


def test_stored_runs_need_no_per_call_times(tmp_path):
    rows = history(tmp_path, [1.0] * 6)
    stripped = [replace(r, result=r.result.replace(latency=replace(r.result.latency, values=())))
                for r in rows]
    result = gate_history(stripped, [candidate(tmp_path, "c.jsonl", 1.4)], Thresholds(), last=6)
    assert [v.outcome for v in result.verdicts] == [REGRESSED, REGRESSED]




def test_round_medians_are_stored_as_such_and_judged_on_run_medians(tmp_path):
    rows = history(tmp_path, [1.0] * 6)
    assert {r.result.sample for r in rows} == {"calls"}
    rounds = candidate(tmp_path, "rounds.jsonl", 1.5, sample="round medians")
    assert {e.result.sample for e in rounds.entries} == {"round medians"}
    result = gate_history(rows, [rounds], Thresholds(), last=6)
    assert [v.outcome for v in result.verdicts] == [REGRESSED, REGRESSED]
    with open_store(tmp_path / "h.sqlite", create=True) as store:
        store.add(rounds.path)
        assert {r.result.sample for r in store.rows()
                if r.run.source == str(rounds.path)} == {"round medians"}


def test_the_baseline_is_the_history_before_the_candidate_and_never_the_candidate(tmp_path):
    from bench.analyse.gate import history_before

    rows = history(tmp_path, [1.0] * 6)
    stored = load_results(tmp_path / "runs" / "run003.jsonl")  # the 4th run, already stored
    before = history_before(rows, [stored])
    assert {r.run.source for r in before} == {str(tmp_path / "runs" / f"run00{i}.jsonl")
                                             for i in range(3)}
    fresh = candidate(tmp_path, "new.jsonl", 1.0, index=90)  # after every stored run
    assert len(history_before(rows, [fresh])) == len(rows)


def test_candidates_of_two_machines_are_refused(tmp_path):
    from bench.analyse.gate import candidate_machine

    cpu = candidate(tmp_path, "cpu.jsonl", 1.0)
    gpu = candidate(tmp_path, "gpu.jsonl", 1.0, device="NVIDIA L4", host="gpu-1")
    assert candidate_machine([cpu]).host == "runner-1"
    with pytest.raises(UsageError, match="come from 2 machines"):
        candidate_machine([cpu, gpu])


def test_one_outlying_run_in_the_window_does_not_block_later_verdicts(tmp_path):
    factors = [1.0] * 10
    factors[4] = 3.0  # a runner hiccup: one run 3x slower, in the middle of the window
    rows = history(tmp_path, factors)
    same = gate_history(rows, [candidate(tmp_path, "same.jsonl", 1.0)], Thresholds(), last=10)
    assert [v.outcome for v in same.verdicts] == [UNCHANGED, UNCHANGED]
    for verdict in same.verdicts:
        assert verdict.effect.n_base == 9
        assert any(r.code is Code.OUTLYING_RUNS for r in verdict.reasons)
        note = [t for t in reason_texts(verdict) if "outlying" in t][0]
        assert "left out 1 outlying run(s) of 10" in note and "+2" in note  # about +200 %
    slow = gate_history(rows, [candidate(tmp_path, "slow.jsonl", 1.25)], Thresholds(), last=10)
    assert [v.outcome for v in slow.verdicts] == [REGRESSED, REGRESSED]


def test_a_window_without_an_outlying_run_keeps_every_run(tmp_path):
    rows = history(tmp_path, [1.0] * 10, seed=4)
    result = gate_history(rows, [candidate(tmp_path, "c.jsonl", 1.0)], Thresholds(), last=10)
    assert all(v.effect.n_base == 10 for v in result.verdicts)
    assert not any(r.code is Code.OUTLYING_RUNS for v in result.verdicts for r in v.reasons)


def test_a_history_that_drifts_is_said_to_drift(tmp_path):
    rows = history(tmp_path, [1.01 ** i for i in range(30)])  # +1 % a run, 2 % run noise
    result = gate_history(rows, [candidate(tmp_path, "c.jsonl", 1.01 ** 30)], Thresholds(),
                          last=10)
    for verdict in result.verdicts:
        drift = [r for r in verdict.reasons if r.code is Code.WINDOW_DRIFT]
        assert drift, reason_texts(verdict)
        assert 1.005 < drift[0].drift.rate < 1.015
        assert "the history drifts +1." in " ".join(reason_texts(verdict))
        assert not any(r.code is Code.WINDOW_STEP for r in verdict.reasons)


def test_a_candidate_whose_argument_is_unset_where_the_history_has_a_value_is_missing(tmp_path):
    runs = write_series(tmp_path / "runs", [1.0] * 4, run_cv=0.02, seed=1,
                        arguments={"strength": 0.5})
    runs.append(write_history_run(tmp_path / "runs" / "none.jsonl", 20,
                                  arguments={"strength": None}))
    with open_store(tmp_path / "h.sqlite", create=True) as store:
        for path in runs:
            store.add(path)
        rows = store.rows()
    cand = candidate(tmp_path, "c.jsonl", 1.0, arguments={"strength": 0.8})
    result = gate_history(rows, [cand], Thresholds(), last=5)
    assert {v.outcome for v in result.verdicts} == {MISSING}
    assert reason_texts(result.verdicts[0]) == [
        "not in the history of this machine with strength 0.8 (stored: strength 0.5;"
        " strength None)"]
