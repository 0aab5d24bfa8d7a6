"""Change points in a series of runs: where did a workload get slower (or faster) and stay so?

Pure functions over a list of positive values in run order (median latencies, peak memory
bytes). The method (docs/history.md has the reasoning and the measured error rates):

1. Work on logs, so a step is a ratio and noise is relative.
2. Estimate the run-to-run noise robustly, as the geometric mean of two estimates, each
   the MAD of something a step hardly moves: the successive differences x[t+1] - x[t]
   (a step is one large difference among many small ones), and each value's distance to
   the median of its neighbourhood (itself and up to 2 runs either side: an outlying run
   is outvoted by its neighbours, where it would spoil two differences). Either alone is
   worse: the first breaks when a few runs are outliers, the second is less precise.
   Times sqrt(n / (n - 4)) for n runs (a MAD of few values often comes out small), and
   never below ``noise_floor``: what is known otherwise (the sampling error of a run's
   median from its own calls, ``bench.analyse.trends.within_run_floor``; 0.2 % at least,
   so a series of identical values has noise too).
3. Penalised segmentation (as asv does): split the series into segments of at least
   ``min_size`` runs minimising the sum of absolute deviations from each segment's
   median, in units of sigma, plus ``penalty`` per change point; solved exactly by
   dynamic programming. Absolute deviations (not squares) keep one outlying run from
   buying a segment of its own.
4. Keep a change point only when its step is at least ``min_z`` standard errors of the
   difference of the two neighbouring segments' medians (the weakest is dropped and the
   rest re-judged, until every one passes).

Each step reports the ratio of the medians after and before, its 95 % interval (normal
approximation, se = sigma * sqrt(pi/2 * (1/n_before + 1/n_after)): it ignores that the
split was chosen to fit, so it is somewhat narrow), and the index of the first run after
it. The defaults were chosen by simulation (``benchmarks/history_simulation.py``) to keep
false change points on flat series (Gaussian, heavy-tailed, or with outlying runs) at or
below about 0.5 % per series: a dashboard of dozens of series should rarely show a false
one.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bench.stats.distributions import normal_quantile
from bench.stats.summary import median

MIN_SIZE = 3  # runs on each side of a step before it is reported
PENALTY = 12.0  # per change point, in units of sigma (sum of absolute deviations)
MIN_Z = 4.0  # standard errors a step must reach
NOISE_FLOOR = 0.002  # smallest relative run-to-run noise assumed (0.2 %)
WINDOW = 500  # only the newest runs are searched: the exact search costs O(n^3)
CONFIDENCE = 0.95
_MAD_TO_SIGMA = 1.4826  # MAD of a normal sample times this is its standard deviation
_HALF = 2  # runs either side in the neighbourhood median
# For normal noise the median distance to the neighbourhood median is 0.49 sigma (simulated).
_NEIGHBOURHOOD_TO_SIGMA = 1 / 0.49
SMALL_SAMPLE = 4


@dataclass(frozen=True)
class Step:
    """One change point: the level moved from ``before`` to ``after`` at ``index``."""

    index: int  # first run after the step (0-based position in the series)
    before: float  # median of the segment before (original units)
    after: float  # median of the segment after
    ratio: float  # after / before
    low: float  # interval of the ratio
    high: float
    z: float  # step in standard errors
    n_before: int  # runs in the neighbouring segments
    n_after: int

    @property
    def change(self) -> float:
        """Relative change, +0.15 for 15 % higher."""
        return self.ratio - 1

    def interval_text(self) -> str:
        return f"[{self.low - 1:+.1%}, {self.high - 1:+.1%}]"


@dataclass(frozen=True)
class Detection:
    steps: tuple[Step, ...]
    sigma: float  # relative run-to-run noise used (log scale)
    segments: tuple[tuple[int, int, float], ...]  # (start, end exclusive, level) per segment
    reason: str | None = None  # why nothing could be detected (too few runs)


def noise_sigma(logs: Sequence[float], floor: float = NOISE_FLOOR) -> float:
    """Robust run-to-run standard deviation of a log series (module docstring, step 2)."""
    n = len(logs)
    if n < 3:
        return floor
    diffs = [b - a for a, b in zip(logs, logs[1:], strict=False)]
    centre = median(diffs)
    by_diffs = _MAD_TO_SIGMA * median([abs(d - centre) for d in diffs]) / math.sqrt(2)
    residuals = [abs(logs[t] - median(logs[max(0, t - _HALF):t + _HALF + 1])) for t in range(n)]
    by_neighbours = _NEIGHBOURHOOD_TO_SIGMA * median(residuals)
    small = math.sqrt(n / max(n - SMALL_SAMPLE, 1))  # a MAD of few values often runs small
    return max(floor, small * math.sqrt(by_diffs * by_neighbours))


def _segment_costs(x: Sequence[float], min_size: int) -> list[list[float]]:
    """cost[i][j - i] = sum |x_k - median(x[i:j])| for every segment of >= min_size values.

    For each start the segment grows one value at a time into a sorted list; the sum of
    absolute deviations from the median is (sum of the upper half) - (sum of the lower
    half). O(n^3) additions in C: a few milliseconds for a few hundred runs.
    """
    n = len(x)
    costs: list[list[float]] = []
    for i in range(n):
        ordered: list[float] = []
        row = [0.0]
        for j in range(i, n):
            insort(ordered, x[j])
            m = len(ordered)
            half = m // 2
            row.append(sum(ordered[m - half:]) - sum(ordered[:half]) if m >= min_size else 0.0)
        costs.append(row)
    return costs


def _segment(x: Sequence[float], costs, sigma: float, penalty: float, min_size: int) -> list[int]:
    """Optimal change points (start indices of every segment but the first)."""
    n = len(x)
    best = [math.inf] * (n + 1)
    previous = [0] * (n + 1)
    best[0] = -penalty  # the first segment is free
    for j in range(min_size, n + 1):
        for i in [0, *range(min_size, j - min_size + 1)]:
            if best[i] == math.inf:
                continue
            total = best[i] + costs[i][j - i] / sigma + penalty
            if total < best[j]:
                best[j], previous[j] = total, i
    cuts = []
    j = n
    while j > 0:
        j = previous[j]
        if j > 0:
            cuts.append(j)
    return sorted(cuts)


def _step(x: Sequence[float], bounds: Sequence[int], k: int, sigma: float) -> tuple[float, float, int, int]:
    """(difference of log medians, its standard error, n before, n after) at the k-th cut."""
    left = x[bounds[k - 1]:bounds[k]]
    right = x[bounds[k]:bounds[k + 1]]
    delta = median(right) - median(left)
    se = sigma * math.sqrt(math.pi / 2 * (1 / len(left) + 1 / len(right)))
    return delta, se, len(left), len(right)


def detect(
    values: Sequence[float],
    penalty: float = PENALTY,
    min_size: int = MIN_SIZE,
    min_z: float = MIN_Z,
    noise_floor: float = NOISE_FLOOR,
    confidence: float = CONFIDENCE,
    window: int = WINDOW,
) -> Detection:
    """Change points of a series of positive values in run order (oldest first); indices
    refer to ``values``. Only the newest ``window`` values are searched."""
    if any(not v > 0 for v in values):
        raise ValueError("change points need positive values (latencies, bytes)")
    if min_size < 1:
        raise ValueError(f"min_size must be >= 1, got {min_size}")
    skipped = max(0, len(values) - window)
    x = [math.log(v) for v in values[skipped:]]
    n = len(x)
    sigma = noise_sigma(x, noise_floor)
    if n < 2 * min_size:
        level = median(x) if x else 0.0
        segments = ((0, n, math.exp(level)),) if n else ()
        return Detection((), sigma, segments,
                         f"{n} run(s): a step needs >= {min_size} runs on each side")
    found = _detect(x, sigma, penalty, min_size, min_z, confidence)
    if not skipped:
        return found
    return Detection(
        tuple(replace(s, index=s.index + skipped) for s in found.steps), sigma,
        tuple((a + skipped, b + skipped, level) for a, b, level in found.segments),
        f"only the newest {window} of {len(values)} runs are searched")


def _detect(x: Sequence[float], sigma: float, penalty: float, min_size: int, min_z: float,
            confidence: float) -> Detection:
    n = len(x)
    cuts = _segment(x, _segment_costs(x, min_size), sigma, penalty, min_size)
    while cuts:  # drop the weakest step until every remaining one is clear of the noise
        bounds = [0, *cuts, n]
        zs = [abs(delta) / se for delta, se, _, _ in
              (_step(x, bounds, k, sigma) for k in range(1, len(bounds) - 1))]
        weakest = min(range(len(zs)), key=zs.__getitem__)
        if zs[weakest] >= min_z:
            break
        del cuts[weakest]
    bounds = [0, *cuts, n]
    z_interval = normal_quantile(0.5 + confidence / 2)
    steps = []
    for k in range(1, len(bounds) - 1):
        delta, se, n_left, n_right = _step(x, bounds, k, sigma)
        before = math.exp(median(x[bounds[k - 1]:bounds[k]]))
        steps.append(Step(
            index=bounds[k], before=before, after=before * math.exp(delta),
            ratio=math.exp(delta), low=math.exp(delta - z_interval * se),
            high=math.exp(delta + z_interval * se), z=abs(delta) / se, n_before=n_left, n_after=n_right,
        ))
    segments = tuple((bounds[k], bounds[k + 1], math.exp(median(x[bounds[k]:bounds[k + 1]])))
                     for k in range(len(bounds) - 1))
    return Detection(tuple(steps), sigma, segments)
