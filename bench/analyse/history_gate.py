"""Gate a candidate against the history of its machine: the last K runs are the baseline.

Why not the rank tests of ``bench.analyse.gate``: with several runs per side they use one
sample per run, and 5 baseline medians against 1 candidate median can never reach
alpha 0.01 by ranks (the smallest one-sided p is 1/6). A run is not a bag of independent
calls either: calls of one process share its drift. So each run's median latency is
modelled, on the log scale, as

    log median_r = mu + b_r + w_r

with b_r ~ N(0, s_b^2) the run's drift (between-run noise) and w_r the sampling error of
the median of that run's n_r calls, variance v(n_r) * s_w^2 (s_w: within-run spread of
log call times; v(n) = Var(median of n standard normals), pi / (2n) for large n).

The candidate (C runs) is compared with the baseline's mean log median:
D = mean(candidate) - mean(baseline). Its variance is estimated from the spread of the K
baseline medians themselves, S^2 (K - 1 degrees of freedom), which already holds both
noise sources at the baseline's call count:

- one candidate run: Var(D) = S^2 (1 + 1/K) + s_w^2 (v(n_cand) - v(n_base)), the classic
  prediction interval for one new run, corrected for a candidate that timed a different
  number of calls (estimated from the per-call times, pooled over every run);
- several candidate runs: the pooled variance of both sides' medians (K + C - 2 degrees
  of freedom) times (1/K + 1/C) when the runs timed the same number of calls, else
  Welch's S_b^2/K + S_c^2/C.

Degrees of freedom by Welch–Satterthwaite over the terms used (K - 1 for one candidate
run with the baseline's call count). The variance is never taken below what the
within-run spread alone implies (S^2 can come out small by chance); that floor only ever
widens the interval, so the test stays at least as conservative as the exact t test.
D / sqrt(Var) is compared with Student's t: one-sided p-values in both directions, a
two-sided (1 - alpha) interval of the ratio exp(D), Holm over configs and the verdict
rules of ``bench.analyse.gate`` (threshold, improved, unchanged). With fewer than 2
baseline runs there is no between-run spread to estimate: inconclusive.

What this can and cannot detect is measured by ``benchmarks/history_simulation.py``
(docs/history.md): a single candidate run carries its own drift, so at 5 % run-to-run
noise no number of baseline runs makes one candidate run show a +10 % slowdown at
alpha 0.01 reliably; several candidate runs do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bench.analyse.gate import (
    INCONCLUSIVE,
    MISSING,
    UNCHANGED,
    Comparison,
    Effect,
    Thresholds,
    Verdict,
    compare_runs,
    decide,
    run_median,
)
from bench.errors import UsageError
from bench.stats.changepoint import detect
from bench.stats.distributions import median_variance, t_quantile, t_sf
from bench.stats.summary import mean, variance
from bench.store.history import ResultRow
from bench.store.result import ConfigResult
from bench.store.result_files import ResultSet

HISTORY = "history runs"
MIN_BASELINE_RUNS = 2
# A gate that could not flag even this slowdown was blind, not reassured: "unchanged"
# would be a claim the data cannot back, so such a verdict is inconclusive.
BLIND_RATIO = 2.0

# --- the test --------------------------------------------------------------------------

@dataclass(frozen=True)
class RunSample:
    """One run's measurement of one config: its median and raw per-call times."""

    median_s: float
    latencies: tuple[float, ...] = ()

    @property
    def calls(self) -> int:
        return len(self.latencies)


@dataclass(frozen=True)
class Variance:
    """The estimated variance of D (log scale) and its degrees of freedom."""

    value: float
    df: float
    floored: bool  # the within-run floor was larger than the between-run estimate
    within_sd: float | None  # pooled within-run sd of log call times (None: no raw times)


def within_run_spread(runs: Sequence[RunSample]) -> tuple[float, int] | None:
    """Pooled within-run variance of log call times and its degrees of freedom."""
    total, df = 0.0, 0
    for run in runs:
        if run.calls < 2:
            continue
        logs = [math.log(v) for v in run.latencies]
        centre = mean(logs)
        total += math.fsum((v - centre) ** 2 for v in logs)
        df += run.calls - 1
    return (total / df, df) if df else None


def _satterthwaite(terms: Sequence[tuple[float, float]]) -> float:
    """Effective degrees of freedom of a sum of variance terms (value, df)."""
    total = sum(value for value, _ in terms)
    denominator = sum(value * value / df for value, df in terms if value and df)
    return total * total / denominator if denominator else math.inf


def _mean_v(runs: Sequence[RunSample]) -> float | None:
    if any(r.calls == 0 for r in runs):
        return None
    return mean([median_variance(r.calls) for r in runs])


def difference_variance(base: Sequence[RunSample], cand: Sequence[RunSample]) -> Variance:
    """Var(D) and its degrees of freedom (module docstring); needs >= 2 baseline runs."""
    k, c = len(base), len(cand)
    if k < MIN_BASELINE_RUNS or c < 1:
        raise ValueError(f"need >= {MIN_BASELINE_RUNS} baseline runs and a candidate")
    log_base = [math.log(r.median_s) for r in base]
    log_cand = [math.log(r.median_s) for r in cand]
    s_base = variance(log_base)
    within = within_run_spread([*base, *cand])
    v_base, v_cand = _mean_v(base), _mean_v(cand)
    terms: list[tuple[float, float]]
    if c == 1:
        terms = [(s_base * (1 + 1 / k), k - 1)]
        if within is not None and v_base is not None and v_cand is not None:
            adjust = within[0] * (v_cand - v_base)
            if abs(adjust) > 1e-15:
                terms.append((adjust, within[1]))
    else:
        s_cand = variance(log_cand)
        same_calls = len({r.calls for r in (*base, *cand)}) == 1
        if same_calls:
            pooled = ((k - 1) * s_base + (c - 1) * s_cand) / (k + c - 2)
            terms = [(pooled * (1 / k + 1 / c), k + c - 2)]
        else:
            terms = [(s_base / k, k - 1), (s_cand / c, c - 1)]
    value = sum(t for t, _ in terms)
    df = _satterthwaite(terms)
    if not math.isfinite(df):
        df = float(k - 1)
    floored = False
    if within is not None and v_base is not None and v_cand is not None:
        floor = within[0] * (v_cand / c + v_base / k)
        if floor > value:
            value, floored = floor, True
    return Variance(value, max(df, 1.0), floored,
                    None if within is None else math.sqrt(within[0]))


def history_effect(base: Sequence[RunSample], cand: Sequence[RunSample],
                   confidence: float = 0.99) -> Effect | None:
    """The candidate's latency change against the baseline runs, or None when the
    variance cannot be estimated (every value identical and no per-call times)."""
    variance = difference_variance(base, cand)
    if not variance.value > 0:
        return None
    d = mean([math.log(r.median_s) for r in cand]) - mean([math.log(r.median_s) for r in base])
    se = math.sqrt(variance.value)
    t = d / se
    half = t_quantile(0.5 + confidence / 2, variance.df) * se
    return Effect(
        ratio=math.exp(d), low=math.exp(d - half), high=math.exp(d + half),
        confidence=confidence, p_slower=t_sf(t, variance.df), p_faster=t_sf(-t, variance.df),
        min_p=0.0, samples=f"{HISTORY} (t, df {variance.df:.3g})",
        n_base=len(base), n_cand=len(cand),
    )


def detectable_slowdown(base: Sequence[RunSample], cand: Sequence[RunSample], alpha: float,
                        m: int) -> float:
    """The smallest slowdown (ratio) that reaches Holm's first step alpha / m at this noise:
    what the gate can see, said next to an "unchanged" verdict."""
    variance = difference_variance(base, cand)
    return math.exp(t_quantile(1 - alpha / max(m, 1), variance.df) * math.sqrt(variance.value))


# --- the gate ------------------------------------------------------------------------


def _sample(result: ConfigResult, spread: bool = True) -> RunSample | None:
    """The run's median, with its raw values when ``spread`` (they feed the within-run
    terms: only when every run's values are of one kind, per call or per round)."""
    median = run_median(result)
    if median is None or not median > 0:
        return None
    return RunSample(median, result.latency_values if spread else ())


def baseline_rows(history: Sequence[ResultRow], workload: str, last: int) -> list[ResultRow]:
    """The last ``last`` runs of ``workload`` (oldest first): those that measured it ok,
    or, when none did, the last runs whatever their status (so a status change shows)."""
    rows = [r for r in history if r.workload == workload]
    ok = [r for r in rows if r.result.measured]
    return (ok or rows)[-last:]


def _window_note(history: Sequence[ResultRow], workload: str, last: int) -> str | None:
    """A note when a change point of this workload's series lies inside the baseline
    window: the baseline then mixes two levels (wider interval, shifted mean)."""
    series = [r for r in history if r.workload == workload and r.result.measured][-max(3 * last, 30):]
    if len(series) <= last:
        return None
    steps = detect([r.result.median_s for r in series]).steps
    inside = [s for s in steps if s.index > len(series) - last]
    if not inside:
        return None
    step = inside[-1]
    after = len(series) - step.index
    return (f"note: the baseline window holds a step of {step.change:+.1%} at"
            f" {series[step.index].run.revision}: it mixes two levels; --last {after} gates"
            " against the runs after it")


@dataclass(frozen=True)
class HistoryVerdicts:
    verdicts: list[Verdict]
    baseline: tuple[ResultRow, ...]  # every stored result the verdicts used, oldest first
    ignored: int  # workloads of the history that the candidate did not measure


def _blind(verdict: Verdict, reach: float | None) -> Verdict:
    """An "unchanged" that could not have caught a 2x slowdown becomes inconclusive."""
    if reach is None or verdict.outcome != UNCHANGED:
        return verdict
    why = (f"the runs spread so widely that even a {BLIND_RATIO:g}x slowdown would pass (only"
           f" slowdowns beyond {reach - 1:+.0%} are flagged): add runs to the history (--last),"
           " measure the candidate more than once, or use a quieter machine")
    return replace(verdict, outcome=INCONCLUSIVE, reasons=(why, *verdict.reasons))


def gate_history(history: Sequence[ResultRow], candidates: Sequence[ResultSet],
                 thresholds: Thresholds, last: int) -> HistoryVerdicts:
    """Verdicts for every config of the candidate runs against the last ``last`` stored
    runs of the same machine (``history``: that machine's rows, oldest first, without the
    candidate runs themselves)."""
    if last < MIN_BASELINE_RUNS:
        raise UsageError(f"--last must be >= {MIN_BASELINE_RUNS} (the spread between runs"
                         f" needs at least two), got {last}")
    cand: dict[str, list[ConfigResult]] = {}
    for result_set in candidates:
        for key, entry in {e.key: e for e in result_set.entries}.items():
            cand.setdefault(key, []).append(entry.result)
    known = {r.workload for r in history}
    if not known & set(cand):
        listed = ", ".join(list(cand)[:3]) + (", ..." if len(cand) > 3 else "")
        raise UsageError(f"nothing to compare: no config of the candidate ({listed}) is in"
                         f" the history of this machine ({len(known)} workload(s) stored)")
    comparisons: list[Comparison] = []
    missing: dict[str, str] = {}
    used: list[ResultRow] = []
    samples: dict[str, tuple[list[RunSample], list[RunSample]]] = {}
    confidence = 1 - thresholds.alpha
    for key, entries in cand.items():
        rows = baseline_rows(history, key, last)
        if not rows:
            missing[key] = "not in the history of this machine"
            continue
        used.extend(rows)
        plain = compare_runs(key, [r.result for r in rows], entries, thresholds)
        if plain.effect is None and (plain.failures or plain.speedup
                                     or not all(r.result.measured for r in rows)):
            comparisons.append(plain)
            continue
        kinds = {r.result.sample for r in rows} | {e.sample for e in entries}
        base = [s for s in (_sample(r.result, len(kinds) == 1) for r in rows) if s is not None]
        new = [s for s in (_sample(e, len(kinds) == 1) for e in entries) if s is not None]
        notes = tuple(n for n in (*plain.notes, _window_note(history, key, last)) if n)
        if len(base) < MIN_BASELINE_RUNS or not new:
            why = (f"{len(base)} baseline run(s) of this config on this machine: the spread"
                   f" between runs needs >= {MIN_BASELINE_RUNS}; add more runs to the history"
                   if new else "no latency in the candidate")
            comparisons.append(Comparison(key, failures=plain.failures, notes=notes,
                                          untestable=why, change=plain.change,
                                          memory=plain.memory))
            continue
        effect = history_effect(base, new, confidence)
        if effect is None:
            comparisons.append(Comparison(key, failures=plain.failures, notes=notes,
                                          untestable="no spread to estimate (identical values,"
                                                     " no per-call times)", change=plain.change,
                                          memory=plain.memory))
            continue
        samples[key] = (base, new)
        comparisons.append(Comparison(key, effect, plain.failures, notes, change=plain.change,
                                      memory=plain.memory))
    m = sum(c.effect is not None for c in comparisons)
    with_reach = []
    blind: dict[str, float] = {}
    for c in comparisons:
        if c.effect is not None:
            reach = detectable_slowdown(*samples[c.key], thresholds.alpha, m)
            if reach > BLIND_RATIO:
                blind[c.key] = reach
            c = replace(c, notes=(*c.notes, f"at this noise the gate flags slowdowns beyond"
                                            f" {max(reach, 1 + thresholds.max_slowdown) - 1:+.1%}"))
        with_reach.append(c)
    decided = {v.key: _blind(v, blind.get(v.key)) for v in decide(with_reach, thresholds)}
    verdicts = [decided[k] if k in decided else Verdict(k, MISSING, (missing[k],)) for k in cand]
    unique = {r.run.id: r for r in used}
    return HistoryVerdicts(verdicts, tuple(sorted(unique.values(),
                                                  key=lambda r: (r.run.started_at, r.run.id))),
                           len(known - set(cand)))
