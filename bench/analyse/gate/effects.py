"""Effects: how much slower is the candidate, with an interval and one-sided p-values.

Three ways, one per kind of baseline (``baselines``):

- **two-sample** (``two_sample_effect``): independent samples of latencies per side —
  per-call times of one run, per-run medians of several, or per-round medians of
  ``--rounds`` runs. Exact one-sided Mann–Whitney p-values and the Hodges–Lehmann ratio
  with its Moses interval, on log latencies (ranks do not change under log; the shift
  of logs is the ratio of typical times).
- **paired** (``paired_effect``): one candidate/baseline ratio of run medians per
  interleaved pair (``ab``): exact one-sided Wilcoxon signed-rank p-values on the log
  ratios and their Hodges–Lehmann centre. Pairing cancels the drift neighbouring runs share.
- **history** (``history_effect``): the candidate's run medians against the machine's
  last K stored runs, by Student's t on the model below.

Why not ranks against history: with several runs per side they use one sample per run,
and 5 baseline medians against 1 candidate median can never reach alpha 0.01 by ranks
(the smallest one-sided p is 1/6). A run is not a bag of independent calls either: calls
of one process share its drift. So each run's median latency is modelled, on the log
scale, as

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
D / sqrt(Var) is compared with Student's t: one-sided p-values in both directions and a
two-sided (1 - alpha) interval of the ratio exp(D). With fewer than 2 baseline runs there
is no between-run spread to estimate.

What this can and cannot detect is measured by ``benchmarks/history_simulation.py``
(docs/history.md): a single candidate run carries its own drift, so at 5 % run-to-run
noise no number of baseline runs makes one candidate run show a +10 % slowdown at
alpha 0.01 reliably; several candidate runs do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from bench.analyse.gate.thresholds import Thresholds
from bench.errors import UsageError
from bench.result import ConfigResult
from bench.stats.distributions import median_variance, normal_quantile, t_quantile, t_sf
from bench.stats.outliers import outlying
from bench.stats.ranks import (
    mann_whitney_u,
    min_p_value,
    min_p_value_paired,
    paired_shift_interval,
    shift_interval,
    wilcoxon_signed_rank,
)
from bench.stats.summary import mean, median, variance

MIN_BASELINE_RUNS = 2  # history: the spread between runs needs two
OUTLIER_ALPHA = 0.01  # history: a window run is left out when this far from the others


class Samples(str, Enum):
    """What an effect's samples are."""

    PER_CALL = "per-call"  # per-call times of one run per side (they share its drift)
    PER_RUN = "per-run"  # one median per run, several runs per side
    PER_ROUND = "per-round"  # the per-round medians of --rounds runs (between processes)
    PAIRED = "paired"  # one ratio of run medians per interleaved pair
    HISTORY = "history"  # run medians against the stored history (Student's t)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Effect:
    """The latency change of one config: candidate / baseline, > 1 is slower."""

    ratio: float  # estimate of the ratio of typical latencies
    low: float | None  # confidence interval of the ratio (None: too few samples)
    high: float | None
    confidence: float
    p_slower: float  # one-sided, before correction
    p_faster: float
    min_p: float  # the smallest one-sided p these sample sizes can give
    samples: Samples
    n_base: int
    n_cand: int
    df: float | None = None  # HISTORY: Student's t degrees of freedom
    se: float | None = None  # HISTORY: standard error of the log ratio

    def detectable(self, alpha: float, m: int) -> float | None:
        """The smallest slowdown (ratio) that reaches Holm's first step alpha / m at this
        noise, for an effect with a standard error (history); None otherwise."""
        if self.se is None or self.df is None:
            return None
        return math.exp(t_quantile(1 - alpha / max(m, 1), self.df) * self.se)


def _logs(values: Sequence[float]) -> list[float]:
    if any(not v > 0 for v in values):
        raise UsageError(f"latencies must be positive to take ratios, got {min(values)!r}")
    return [math.log(v) for v in values]


def two_sample_effect(
    base: Sequence[float], cand: Sequence[float], confidence: float = 0.95,
    samples: Samples = Samples.PER_RUN,
) -> Effect:
    """Effect of ``cand`` over ``base`` from two independent samples of latencies."""
    log_base, log_cand = _logs(base), _logs(cand)
    shift = shift_interval(log_cand, log_base, confidence)
    return Effect(
        ratio=math.exp(shift.estimate),
        low=None if shift.low is None else math.exp(shift.low),
        high=None if shift.high is None else math.exp(shift.high),
        confidence=confidence,
        p_slower=mann_whitney_u(log_cand, log_base, "greater").p_value,
        p_faster=mann_whitney_u(log_cand, log_base, "less").p_value,
        min_p=min_p_value(len(base), len(cand), "greater"),
        samples=samples,
        n_base=len(base),
        n_cand=len(cand),
    )


def paired_effect(ratios: Sequence[float], confidence: float = 0.95) -> Effect:
    """Effect from paired runs: one candidate/baseline ratio of medians per pair."""
    logs = _logs(ratios)
    shift = paired_shift_interval(logs, confidence)
    return Effect(
        ratio=math.exp(shift.estimate),
        low=None if shift.low is None else math.exp(shift.low),
        high=None if shift.high is None else math.exp(shift.high),
        confidence=confidence,
        p_slower=wilcoxon_signed_rank(logs, "greater").p_value,
        p_faster=wilcoxon_signed_rank(logs, "less").p_value,
        min_p=min_p_value_paired(len(logs), "greater"),
        samples=Samples.PAIRED,
        n_base=len(logs),
        n_cand=len(logs),
    )


def samples_needed(samples: Samples, level: float) -> int:
    """Fewest samples per side (or pairs) whose most extreme outcome reaches ``level``."""
    for n in range(1, 200):
        p = (min_p_value_paired(n, "greater") if samples is Samples.PAIRED
             else min_p_value(n, n, "greater"))
        if p <= level:
            return n
    return 200


def drift_bound(thresholds: Thresholds, m: int) -> float:
    """The largest ratio two runs of identical code reach by run-to-run drift alone, at
    ``alpha`` over ``m`` configs (Bonferroni), for a drift of ``run_cv`` per run:
    exp(z · √2 · σ) with σ² = ln(1 + run_cv²). One run per side cannot tell a change
    smaller than this from drift, however many calls it timed."""
    if thresholds.run_cv <= 0:
        return 1.0
    sigma = math.sqrt(math.log1p(thresholds.run_cv**2))
    z = normal_quantile(1 - thresholds.alpha / max(m, 1))
    return math.exp(z * math.sqrt(2) * sigma)


def run_median(result: ConfigResult) -> float | None:
    """A run's median latency: of its per-call times when it has them, else as stored."""
    return median(result.latency_values) if result.latency_values else result.median_s


# --- history: Student's t on run medians ----------------------------------------------


@dataclass(frozen=True)
class Variance:
    """The estimated variance of D (log scale) and its degrees of freedom."""

    value: float
    df: float
    floored: bool  # the within-run floor was larger than the between-run estimate
    within_sd: float | None  # pooled within-run sd of log call times (None: no raw times)


def within_run_spread(runs: Sequence[Sequence[float]]) -> tuple[float, int] | None:
    """Pooled within-run variance of log call times and its degrees of freedom."""
    total, df = 0.0, 0
    for values in runs:
        if len(values) < 2:
            continue
        logs = [math.log(v) for v in values]
        centre = mean(logs)
        total += math.fsum((v - centre) ** 2 for v in logs)
        df += len(values) - 1
    return (total / df, df) if df else None


def _satterthwaite(terms: Sequence[tuple[float, float]]) -> float:
    """Effective degrees of freedom of a sum of variance terms (value, df)."""
    total = sum(value for value, _ in terms)
    denominator = sum(value * value / df for value, df in terms if value and df)
    return total * total / denominator if denominator else math.inf


def _mean_v(calls: Sequence[int]) -> float | None:
    if any(n == 0 for n in calls):
        return None
    return mean([median_variance(n) for n in calls])


def _medians(runs: Sequence[ConfigResult]) -> list[float]:
    medians = [run_median(r) for r in runs]
    if any(m is None or not m > 0 for m in medians):
        raise ValueError("every run needs a positive median latency")
    return medians


def difference_variance(base: Sequence[ConfigResult], cand: Sequence[ConfigResult],
                        spread: bool = True) -> Variance:
    """Var(D) and its degrees of freedom (module docstring); needs >= 2 baseline runs.
    ``spread``: use the runs' raw values for the within-run terms (only when every run's
    values are of one kind, per call or per round)."""
    k, c = len(base), len(cand)
    if k < MIN_BASELINE_RUNS or c < 1:
        raise ValueError(f"need >= {MIN_BASELINE_RUNS} baseline runs and a candidate")
    log_base = [math.log(m) for m in _medians(base)]
    log_cand = [math.log(m) for m in _medians(cand)]
    values = [r.latency_values if spread else () for r in (*base, *cand)]
    calls = [len(v) for v in values]
    s_base = variance(log_base)
    within = within_run_spread(values)
    v_base, v_cand = _mean_v(calls[:k]), _mean_v(calls[k:])
    terms: list[tuple[float, float]]
    if c == 1:
        terms = [(s_base * (1 + 1 / k), k - 1)]
        if within is not None and v_base is not None and v_cand is not None:
            adjust = within[0] * (v_cand - v_base)
            if abs(adjust) > 1e-15:
                terms.append((adjust, within[1]))
    else:
        s_cand = variance(log_cand)
        if len(set(calls)) == 1:
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


def history_outliers(base: Sequence[ConfigResult], alpha: float = OUTLIER_ALPHA,
                     spread: bool = True) -> tuple[int, ...]:
    """Baseline runs (indices) whose log median lies far outside the other runs' spread
    (``bench.stats.outliers``: each against the others' prediction interval, Bonferroni
    over the window), never below the sampling error of a median from the runs' own
    calls. One such run would inflate S^2 until even a 2x slowdown passed unseen, and
    shift the mean by a tenth of its excess in a window of 10."""
    logs = [math.log(m) for m in _medians(base)]
    values = [r.latency_values if spread else () for r in base]
    within, v = within_run_spread(values), _mean_v([len(v) for v in values])
    floor = math.sqrt(within[0] * v) if within is not None and v is not None else 0.0
    return outlying(logs, alpha, floor)


def history_effect(base: Sequence[ConfigResult], cand: Sequence[ConfigResult],
                   confidence: float = 0.99, spread: bool = True) -> Effect | None:
    """The candidate runs' latency change against the baseline runs (each a result with
    a positive median), or None when the variance cannot be estimated (every value
    identical and no per-call times)."""
    var = difference_variance(base, cand, spread)
    if not var.value > 0:
        return None
    d = (mean([math.log(m) for m in _medians(cand)])
         - mean([math.log(m) for m in _medians(base)]))
    se = math.sqrt(var.value)
    t = d / se
    half = t_quantile(0.5 + confidence / 2, var.df) * se
    return Effect(
        ratio=math.exp(d), low=math.exp(d - half), high=math.exp(d + half),
        confidence=confidence, p_slower=t_sf(t, var.df), p_faster=t_sf(-t, var.df),
        min_p=0.0, samples=Samples.HISTORY, n_base=len(base), n_cand=len(cand),
        df=var.df, se=se,
    )
