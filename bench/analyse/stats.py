"""Summary statistics over raw samples: pure functions, no dependencies.

One tuple of field names (``FIELDS``) drives what every summary holds, so the run file,
the tables and the reports always agree on the set of statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

FIELDS = ("median", "mean", "p90", "p99", "min", "max", "stdev", "n")


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
    n = len(values)
    if n < 2:
        return 0.0
    mean = math.fsum(values) / n
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


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
