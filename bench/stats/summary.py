"""Summaries of raw samples: the median, mean and variance every module uses, and the
latency summary stored in run files. Pure functions, standard library only.

One tuple of field names (``FIELDS``) drives what every summary holds, so the run file,
the tables and the reports always agree on the set of statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

FIELDS = ("median", "mean", "p90", "p99", "min", "max", "stdev", "n")


def median(values: Sequence[float]) -> float:
    """The middle value, or the mean of the middle two (``ValueError`` when empty)."""
    if not values:
        raise ValueError("median of an empty sequence")
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean, summed exactly (``math.fsum``)."""
    if not values:
        raise ValueError("mean of an empty sequence")
    return math.fsum(values) / len(values)


def variance(values: Sequence[float]) -> float:
    """Sample variance (n - 1); 0.0 for a single value."""
    n = len(values)
    if n < 2:
        return 0.0
    centre = mean(values)
    return math.fsum((v - centre) ** 2 for v in values) / (n - 1)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default method), q in [0, 100]."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q={q} is outside [0, 100]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    lower = math.floor(position)
    upper = math.ceil(position)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def stdev(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1); 0.0 for a single value."""
    return math.sqrt(variance(values))


def summarize(values: Sequence[float]) -> dict:
    """Every statistic in ``FIELDS`` plus the raw ``values``, as stored in run files."""
    if not values:
        raise ValueError("cannot summarize an empty sequence")
    values = [float(v) for v in values]
    return {
        "median": percentile(values, 50),
        "mean": math.fsum(values) / len(values),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
        "stdev": stdev(values),
        "n": len(values),
        "values": values,
    }


# Smallest sample for a percentile to be more than the largest value seen: p90 needs at
# least one call above it (n >= 10), p99 at least one in a hundred (n >= 100).
def min_samples_for(q: float) -> int:
    """Fewest values for which percentile ``q`` is estimated rather than the maximum.

    With fewer than 1 / (1 - q/100) values, no value lies above the q-th percentile on
    average, so "p99 of 3 calls" is just the slowest call under another name.
    """
    if not 0.0 <= q < 100.0:
        raise ValueError(f"percentile q={q} must be in [0, 100)")
    if q <= 50.0:
        return 1
    return max(1, math.ceil(1.0 / (1.0 - q / 100.0) - 1e-9))


def supported_percentile(values: Sequence[float], q: float) -> float | None:
    """``percentile(values, q)`` when there are enough values to support it, else None."""
    if len(values) < min_samples_for(q):
        return None
    return percentile(values, q)
