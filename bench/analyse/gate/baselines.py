"""Baselines: what the candidate is judged against, and how each kind estimates an effect.

- ``RunsBaseline``: baseline runs and candidate runs (``gate``). Per config, samples
  best first: the per-round medians of ``--rounds`` runs (each round a fresh process, so
  they carry the noise between runs; pooled over the runs of a side); with several runs
  on either side, one value per run (its median latency) — calls inside one process share
  that process's drift and are not independent samples, so pooling the calls of three
  runs against those of one would count drift as signal; with one run per side, the
  per-call times (the verdict rules then allow for an assumed run-to-run drift).
- ``PairsBaseline``: interleaved A/B pairs (``ab``): one ratio of run medians per pair.
  When the sides ran different models and so share no key, configs match with the model
  left out (shown as "A/B").
- ``HistoryBaseline``: the last K stored runs of the candidate's machine (``gate
  --history``), judged by Student's t on run medians (``effects.history_effect``). The
  rules that choose those runs live here too: the machine of the candidates, the runs
  before them, not the candidates themselves, the window of the last K that measured the
  config with the candidate's call arguments (its series).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from bench.analyse.gate.effects import (
    MIN_BASELINE_RUNS,
    OUTLIER_ALPHA,
    Samples,
    history_effect,
    history_outliers,
    paired_effect,
    run_median,
    two_sample_effect,
)
from bench.analyse.gate.judge import Estimate, Matched, Matching, Verdict, judge
from bench.analyse.gate.reasons import (
    Code,
    CountReason,
    OutlyingRuns,
    Reason,
    SeriesReason,
    WindowDrift,
    WindowStep,
)
from bench.analyse.gate.thresholds import Thresholds
from bench.analyse.trends import within_run_floor
from bench.errors import UsageError
from bench.result import ROUND_MEDIANS, ConfigResult
from bench.stats.changepoint import MIN_SIZE, detect
from bench.stats.summary import mean
from bench.store.history import (
    Arguments,
    Machine,
    ResultRow,
    machine_of,
    run_digest,
    series_arguments,
    series_marks,
    unstorable,
)
from bench.store.result_files import Entry, ResultSet


def _key(entry: Entry, any_model: bool) -> str:
    return (entry.key_any_model or entry.key) if any_model else entry.key


def results_by_key(sets: Sequence[ResultSet], any_model: bool = False
                   ) -> dict[str, list[ConfigResult]]:
    """key -> its result in each set that has it (a resumed run's repeat keeps the last)."""
    found: dict[str, list[ConfigResult]] = {}
    for result_set in sets:
        for key, entry in {_key(e, any_model): e for e in result_set.entries}.items():
            found.setdefault(key, []).append(entry.result)
    return found


def _names(sets: Sequence[ResultSet]) -> str:
    return ", ".join(str(s.path) for s in sets)


def nothing_shared(base: dict, cand: dict, base_sets: Sequence[ResultSet],
                   cand_sets: Sequence[ResultSet]) -> str:
    def some(keys):
        listed = ", ".join(list(keys)[:3])
        return f"{listed}, ..." if len(keys) > 3 else listed or "none"

    return (
        f"nothing to compare: the baseline ({_names(base_sets)}) and the candidate"
        f" ({_names(cand_sets)}) share no config (baseline has {some(base)};"
        f" candidate has {some(cand)})"
    )


def _two_sided(base: dict[str, list[ConfigResult]], cand: dict[str, list[ConfigResult]]
               ) -> Matching:
    """Baseline order first, then the candidate's new configs; missing on either side."""
    order = (*base, *(k for k in cand if k not in base))
    missing = {k: Reason(Code.MISSING_IN_CANDIDATE if k not in cand else Code.MISSING_IN_BASELINE)
               for k in order if k not in cand or k not in base}
    matched = tuple(Matched(k, tuple(base[k]), tuple(cand[k])) for k in order if k not in missing)
    return Matching(order, matched, missing)


def _unstable_sides(base: Sequence[ConfigResult], cand: Sequence[ConfigResult]
                    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The sides with a run its own stability check distrusts, with why (each reason
    once, over every run of the side)."""
    sides = []
    for name, results in (("baseline", base), ("candidate", cand)):
        why = tuple(dict.fromkeys(reason for r in results for reason in r.unstable))
        if why:
            sides.append((name, why))
    return tuple(sides)


def runs_estimate(base: Sequence[ConfigResult], cand: Sequence[ConfigResult],
                  thresholds: Thresholds) -> Estimate:
    """The effect from runs on each side, on the best samples they hold (module docstring)."""
    confidence = thresholds.confidence
    rounds = [r.sample == ROUND_MEDIANS and len(r.latency_values) >= 2 for r in (*base, *cand)]
    several = len(base) >= 2 or len(cand) >= 2  # then one sample per run, on both sides
    if all(rounds):  # between-process samples already: no drift bound needed
        old = [v for r in base for v in r.latency_values]
        new = [v for r in cand for v in r.latency_values]
        return Estimate(two_sample_effect(old, new, confidence, Samples.PER_ROUND))
    if any(rounds) and not several:
        return Estimate(untestable=Reason(Code.MIXED_SAMPLES))
    if several:
        old, new = [run_median(r) for r in base], [run_median(r) for r in cand]
        if None in old or None in new:
            return Estimate(untestable=Reason(Code.NO_LATENCY))
        return Estimate(two_sample_effect(old, new, confidence, Samples.PER_RUN))
    old = [v for r in base for v in r.latency_values]
    new = [v for r in cand for v in r.latency_values]
    if not old or not new:
        return Estimate(untestable=Reason(Code.NO_RAW_DATA))
    return Estimate(two_sample_effect(old, new, confidence, Samples.PER_CALL),
                    unstable=_unstable_sides(base, cand))


@dataclass(frozen=True)
class RunsBaseline:
    """Baseline runs against candidate runs, matched by config key."""

    baseline: Sequence[ResultSet]
    candidate: Sequence[ResultSet]

    def matching(self) -> Matching:
        base, cand = results_by_key(self.baseline), results_by_key(self.candidate)
        if not set(base) & set(cand):
            raise UsageError(nothing_shared(base, cand, self.baseline, self.candidate))
        return _two_sided(base, cand)

    def estimate(self, matched: Matched, thresholds: Thresholds) -> Estimate:
        return runs_estimate(matched.base, matched.cand, thresholds)


@dataclass(frozen=True)
class PairsBaseline:
    """Interleaved A/B pairs of runs: per config, one ratio of medians per pair where
    both runs measured it. Memory and status are judged over all runs of each side."""

    pairs: Sequence[tuple[ResultSet, ResultSet]]

    @cached_property
    def any_model(self) -> bool:
        """The sides share no key: they ran different models (``--a-model``/``--b-model``)."""
        base = results_by_key([a for a, _ in self.pairs])
        return not set(base) & set(results_by_key([b for _, b in self.pairs]))

    @cached_property
    def _by_pair(self) -> list[tuple[dict[str, ConfigResult], dict[str, ConfigResult]]]:
        def keyed(result_set: ResultSet) -> dict[str, ConfigResult]:
            return {_key(e, self.any_model): e.result for e in result_set.entries}

        return [(keyed(a), keyed(b)) for a, b in self.pairs]

    def matching(self) -> Matching:
        if not self.pairs:
            raise UsageError("ab needs at least one pair of runs")
        base_sets, cand_sets = [a for a, _ in self.pairs], [b for _, b in self.pairs]
        base = results_by_key(base_sets, self.any_model)
        cand = results_by_key(cand_sets, self.any_model)
        if not set(base) & set(cand):
            raise UsageError(nothing_shared(base, cand, base_sets, cand_sets))
        return _two_sided(base, cand)

    def estimate(self, matched: Matched, thresholds: Thresholds) -> Estimate:
        plain = runs_estimate(matched.base, matched.cand, thresholds)
        if plain.effect is None:
            return plain
        ratios = []
        for a, b in self._by_pair:
            ra, rb = a.get(matched.key), b.get(matched.key)
            if ra is None or rb is None:
                continue
            ma, mb = run_median(ra), run_median(rb)
            if ma and mb:
                ratios.append(mb / ma)
        if not ratios:
            return Estimate(untestable=Reason(Code.NO_PAIR))
        return Estimate(paired_effect(ratios, thresholds.confidence))


# --- history -----------------------------------------------------------------------------


def candidate_machine(candidates: Sequence[ResultSet], name: str | None = None) -> Machine:
    """The one machine the candidate runs were measured on (``name``: as ``history add
    --machine`` named it); a ``UsageError`` for pytest-benchmark files or several machines."""
    machines = {}
    for result in candidates:
        if result.run is None:
            raise UsageError(f"{result.path} is a {result.kind} file: gate --history judges"
                             " sdxl-bench run files (it needs the machine they ran on)")
        machine = machine_of(result.run.header.get("env") or {}, name)
        machines[machine.id] = machine
    if len(machines) > 1:
        listed = "; ".join(f"{m.name} [{m.id}]" for m in machines.values())
        raise UsageError(f"the candidate runs come from {len(machines)} machines ({listed}):"
                         " gate them against history one machine at a time")
    (machine,) = machines.values()
    return machine


def history_before(history: Sequence[ResultRow], candidates: Sequence[ResultSet]
                   ) -> list[ResultRow]:
    """The stored rows that may be the candidates' baseline: runs before them (re-gating
    an old candidate does not judge it against later runs), and never a candidate itself
    (one already added to the store)."""
    own = {run_digest(c.run) for c in candidates if c.run is not None and not unstorable(c.run)}
    starts = [str(c.run.header.get("started_at")) for c in candidates
              if c.run is not None and c.run.header.get("started_at")]
    before = min(starts) if len(starts) == len(candidates) else None
    return [r for r in history if r.run.digest not in own
            and (before is None or r.run.started_at < before)]


def _series(history: Sequence[ResultRow], workload: str,
            arguments: Arguments | None) -> list[ResultRow]:
    """The stored rows of one series: ``workload`` with these call arguments (any, when
    None)."""
    return [r for r in history if r.workload == workload
            and (arguments is None or r.arguments == arguments)]


def window(history: Sequence[ResultRow], workload: str, last: int,
           arguments: Arguments | None = None) -> list[ResultRow]:
    """The last ``last`` runs of ``workload`` with these call arguments (oldest first):
    those that measured it ok, or, when none did, the last runs whatever their status (so
    a status change shows)."""
    rows = _series(history, workload, arguments)
    measured = [r for r in rows if r.result.measured]
    return (measured or rows)[-last:]


def other_series(history: Sequence[ResultRow], workload: str,
                 arguments: Arguments) -> SeriesReason | None:
    """Why a workload stored only with other call arguments has no baseline: the
    arguments that differ, the candidate's and each stored series'."""
    stored = sorted({r.arguments for r in history if r.workload == workload} - {arguments},
                    key=repr)  # values may be None beside numbers
    if not stored:
        return None
    marks = series_marks([(workload, a) for a in (arguments, *stored)])
    return SeriesReason(Code.NOT_IN_SERIES, marks[(workload, arguments)],
                        tuple(marks[(workload, a)] for a in stored))


def window_notes(history: Sequence[ResultRow], workload: str, last: int,
                 arguments: Arguments | None = None) -> tuple[Reason, ...]:
    """What the series around the baseline window shows that the t test cannot: a step
    inside the window (the baseline mixes two levels: a wider interval, a shifted mean),
    or a drift running through it (a slow change the window's mean lags behind; no one
    candidate's step)."""
    series = [r for r in _series(history, workload, arguments) if r.result.measured]
    series = series[-max(3 * last, 30):]
    if len(series) < 2 * MIN_SIZE:
        return ()
    found = detect([r.result.median_s for r in series], noise_floor=within_run_floor(series))
    first = len(series) - last  # the window's first run
    notes: list[Reason] = []
    inside = [s for s in found.steps if s.index > first]
    if inside and len(series) > last:
        step = inside[-1]
        notes.append(WindowStep(Code.WINDOW_STEP, step, series[step.index].run,
                                len(series) - step.index))
    through = [d for d in found.drifts if d.end > max(first, 0)]
    if through:
        drift = through[-1]
        notes.append(WindowDrift(Code.WINDOW_DRIFT, drift, series[drift.start].run,
                                 drift.end - max(drift.start, first, 0)))
    return tuple(notes)


class HistoryBaseline:
    """The last ``last`` stored runs of each config on the candidate's machine.

    ``history``: that machine's rows, oldest first, without the candidate runs themselves
    (``history_before``)."""

    def __init__(self, history: Sequence[ResultRow], candidates: Sequence[ResultSet],
                 last: int) -> None:
        if last < MIN_BASELINE_RUNS:
            raise ValueError(f"a history window needs >= {MIN_BASELINE_RUNS} runs (the spread"
                             f" between runs), got {last}")
        self.history = tuple(history)
        self.candidates = tuple(candidates)
        self.last = last
        self.windows: dict[str, list[ResultRow]] = {}
        self.arguments: dict[str, Arguments] = {}  # the candidate's series, per config

    def matching(self) -> Matching:
        cand = results_by_key(self.candidates)
        known = {r.workload for r in self.history}
        if not known & set(cand):
            listed = ", ".join(list(cand)[:3]) + (", ..." if len(cand) > 3 else "")
            raise UsageError(f"nothing to compare: no config of the candidate ({listed}) is in"
                             f" the history of this machine ({len(known)} workload(s) stored)")
        matched, missing = [], {}
        for key, results in cand.items():
            arguments = self.arguments[key] = series_arguments(results[-1])
            rows = self.windows[key] = window(self.history, key, self.last, arguments)
            if rows:
                matched.append(Matched(key, tuple(r.result for r in rows), tuple(results)))
            else:
                missing[key] = (other_series(self.history, key, arguments)
                                or Reason(Code.NOT_IN_HISTORY))
        return Matching(tuple(cand), tuple(matched), missing)

    def estimate(self, matched: Matched, thresholds: Thresholds) -> Estimate:
        if not all(r.measured for r in matched.base):
            plain = runs_estimate(matched.base, matched.cand, thresholds)
            if plain.effect is None:
                return plain
        kinds = {r.sample for r in (*matched.base, *matched.cand)}
        spread = len(kinds) == 1
        rows = self.windows.get(matched.key) or [None] * len(matched.base)
        kept = [(row, r) for row, r in zip(rows, matched.base, strict=True)
                if (run_median(r) or 0) > 0]
        base = [r for _, r in kept]
        cand = [r for r in matched.cand if (run_median(r) or 0) > 0]
        notes = window_notes(self.history, matched.key, self.last, self.arguments.get(matched.key))
        if len(base) < MIN_BASELINE_RUNS or not cand:
            why = (CountReason(Code.FEW_BASELINE_RUNS, len(base), MIN_BASELINE_RUNS) if cand
                   else Reason(Code.NO_CANDIDATE_LATENCY))
            return Estimate(untestable=why, notes=notes)
        outliers = history_outliers(base, spread=spread)
        if outliers and all(kept[i][0] is not None for i in outliers):
            rest = [r for i, r in enumerate(base) if i not in outliers]
            centre = math.exp(mean([math.log(run_median(r)) for r in rest]))
            notes += (OutlyingRuns(Code.OUTLYING_RUNS, tuple(kept[i][0].run for i in outliers),
                                   tuple(run_median(base[i]) / centre for i in outliers),
                                   len(base), OUTLIER_ALPHA),)
            base = rest
        effect = history_effect(base, cand, thresholds.confidence, spread=spread)
        if effect is None:
            return Estimate(untestable=Reason(Code.NO_SPREAD), notes=notes)
        return Estimate(effect, notes=notes)

    def used(self) -> tuple[ResultRow, ...]:
        """Every stored result the windows hold, oldest run first (after ``matching``)."""
        unique = {r.run.id: r for rows in self.windows.values() for r in rows}
        return tuple(sorted(unique.values(), key=lambda r: (r.run.started_at, r.run.id)))


# --- the three gates ---------------------------------------------------------------------


def _as_sets(sets: ResultSet | Sequence[ResultSet]) -> list[ResultSet]:
    return [sets] if isinstance(sets, ResultSet) else list(sets)


def gate(baseline: ResultSet | Sequence[ResultSet], candidate: ResultSet | Sequence[ResultSet],
         thresholds: Thresholds) -> list[Verdict]:
    """One verdict per config found on either side, baseline order first. Several result
    sets per side are several runs. ``UsageError`` when the sides share no config."""
    return judge(RunsBaseline(_as_sets(baseline), _as_sets(candidate)), thresholds)


def ab_gate(pairs: Sequence[tuple[ResultSet, ResultSet]], thresholds: Thresholds
            ) -> list[Verdict]:
    """Verdicts from interleaved A/B runs, judged on the ratio within each pair."""
    return judge(PairsBaseline(list(pairs)), thresholds)


@dataclass(frozen=True)
class HistoryVerdicts:
    verdicts: list[Verdict]
    baseline: tuple[ResultRow, ...]  # every stored result the verdicts used, oldest first
    ignored: int  # workloads of the history that the candidate did not measure


def gate_history(history: Sequence[ResultRow], candidates: Sequence[ResultSet],
                 thresholds: Thresholds, last: int) -> HistoryVerdicts:
    """Verdicts for every config of the candidate runs against the last ``last`` stored
    runs of the same machine (``history``: that machine's rows before the candidates,
    oldest first; ``history_before``)."""
    baseline = HistoryBaseline(history, candidates, last)
    verdicts = judge(baseline, thresholds)
    measured = {v.key for v in verdicts}
    return HistoryVerdicts(verdicts, baseline.used(),
                           len({r.workload for r in history} - measured))
