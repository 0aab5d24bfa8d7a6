"""The one gate skeleton: per config, screen status and memory, estimate the latency
effect the baseline's way, then decide every config together.

The verdict rules (docs/statistics.md has the reasoning):

- **regressed**: significantly slower (one-sided test, Holm-corrected over the configs
  judged together, p <= alpha) *and* the estimated slowdown beyond ``max_slowdown``; or
  a peak-memory view of the process grew beyond ``max_memory_increase`` and beyond its
  own noise (``analyse.memory``); or the config went from ok to oom/error; or its images
  came out NaN or black where the baseline's did not.
- **improved**: significantly faster and the speedup beyond the same threshold.
- **unchanged**: neither, by a test that *could* have fired at these sample sizes.
- **inconclusive**: the test could not fire (even perfectly separated samples of these
  sizes give a corrected p above alpha; a history whose spread hides a 2x slowdown), or
  there is nothing to test. It fails the gate unless ``allow_inconclusive``: a gate that
  cannot fail is no gate.

One run per side: the per-call times are the samples, and calls of one process share its
drift; a change counts only beyond what an assumed run-to-run drift (``run_cv``) explains,
and not at all from a run whose own stability check distrusts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bench.analyse.compare import Change, compare_results
from bench.analyse.gate.effects import Effect, Samples, drift_bound, samples_needed
from bench.analyse.gate.reasons import (
    ArgumentReason,
    Code,
    ImagesReason,
    LatencyReason,
    MemoryReason,
    Outcome,
    PowerReason,
    ReachReason,
    Reason,
    SideStatus,
    StatusReason,
)
from bench.analyse.gate.thresholds import Thresholds
from bench.analyse.memory import MemoryChange, memory_changes
from bench.result import ConfigResult
from bench.stats.multiple import holm

# A gate that could not flag even this slowdown was blind, not reassured: "unchanged"
# would be a claim the data cannot back, so such a verdict is inconclusive.
BLIND_RATIO = 2.0

Sides = tuple[tuple[str, tuple[str, ...]], ...]  # (side, why its stability check distrusts it)


# --- what a baseline gives the skeleton ------------------------------------------------


@dataclass(frozen=True)
class Matched:
    """One config found on both sides: its result in every baseline and candidate run."""

    key: str
    base: tuple[ConfigResult, ...]
    cand: tuple[ConfigResult, ...]


@dataclass(frozen=True)
class Matching:
    """The configs to judge in verdict order, those found on both sides, and why each
    other one is missing."""

    order: tuple[str, ...]
    matched: tuple[Matched, ...]
    missing: Mapping[str, Reason]


@dataclass(frozen=True)
class Estimate:
    """A config's latency effect, or why there is none to test."""

    effect: Effect | None = None
    untestable: Reason | None = None
    notes: tuple[Reason, ...] = ()
    unstable: Sides = ()  # per-call samples: the sides whose stability check distrusts them


class Baseline(Protocol):
    """Where the baseline comes from (runs, pairs, history): it matches the candidate's
    configs and estimates each one's effect its own way (``baselines``)."""

    def matching(self) -> Matching: ...

    def estimate(self, matched: Matched, thresholds: Thresholds) -> Estimate: ...


# --- one config --------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One config found on both sides, before the verdicts are drawn jointly."""

    key: str
    effect: Effect | None = None  # None: nothing to test (no raw times, or status)
    failures: tuple[Reason, ...] = ()  # regressions decided without statistics
    notes: tuple[Reason, ...] = ()
    untestable: Reason | None = None  # why there is no effect, when that is inconclusive
    speedup: Reason | None = None  # a status that went from failing to ok
    change: Change | None = None
    memory: tuple[MemoryChange, ...] = ()  # every judged memory view, regressed or not
    unstable: Sides = ()


@dataclass(frozen=True)
class Verdict:
    key: str
    outcome: Outcome
    reasons: tuple[Reason, ...]
    change: Change | None = None
    effect: Effect | None = None
    p_adjusted: float | None = None  # Holm-adjusted one-sided p in the verdict's direction
    memory: tuple[MemoryChange, ...] = ()  # the memory views judged, with their noise

    def fails(self, thresholds: Thresholds) -> bool:
        if self.outcome is Outcome.REGRESSED:
            return True
        if self.outcome is Outcome.IMPROVED:
            return thresholds.fail_on_speedup
        if self.outcome is Outcome.INCONCLUSIVE:
            return not thresholds.allow_inconclusive
        if self.outcome is Outcome.MISSING:  # a config the baseline has is gone: fails
            gone = any(r.code is Code.MISSING_IN_CANDIDATE for r in self.reasons)
            return thresholds.require_all or (gone and not thresholds.allow_missing)
        return False


def _side(results: Sequence[ConfigResult]) -> SideStatus:
    failing = [r.status for r in results if not r.ok]
    return SideStatus(failing[0] if failing else results[0].status, len(failing), len(results))


def _memory(base: Sequence[ConfigResult], cand: Sequence[ConfigResult], limit: float
            ) -> tuple[tuple[MemoryChange, ...], tuple[Reason, ...], tuple[Reason, ...]]:
    """(changes, failures, notes): a failure needs the increase beyond ``limit`` and
    beyond the noise identical measurements showed (``analyse.memory``)."""
    changes, device_wide = memory_changes(base, cand, limit)
    failures = tuple(MemoryReason(Code.MEMORY_GREW, c) for c in changes if c.regressed)
    notes = [Reason(Code.DEVICE_WIDE_MEMORY)] if device_wide else []
    notes += [MemoryReason(Code.MEMORY_WITHIN_NOISE, c) for c in changes
              if c.above_limit and not c.regressed]
    return tuple(changes), failures, tuple(notes)


def _broken_images(base: Sequence[ConfigResult], cand: Sequence[ConfigResult]
                   ) -> tuple[Reason, ...]:
    """A failure when the candidate's images came out NaN or black and the baseline's did
    not: a faster call that makes unusable images is no improvement."""
    broken = [r for r in cand if r.broken_images]
    if not broken or any(r.broken_images for r in base):
        return ()
    return (ImagesReason(Code.IMAGES_BROKEN, sum(r.nan_images or 0 for r in broken),
                         sum(r.black_images or 0 for r in broken), len(broken), len(cand)),)


def compare(matched: Matched, baseline: Baseline, thresholds: Thresholds) -> Comparison:
    """One config: status first (a failing side needs no statistics), then memory and
    the call arguments, then the baseline's estimate of the latency effect."""
    key, base, cand = matched.key, matched.base, matched.cand
    change = compare_results(base[-1], cand[-1])
    old, new = _side(base), _side(cand)
    if old.failing or new.failing:
        status = StatusReason(Code.STATUS_FAILED, old, new)
        if not old.failing:
            return Comparison(key, failures=(status,), change=change)
        if not new.failing:
            return Comparison(key, speedup=replace(status, code=Code.STATUS_RECOVERED),
                              change=change)
        return Comparison(key, notes=(replace(status, code=Code.NOT_MEASURED),), change=change)
    memory, failures, memory_notes = _memory(base, cand, thresholds.max_memory_increase)
    failures = (*_broken_images(base, cand), *failures)
    arguments = tuple(ArgumentReason(Code.ARGUMENT_DIFFERS, name, a, b)
                      for name, a, b in change.arguments())
    estimate = baseline.estimate(matched, thresholds)
    return Comparison(key, estimate.effect, failures,
                      (*arguments, *memory_notes, *estimate.notes), estimate.untestable,
                      change=change, memory=memory, unstable=estimate.unstable)


# --- every config together ----------------------------------------------------------------


def power_shortfall(effect: Effect, alpha: float, m: int) -> PowerReason | None:
    """Why these samples can never be significant, or None when they can.

    Holm's first step compares the smallest p with alpha / m; if even perfectly separated
    samples cannot get below it, no verdict other than "unchanged" is possible.
    """
    level = alpha / max(m, 1)
    if effect.min_p <= level:
        return None
    return PowerReason(Code.TOO_FEW_SAMPLES, effect, alpha, m, samples_needed(effect.samples, level))


def decide(comparisons: Sequence[Comparison], thresholds: Thresholds) -> list[Verdict]:
    """Verdicts for configs judged together: Holm over the tested ones, then the rules.
    An effect with a standard error (history) also says the smallest slowdown it could
    flag, and an "unchanged" that could not have flagged ``BLIND_RATIO`` is inconclusive."""
    tested = [c for c in comparisons if c.effect is not None]
    m = len(tested)
    slower = holm([c.effect.p_slower for c in tested])
    faster = holm([c.effect.p_faster for c in tested])
    adjusted = {c.key: (s, f) for c, s, f in zip(tested, slower, faster, strict=True)}
    verdicts = []
    for c in comparisons:
        reach = None if c.effect is None else c.effect.detectable(thresholds.alpha, m)
        if reach is not None:
            c = replace(c, notes=(*c.notes, ReachReason(Code.REACH, reach,
                                                        limit=thresholds.max_slowdown)))
        verdict = replace(_verdict(c, adjusted.get(c.key), m, thresholds), memory=c.memory)
        if reach is not None and reach > BLIND_RATIO and verdict.outcome is Outcome.UNCHANGED:
            blind = ReachReason(Code.BLIND, reach, ratio=BLIND_RATIO)
            verdict = replace(verdict, outcome=Outcome.INCONCLUSIVE,
                              reasons=(blind, *verdict.reasons))
        verdicts.append(verdict)
    return verdicts


def _verdict(
    c: Comparison, adjusted: tuple[float, float] | None, m: int, thresholds: Thresholds
) -> Verdict:
    notes = c.notes
    effect = c.effect
    if effect is None:
        if c.failures:
            return Verdict(c.key, Outcome.REGRESSED, (*c.failures, *notes), c.change)
        if c.speedup:
            return Verdict(c.key, Outcome.IMPROVED, (c.speedup, *notes), c.change)
        if c.untestable:
            return Verdict(c.key, Outcome.INCONCLUSIVE, (c.untestable, *notes), c.change)
        return Verdict(c.key, Outcome.UNCHANGED, notes, c.change)
    p_slower, p_faster = adjusted
    alpha, limit = thresholds.alpha, thresholds.max_slowdown
    p_either = min(p_slower, p_faster)
    drift = drift_bound(thresholds, m) if effect.samples is Samples.PER_CALL else 1.0
    slower = p_slower <= alpha and effect.ratio > 1 + limit
    faster = p_faster <= alpha and effect.ratio < thresholds.faster_ratio
    fires = (slower and effect.ratio > drift) or (faster and effect.ratio < 1 / drift)
    distrusted = effect.samples is Samples.PER_CALL and thresholds.run_cv > 0 and c.unstable

    def verdict(outcome: Outcome, reasons: tuple[Reason, ...], p: float) -> Verdict:
        return Verdict(c.key, outcome, reasons, c.change, effect, p)

    if distrusted and fires:
        why = LatencyReason(Code.UNSTABLE, effect, unstable=c.unstable)
        outcome = Outcome.REGRESSED if c.failures else Outcome.INCONCLUSIVE
        return verdict(outcome, (*c.failures, why, *notes), p_either)
    if slower and effect.ratio > drift:
        why = LatencyReason(Code.SLOWER, effect, p=p_slower, limit=limit)
        return verdict(Outcome.REGRESSED, (why, *c.failures, *notes), p_slower)
    if slower:  # within drift: the latency alone does not fail, a memory regression does
        why = LatencyReason(Code.WITHIN_DRIFT, effect, drift=drift, run_cv=thresholds.run_cv)
        if c.failures:
            return verdict(Outcome.REGRESSED, (*c.failures, why, *notes), p_slower)
        return verdict(Outcome.UNCHANGED, (why, *notes), p_slower)
    if c.failures:
        latency = LatencyReason(Code.LATENCY, effect)
        return verdict(Outcome.REGRESSED, (*c.failures, latency, *notes), p_slower)
    if faster and effect.ratio < 1 / drift:
        why = LatencyReason(Code.FASTER, effect, p=p_faster, limit=limit,
                            fail_on_speedup=thresholds.fail_on_speedup)
        return verdict(Outcome.IMPROVED, (why, *notes), p_faster)
    shortfall = power_shortfall(effect, alpha, m)
    if shortfall:
        latency = LatencyReason(Code.LATENCY, effect)
        return verdict(Outcome.INCONCLUSIVE, (latency, shortfall, *notes), p_either)
    code = Code.WITHIN_LIMIT if p_slower <= alpha or p_faster <= alpha else Code.NOT_SIGNIFICANT
    why = LatencyReason(code, effect, p=p_either, limit=limit)
    return verdict(Outcome.UNCHANGED, (why, *notes), p_either)


def judge(baseline: Baseline, thresholds: Thresholds) -> list[Verdict]:
    """One verdict per config of the baseline's matching, in its order."""
    matching = baseline.matching()
    comparisons = [compare(m, baseline, thresholds) for m in matching.matched]
    decided = {v.key: v for v in decide(comparisons, thresholds)}
    return [decided[k] if k in decided else Verdict(k, Outcome.MISSING, (matching.missing[k],))
            for k in matching.order]


def exit_code(verdicts: Sequence[Verdict], thresholds: Thresholds) -> int:
    """0 when nothing failed, 1 otherwise."""
    return 1 if any(v.fails(thresholds) for v in verdicts) else 0
