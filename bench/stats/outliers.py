"""Outlying values of a small sample, such as the run medians of a history window.

One run 3x slower than the rest (a runner hiccup, a noisy neighbour) inflates a sample's
spread so much that nothing can be concluded from it for as long as it stays in the
sample. This finds such values so they can be left out, and says which.

Each value is judged against the *others*: its distance from their mean in units of
their spread, as the prediction interval for one new value from them has it,

    t_i = (x_i - mean of the others) / (sd of the others * sqrt(1 + 1 / (n - 1))),

which under normal noise is Student's t with n - 2 degrees of freedom. Leaving the value
out of its own yardstick is what lets one far value show (the sample's own sd would grow
with it). The most extreme is removed and the rest judged again, up to ``max_share`` of
the values (generalized ESD, after Rosner 1983: the count is the largest number whose
statistic still passes, so two far values do not hide each other). A value is an outlier
when its t passes the two-sided level alpha / (values left), Bonferroni over them: in
normal samples, values are left out in about ``alpha`` of samples.

``floor``: the spread the values cannot fall below (for run medians, the sampling error
of a median from the run's own calls), so that a few identical values do not make the
next one an outlier. Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.stats.distributions import t_quantile
from bench.stats.summary import mean, variance

ALPHA = 0.01
MAX_SHARE = 0.25  # at most a quarter of the values are outliers; more is the noise itself
MIN_KEPT = 4  # values that stay, at least: fewer cannot tell an outlier from the noise


def outlying(values: Sequence[float], alpha: float = ALPHA, floor: float = 0.0,
             max_share: float = MAX_SHARE, min_kept: int = MIN_KEPT) -> tuple[int, ...]:
    """Indices of the outlying values (module docstring), most extreme first; () when
    none is, or when there are too few values to tell."""
    n = len(values)
    most = min(int(n * max_share), n - min_kept)
    remaining = list(range(n))
    removed: list[tuple[int, bool]] = []  # (index, passes at its step)
    for _ in range(max(most, 0)):
        m = len(remaining)
        scored = []
        for i in remaining:
            others = [values[j] for j in remaining if j != i]
            spread = max(math.sqrt(variance(others)), floor)
            if spread <= 0:
                continue
            scored.append((abs(values[i] - mean(others)) / (spread * math.sqrt(1 + 1 / (m - 1))), i))
        if not scored:
            break
        t, worst = max(scored)
        critical = t_quantile(1 - alpha / (2 * m), m - 2)
        removed.append((worst, t > critical))
        remaining.remove(worst)
    count = max((k + 1 for k, (_, passes) in enumerate(removed) if passes), default=0)
    return tuple(index for index, _ in removed[:count])
