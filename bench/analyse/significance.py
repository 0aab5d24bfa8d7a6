"""Mann–Whitney U test on raw per-call latencies, pure Python.

Percentage thresholds alone raise false alarms on noisy machines, so a regression verdict
also needs a rank test on the raw samples (as asv does). Exact null distribution for
small samples without ties; normal approximation with tie and continuity correction
otherwise. ``min_p_value`` says whether a sample size can reach a chosen alpha at all,
so callers can print "too few samples" instead of a meaningless "not significant".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Largest n1 + n2 for which the exact distribution is counted (O(n1^2 n2^2) integer work).
EXACT_MAX_TOTAL = 40


@dataclass(frozen=True)
class MannWhitney:
    """Result of a two-sided test of "a and b come from the same distribution"."""

    u: float  # U statistic of sample a: pairs (x in a, y in b) with x > y, ties count 1/2
    p_value: float
    method: str  # "exact" or "normal"
    n_a: int
    n_b: int

    def reachable(self, alpha: float) -> bool:
        """Whether these sample sizes can ever give p <= alpha."""
        return min_p_value(self.n_a, self.n_b) <= alpha

    def significant(self, alpha: float) -> bool:
        return self.reachable(alpha) and self.p_value <= alpha


def min_p_value(n_a: int, n_b: int) -> float:
    """Smallest two-sided p-value any data can give with these sizes (no ties)."""
    if n_a < 1 or n_b < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(n_a + n_b, n_a))


def _midranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Ranks (1-based, ties get their average rank) and the sizes of tie groups."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties: list[int] = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        rank = (start + end) / 2 + 1
        for k in range(start, end + 1):
            ranks[order[k]] = rank
        if end > start:
            ties.append(end - start + 1)
        start = end + 1
    return ranks, ties


def u_distribution(n_a: int, n_b: int) -> list[int]:
    """counts[u] = number of orderings of n_a + n_b distinct values giving U = u.

    Recurrence on the largest value: from sample a it beats all n_b values of b
    (adds n_b to U), from sample b it adds nothing.
    """
    # table[j] holds the counts for (i, j); each pass of the outer loop raises i by one.
    table = [[1] for _ in range(n_b + 1)]  # i = 0: U = 0 in one way
    for _ in range(n_a):
        row = [[1]]  # j = 0: U = 0 in one way
        for j in range(1, n_b + 1):
            from_a = table[j]  # counts for (i - 1, j), shifted by j
            from_b = row[j - 1]  # counts for (i, j - 1)
            size = max(len(from_a) + j, len(from_b))
            counts = [0] * size
            for u, c in enumerate(from_a):
                counts[u + j] += c
            for u, c in enumerate(from_b):
                counts[u] += c
            row.append(counts)
        table = row
    return table[n_b]


def mann_whitney_u(a: Sequence[float], b: Sequence[float]) -> MannWhitney:
    """Two-sided Mann–Whitney U test of sample ``a`` against sample ``b``."""
    n_a, n_b = len(a), len(b)
    if n_a == 0 or n_b == 0:
        raise ValueError("Mann–Whitney needs at least one value in each sample")
    ranks, ties = _midranks([*a, *b])
    u = math.fsum(ranks[:n_a]) - n_a * (n_a + 1) / 2
    if not ties and n_a + n_b <= EXACT_MAX_TOTAL:
        counts = u_distribution(n_a, n_b)
        total = math.comb(n_a + n_b, n_a)
        k = round(u)
        lower = sum(counts[: k + 1])
        upper = sum(counts[k:])
        p = min(1.0, 2 * min(lower, upper) / total)
        return MannWhitney(u=u, p_value=p, method="exact", n_a=n_a, n_b=n_b)
    n = n_a + n_b
    mean = n_a * n_b / 2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
    variance = n_a * n_b / 12 * ((n + 1) - tie_term)
    if variance <= 0:  # every value equal: no evidence of any difference
        return MannWhitney(u=u, p_value=1.0, method="normal", n_a=n_a, n_b=n_b)
    z = max(abs(u - mean) - 0.5, 0.0) / math.sqrt(variance)
    p = min(1.0, math.erfc(z / math.sqrt(2)))
    return MannWhitney(u=u, p_value=p, method="normal", n_a=n_a, n_b=n_b)
