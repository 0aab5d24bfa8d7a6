"""Statistical primitives, standard library only: each one written once, here.

- ``summary``: median, mean, variance, percentiles, the latency summary of run files;
- ``intervals``: distribution-free intervals of a median and of throughput;
- ``distributions``: normal and Student's t quantiles and tails, Var(median of n);
- ``ranks``: exact rank tests (Mann–Whitney, Wilcoxon signed-rank), Hodges–Lehmann shifts;
- ``multiple``: Holm's correction over configs judged together;
- ``changepoint``: steps in a series of runs;
- ``stability``: whether one config's samples spread, drift or stall too much to trust.

Nothing here knows a record or makes a verdict: ``bench.analyse`` decides with these.
The summary and interval names are importable from ``bench.stats`` itself.
"""

from bench.stats.intervals import (
    Interval,
    median_interval,
    median_uncertainty,
    range_interval,
    throughput_interval,
)
from bench.stats.summary import (
    FIELDS,
    mean,
    median,
    min_samples_for,
    percentile,
    stdev,
    summarize,
    supported_percentile,
    variance,
)

__all__ = [
    "FIELDS", "Interval", "mean", "median", "median_interval", "median_uncertainty",
    "min_samples_for", "percentile", "range_interval", "stdev", "summarize",
    "supported_percentile", "throughput_interval", "variance",
]
