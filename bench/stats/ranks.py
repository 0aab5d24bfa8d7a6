"""Exact rank tests and Hodges–Lehmann intervals, pure Python.

Why each piece is here (docs/statistics.md, "The tests"):

- "Slower?" is a one-sided question, so every test takes ``alternative``: a two-sided
  test at 0.05 spends half its error on "faster" and needs twice the evidence.
- Small samples are the normal case (a few runs per side), so p-values are *exact*:
  the permutation distribution of the rank sum, counted with midranks when values tie,
  instead of a normal approximation that is wrong at n = 3.
- ``min_p_value`` says whether a sample size can reach a chosen alpha at all, so a gate
  can say "too few samples" instead of a meaningless "not significant".
- Verdicts need an effect size with an interval, on the ratio scale: Hodges–Lehmann
  estimates (median of pairwise differences or of Walsh averages of log times) with
  distribution-free intervals from the same rank distributions, so "the interval
  excludes no change" and "the test rejects" agree.
- Many configs are judged at once: ``bench.stats.multiple.holm`` adjusts their p-values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bench.stats.distributions import normal_quantile
from bench.stats.summary import median

# Largest n_a + n_b (two samples) or n (paired) for which distributions are counted
# exactly; beyond it the normal approximation is accurate.
EXACT_MAX_TOTAL = 40
EXACT_MAX_PAIRS = 60

ALTERNATIVES = ("two-sided", "greater", "less")


def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")


@dataclass(frozen=True)
class MannWhitney:
    """Result of a Mann–Whitney U test of sample a against sample b.

    ``alternative`` "greater": a tends to be larger than b; "less": smaller.
    """

    u: float  # U statistic of sample a: pairs (x in a, y in b) with x > y, ties count 1/2
    p_value: float
    method: str  # "exact" or "normal"
    n_a: int
    n_b: int
    alternative: str = "two-sided"

    def reachable(self, alpha: float) -> bool:
        """Whether these sample sizes can ever give p <= alpha."""
        return min_p_value(self.n_a, self.n_b, self.alternative) <= alpha

    def significant(self, alpha: float) -> bool:
        return self.reachable(alpha) and self.p_value <= alpha


def min_p_value(n_a: int, n_b: int, alternative: str = "two-sided") -> float:
    """Smallest p-value any data can give with these sizes (no ties): one ordering in
    C(n_a + n_b, n_a) is the most extreme; two-sided doubles it. 3 vs 3: 0.05 one-sided,
    0.1 two-sided."""
    _check_alternative(alternative)
    if n_a < 1 or n_b < 1:
        return 1.0
    tails = 2.0 if alternative == "two-sided" else 1.0
    return min(1.0, tails / math.comb(n_a + n_b, n_a))


def min_p_value_paired(n: int, alternative: str = "two-sided") -> float:
    """Smallest signed-rank p-value for n non-zero paired differences: all of one sign,
    one assignment in 2^n (doubled two-sided). 5 pairs: 0.031 one-sided."""
    _check_alternative(alternative)
    if n < 1:
        return 1.0
    tails = 2.0 if alternative == "two-sided" else 1.0
    return min(1.0, tails / 2**n)


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


@lru_cache(maxsize=256)
def _u_distribution(n_a: int, n_b: int) -> tuple[int, ...]:
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
    return tuple(table[n_b])


def u_distribution(n_a: int, n_b: int) -> list[int]:
    """counts[u] = number of orderings of n_a + n_b distinct values giving U = u.

    Recurrence on the largest value: from sample a it beats all n_b values of b
    (adds n_b to U), from sample b it adds nothing. Cached: the gate asks for the same
    sizes once per config.
    """
    return list(_u_distribution(n_a, n_b))


def rank_sum_distribution(doubled_ranks: Sequence[int], k: int) -> list[int]:
    """counts[s] = number of k-subsets of ``doubled_ranks`` whose sum is s.

    The permutation distribution of the rank sum with ties: midranks are multiples of
    1/2, so they are doubled to integers. One pass per value over (subset size, sum).
    """
    total = sum(doubled_ranks)
    ways = [[0] * (total + 1) for _ in range(k + 1)]
    ways[0][0] = 1
    for seen, r in enumerate(doubled_ranks, start=1):
        for j in range(min(seen, k), 0, -1):
            below = ways[j - 1]
            row = ways[j]
            ways[j] = row[:r] + [x + y for x, y in zip(row[r:], below, strict=False)]
    return ways[k]


def _tail_p(counts: Sequence[int], observed: int, alternative: str) -> float:
    total = sum(counts)
    lower = sum(counts[: observed + 1]) / total
    upper = sum(counts[observed:]) / total
    if alternative == "greater":
        return min(1.0, upper)
    if alternative == "less":
        return min(1.0, lower)
    return min(1.0, 2 * min(lower, upper))


def _normal_p(z: float, alternative: str) -> float:
    """p for a standard normal statistic z (already continuity corrected per tail)."""
    upper = 0.5 * math.erfc(z / math.sqrt(2))
    if alternative == "greater":
        return upper
    if alternative == "less":
        return 1.0 - upper
    return min(1.0, 2 * min(upper, 1.0 - upper))


def mann_whitney_u(
    a: Sequence[float], b: Sequence[float], alternative: str = "two-sided"
) -> MannWhitney:
    """Mann–Whitney U test of sample ``a`` against sample ``b``.

    Exact permutation p-value whenever n_a + n_b <= ``EXACT_MAX_TOTAL``, ties or not
    (ties: the distribution of the midrank sum is counted); normal approximation with
    tie and continuity correction beyond.
    """
    _check_alternative(alternative)
    n_a, n_b = len(a), len(b)
    if n_a == 0 or n_b == 0:
        raise ValueError("Mann–Whitney needs at least one value in each sample")
    ranks, ties = _midranks([*a, *b])
    u = math.fsum(ranks[:n_a]) - n_a * (n_a + 1) / 2
    n = n_a + n_b
    if n <= EXACT_MAX_TOTAL:
        if not ties:
            p = _tail_p(_u_distribution(n_a, n_b), round(u), alternative)
        else:
            doubled = [round(2 * r) for r in ranks]
            counts = rank_sum_distribution(doubled, n_a)
            p = _tail_p(counts, sum(doubled[:n_a]), alternative)
        return MannWhitney(u=u, p_value=p, method="exact", n_a=n_a, n_b=n_b, alternative=alternative)
    mean = n_a * n_b / 2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1))
    variance = n_a * n_b / 12 * ((n + 1) - tie_term)
    if variance <= 0:  # every value equal: no evidence of any difference
        return MannWhitney(u=u, p_value=1.0, method="normal", n_a=n_a, n_b=n_b, alternative=alternative)
    p = _continuity_normal_p(u, mean, math.sqrt(variance), alternative)
    return MannWhitney(u=u, p_value=p, method="normal", n_a=n_a, n_b=n_b, alternative=alternative)


def _continuity_normal_p(stat: float, mean: float, sd: float, alternative: str) -> float:
    """Normal approximation of a rank statistic's p-value, with continuity correction
    (both rank tests beyond their exact range)."""
    if alternative == "two-sided":
        z = max(abs(stat - mean) - 0.5, 0.0) / sd
        return min(1.0, math.erfc(z / math.sqrt(2)))
    if alternative == "greater":
        return _normal_p((stat - mean - 0.5) / sd, "greater")
    return 1.0 - _normal_p((stat - mean + 0.5) / sd, "greater")


@dataclass(frozen=True)
class SignedRank:
    """Wilcoxon signed-rank test of paired differences against zero."""

    w_plus: float  # sum of the ranks of |d| over the positive differences
    p_value: float
    method: str  # "exact" or "normal"
    n: int  # non-zero differences (zeros are dropped, Wilcoxon's convention)
    alternative: str = "two-sided"


def signed_rank_distribution(doubled_ranks: Sequence[int]) -> list[int]:
    """counts[s] = number of the 2^n sign assignments whose positive (doubled) ranks sum
    to s. Exact with tied |d| (midranks, doubled to integers)."""
    counts = [1]
    for r in doubled_ranks:
        grown = counts + [0] * r
        for s, c in enumerate(counts):
            grown[s + r] += c
        counts = grown
    return counts


@lru_cache(maxsize=64)
def _plain_signed_rank_distribution(n: int) -> tuple[int, ...]:
    """counts[w] of W+ = w for ranks 1..n without ties (cached: same n every config)."""
    return tuple(signed_rank_distribution([2 * (i + 1) for i in range(n)])[::2])


def wilcoxon_signed_rank(differences: Sequence[float], alternative: str = "two-sided") -> SignedRank:
    """Signed-rank test that paired differences are centred on zero.

    "greater": the differences tend to be positive. Exact (sign-flip distribution with
    midranks) up to ``EXACT_MAX_PAIRS`` non-zero differences, normal approximation beyond.
    """
    _check_alternative(alternative)
    nonzero = [float(d) for d in differences if d != 0]
    n = len(nonzero)
    if n == 0:
        return SignedRank(w_plus=0.0, p_value=1.0, method="exact", n=0, alternative=alternative)
    ranks, ties = _midranks([abs(d) for d in nonzero])
    w_plus = math.fsum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    if n <= EXACT_MAX_PAIRS:
        doubled = [round(2 * r) for r in ranks]
        counts = signed_rank_distribution(doubled)
        p = _tail_p(counts, round(2 * w_plus), alternative)
        return SignedRank(w_plus=w_plus, p_value=p, method="exact", n=n, alternative=alternative)
    mean = n * (n + 1) / 4
    variance = n * (n + 1) * (2 * n + 1) / 24 - sum(t**3 - t for t in ties) / 48
    p = _continuity_normal_p(w_plus, mean, math.sqrt(variance), alternative)
    return SignedRank(w_plus=w_plus, p_value=p, method="normal", n=n, alternative=alternative)


@dataclass(frozen=True)
class Shift:
    """A Hodges–Lehmann location shift with a distribution-free confidence interval.

    ``low``/``high`` are None when the samples are too small for ``confidence``.
    """

    estimate: float
    low: float | None
    high: float | None
    confidence: float


def _order_index(counts: Sequence[int], tail: float) -> int:
    """Largest k with P(S <= k - 1) <= tail under the null ``counts`` (0: unreachable)."""
    total = sum(counts)
    running = 0
    k = 0
    for value, c in enumerate(counts):
        running += c
        if running / total <= tail:
            k = value + 1
        else:
            break
    return k


def shift_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Shift:
    """Hodges–Lehmann shift of ``a`` over ``b`` (median of all a_i - b_j) and its
    Moses interval: the k-th smallest and largest differences, k from the exact U
    distribution (normal approximation beyond ``EXACT_MAX_TOTAL``). On log times the
    shift is the log of the ratio of typical times."""
    if not a or not b:
        raise ValueError("a shift needs at least one value in each sample")
    diffs = sorted(x - y for x in a for y in b)
    n_a, n_b = len(a), len(b)
    tail = (1 - confidence) / 2
    if n_a + n_b <= EXACT_MAX_TOTAL:
        k = _order_index(_u_distribution(n_a, n_b), tail)
    else:
        z = normal_quantile(1 - tail)
        k = math.floor(n_a * n_b / 2 - z * math.sqrt(n_a * n_b * (n_a + n_b + 1) / 12))
    estimate = median(diffs)
    if k < 1:
        return Shift(estimate, None, None, confidence)
    return Shift(estimate, diffs[k - 1], diffs[len(diffs) - k], confidence)


def paired_shift_interval(differences: Sequence[float], confidence: float = 0.95) -> Shift:
    """Hodges–Lehmann centre of paired differences (median of the Walsh averages
    (d_i + d_j) / 2, i <= j) and its interval from the exact signed-rank distribution."""
    if not differences:
        raise ValueError("a paired shift needs at least one difference")
    d = [float(x) for x in differences]
    n = len(d)
    walsh = sorted((d[i] + d[j]) / 2 for i in range(n) for j in range(i, n))
    tail = (1 - confidence) / 2
    if n <= EXACT_MAX_PAIRS:
        k = _order_index(_plain_signed_rank_distribution(n), tail)
    else:
        z = normal_quantile(1 - tail)
        k = math.floor(n * (n + 1) / 4 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24))
    estimate = median(walsh)
    if k < 1:
        return Shift(estimate, None, None, confidence)
    return Shift(estimate, walsh[k - 1], walsh[len(walsh) - k], confidence)
