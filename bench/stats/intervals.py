"""Distribution-free intervals of a median, and what follows from them (throughput).

Small samples are the normal case, so intervals come from order statistics (valid
whatever the distribution) and say the coverage they really have.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    """A confidence interval and the coverage it really has (order statistics give
    discrete coverages, so ``confidence`` can exceed what was asked for)."""

    low: float
    high: float
    confidence: float
    n: int

    def overlaps(self, other: Interval) -> bool:
        return self.low <= other.high and other.low <= self.high

    def text(self, digits: int = 3) -> str:
        return f"[{self.low:.{digits}g}, {self.high:.{digits}g}]"


def _binomial_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(min(k, n) + 1)) / 2**n


def median_interval(values: Sequence[float], confidence: float = 0.95) -> Interval | None:
    """Distribution-free confidence interval for the median, from order statistics.

    The number of values below the true median is Binomial(n, 1/2) whatever the
    distribution, so [x_(k), x_(n+1-k)] covers it with probability 1 - 2 P(X <= k - 1).
    Takes the largest k whose coverage is still >= ``confidence``; None when even
    [min, max] falls short (n < 6 at 95 %): too few values for that confidence.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence {confidence} is outside (0, 1)")
    n = len(values)
    if n == 0:
        return None
    ordered = sorted(float(v) for v in values)
    best = None
    for k in range(1, n // 2 + 1):
        coverage = 1.0 - 2.0 * _binomial_half_cdf(k - 1, n)
        if coverage < confidence:
            break
        best = Interval(ordered[k - 1], ordered[n - k], coverage, n)
    return best


def range_interval(values: Sequence[float]) -> Interval | None:
    """[min, max] with its coverage of the median, 1 - 2^(1-n): the widest order-statistic
    interval, for samples too small for a 95 % one (3 values: 75 %)."""
    n = len(values)
    if n == 0:
        return None
    return Interval(float(min(values)), float(max(values)), 1.0 - 2.0 ** (1 - n), n)


def throughput_interval(latency: Interval | None, images_per_call: int) -> Interval | None:
    """Images/s interval from a median-latency interval (the ends swap: slower = fewer)."""
    if latency is None or latency.low <= 0:
        return None
    return Interval(images_per_call / latency.high, images_per_call / latency.low,
                    latency.confidence, latency.n)


def median_uncertainty(values: Sequence[float], confidence: float = 0.95) -> Interval | None:
    """The order-statistic interval of the median at ``confidence`` when the sample
    supports one, else the range [min, max] with its (lower) coverage. Small samples
    still get an honest spread instead of nothing; ``Interval.confidence`` says which."""
    return median_interval(values, confidence) or range_interval(values)
