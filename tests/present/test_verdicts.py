"""Gate verdicts in words: every reason code has its sentence, and the report says PASS or
FAIL with the failing configs, in the words of the gate that judged them."""

import pytest

from bench.analyse.gate import Code, Outcome, Samples, Thresholds, Verdict, gate
from bench.analyse.gate.effects import Effect
from bench.analyse.gate.reasons import (
    ArgumentReason,
    CountReason,
    ImagesReason,
    LatencyReason,
    MemoryReason,
    OutlyingRuns,
    PowerReason,
    ReachReason,
    Reason,
    SeriesReason,
    SideStatus,
    StatusReason,
    WindowDrift,
    WindowStep,
)
from bench.analyse.memory import PER_CALL_SPREAD, MemoryChange
from bench.present.verdicts import AB_SIDES, reason_text, samples_text, verdict_report
from bench.result import Status
from bench.stats.changepoint import Drift, Step
from bench.store.history import Machine, StoredRun
from tests.support import results as typed

EFFECT = Effect(ratio=1.1, low=1.05, high=1.15, confidence=0.99, p_slower=0.001,
                p_faster=0.999, min_p=0.0001, samples=Samples.PER_RUN, n_base=6, n_cand=6)
CHANGE = MemoryChange("process_rss", 2**30, 1.2 * 2**30, 2**20, PER_CALL_SPREAD, (1, 1), 0.10)
RUN = StoredRun(1, "d", "r", "2026-01-01", "a" * 40, None, Machine("m", "box"), {}, None)
STEP = Step(index=3, before=1.0, after=1.2, ratio=1.2, low=1.1, high=1.3, z=5.0, n_before=3,
            n_after=3)
FAILED = SideStatus(Status.OOM, 1, 1)
OK = SideStatus(Status.OK, 0, 1)


def example(code):
    """A reason of ``code`` with plausible numbers."""
    if code in (Code.SLOWER, Code.FASTER, Code.LATENCY, Code.WITHIN_LIMIT, Code.NOT_SIGNIFICANT,
                Code.WITHIN_DRIFT, Code.UNSTABLE):
        return LatencyReason(code, EFFECT, p=0.001, limit=0.05, drift=1.4, run_cv=0.1,
                             unstable=(("candidate", ("busy",)),))
    if code is Code.TOO_FEW_SAMPLES:
        return PowerReason(code, EFFECT, 0.01, 6, 6)
    if code in (Code.STATUS_FAILED, Code.STATUS_RECOVERED, Code.NOT_MEASURED):
        return StatusReason(code, FAILED if code is not Code.STATUS_FAILED else OK, FAILED)
    if code in (Code.MEMORY_GREW, Code.MEMORY_WITHIN_NOISE):
        return MemoryReason(code, CHANGE)
    if code is Code.ARGUMENT_DIFFERS:
        return ArgumentReason(code, "seed", 0, 1)
    if code is Code.FEW_BASELINE_RUNS:
        return CountReason(code, 1, 2)
    if code is Code.WINDOW_STEP:
        return WindowStep(code, STEP, RUN, 3)
    if code in (Code.REACH, Code.BLIND):
        return ReachReason(code, 2.5, limit=0.05, ratio=2.0)
    if code is Code.IMAGES_BROKEN:
        return ImagesReason(code, nan=1, black=2, runs=1, of=1)
    if code is Code.WINDOW_DRIFT:
        return WindowDrift(code, Drift(0, 20, 1.01, 1.005, 1.015, 6.0), RUN, 10)
    if code is Code.OUTLYING_RUNS:
        return OutlyingRuns(code, (RUN,), (3.0,), 10, 0.01)
    if code is Code.NOT_IN_SERIES:
        return SeriesReason(code, "guidance_scale 1.0", ("guidance_scale 5.0",))
    return Reason(code)


@pytest.mark.parametrize("code", list(Code))
def test_every_reason_code_has_a_sentence_of_its_own(code):
    text = reason_text(example(code))
    assert text and "\n" not in text
    others = {reason_text(example(c)) for c in Code if c is not code}
    assert text not in others


def test_latency_reasons_state_the_change_and_its_interval_first():
    text = reason_text(example(Code.SLOWER))
    assert text == "latency +10.0%, 99% CI [+5.0%, +15.0%]: slower beyond 5.0% (Holm p=0.001)"


def test_status_of_some_runs_says_how_many():
    reason = StatusReason(Code.STATUS_FAILED, OK, SideStatus(Status.ERROR, 2, 3))
    assert reason_text(reason) == "status ok -> error in 2 of 3 runs"


def test_history_samples_name_the_degrees_of_freedom():
    history = Effect(1.0, 0.9, 1.1, 0.99, 0.5, 0.5, 0.0, Samples.HISTORY, 5, 1, df=4.0, se=0.01)
    assert samples_text(history) == "history runs (t, df 4)"


def test_ab_names_its_sides_a_and_b():
    missing = Verdict("cfg", Outcome.MISSING, (Reason(Code.MISSING_IN_CANDIDATE),))
    assert "missing in B (candidate)" in verdict_report([missing], Thresholds(), "ab", AB_SIDES)
    assert "missing in candidate" in verdict_report([missing], Thresholds(), "gate")


def test_a_failing_report_names_the_failing_configs_once_and_what_to_do():
    base = typed.result_set(typed.entry("a", latencies=[1.0, 1.01, 1.02]),
                            typed.entry("b", latencies=[1.0, 1.01, 1.02]))
    slow = typed.result_set(typed.entry("a", latencies=[1.0, 1.01, 1.02]),
                            typed.entry("b", latencies=[2.0, 2.01, 2.02]))
    verdicts = gate(base, slow, Thresholds())
    report = verdict_report(verdicts, Thresholds(), "heading")
    assert report.startswith("heading\n| config ")
    failed = report.split("FAIL: 2 of 2 config(s) failed (2 inconclusive):")[1]
    assert failed.startswith(" a (inconclusive), b (inconclusive)\n")
    assert failed.rstrip().endswith("or pass --allow-inconclusive")
    assert report.count("| a ") == 1 and report.count("| b ") == 1  # one table, one row each
    assert "understate the noise between runs" in report


def test_a_passing_report_counts_its_outcomes():
    base = typed.result_set(typed.entry("a", latencies=[1.0, 1.01, 1.02] * 3))
    verdicts = gate(base, base, Thresholds(run_cv=0.0))
    report = verdict_report(verdicts, Thresholds(), "heading")
    assert report.endswith("PASS: no regression in 1 config(s) (1 unchanged)")


def test_long_reasons_are_listed_under_the_table_wrapped_not_in_its_cells():
    base = typed.result_set(typed.entry("a", latencies=[1.0, 1.01, 1.02] * 3,
                                        memory={"process_rss": 1000}))
    why = tuple(f"the calls spread by {10 + i}% (CV above 10%)" for i in range(8))
    slow = typed.result_set(typed.entry("a", latencies=[2.0, 2.01, 2.02] * 3,
                                        memory={"process_rss": 3000}, unstable=why))
    [verdict] = gate(base, slow, Thresholds())
    assert len("; ".join(reason_text(r) for r in verdict.reasons)) > 500  # long sentences
    report = verdict_report([verdict], Thresholds(), "heading")
    row = next(line for line in report.splitlines() if line.startswith("| a "))
    assert row.rstrip(" |").endswith("| memory grew; unstable")
    assert max(len(line) for line in report.splitlines() if not line.startswith("|")) <= 100
    assert "  - process_rss memory +200.0%" in report
