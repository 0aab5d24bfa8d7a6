import itertools
import math

import pytest

from bench.stats.multiple import holm
from bench.stats.ranks import (
    mann_whitney_u,
    min_p_value,
    paired_shift_interval,
    shift_interval,
    u_distribution,
    wilcoxon_signed_rank,
)


def brute_force_two_sided_p(a: list[float], b: list[float]) -> float:
    """Exact p by relabelling the pooled values in every possible way."""
    pooled = a + b

    def u_of(sample_a):
        rest = list(pooled)
        for value in sample_a:
            rest.remove(value)
        return sum(x > y for x in sample_a for y in rest)

    observed = u_of(a)
    us = [u_of(list(c)) for c in itertools.combinations(pooled, len(a))]
    lower = sum(u <= observed for u in us) / len(us)
    upper = sum(u >= observed for u in us) / len(us)
    return min(1.0, 2 * min(lower, upper))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([0.51, 0.49, 0.55, 0.60], [0.40, 0.42, 0.47, 0.50, 0.44]),
        ([1.0, 3.0, 5.0, 7.0, 9.0], [2.0, 4.0, 6.0]),
        ([1.3, 1.1, 1.2], [0.9, 1.15, 1.25, 1.05, 1.0, 0.95]),
    ],
)
def test_exact_p_value_equals_enumeration_of_all_relabellings(a, b):
    result = mann_whitney_u(a, b)
    assert result.method == "exact"
    assert result.p_value == pytest.approx(brute_force_two_sided_p(a, b), abs=1e-12)


def test_textbook_example_gives_u_17_and_p_one_ninth():
    # Hand-worked: males vs females, U = 17 of 20 pairs; 7 of the C(9,4) = 126
    # orderings give U >= 17, so the two-sided p is 14/126 = 1/9.
    result = mann_whitney_u([19, 22, 16, 29, 24], [20, 11, 17, 12])
    assert result.u == 17
    assert result.p_value == pytest.approx(1 / 9)


def test_small_samples_with_ties_get_the_exact_permutation_p():
    a, b = [1, 1, 2, 2], [2, 2, 3, 3]
    result = mann_whitney_u(a, b)
    assert result.method == "exact"
    assert result.u == 2
    assert result.p_value == pytest.approx(brute_force_two_sided_p(a, b), abs=1e-12)


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided_exact_p_with_ties_equals_enumeration(alternative):
    a, b = [1.0, 2.0, 2.0, 3.0, 3.0], [1.0, 1.0, 2.0, 2.0]
    pooled = a + b
    ranks = {v: (sum(1 for x in pooled if x < v) + (sum(1 for x in pooled if x <= v) + 1)) / 2
             for v in pooled}
    observed = sum(ranks[v] for v in a)
    sums = [sum(ranks[pooled[i]] for i in c) for c in itertools.combinations(range(9), 5)]
    at_least = sum(s >= observed - 1e-9 for s in sums) / len(sums)
    at_most = sum(s <= observed + 1e-9 for s in sums) / len(sums)
    expected = at_least if alternative == "greater" else at_most
    assert mann_whitney_u(a, b, alternative).p_value == pytest.approx(expected, abs=1e-12)


def test_normal_approximation_with_ties_matches_hand_computation():
    # 21 vs 21 values in 3 tie groups of 14: past the exact limit of 40 values.
    a, b = [1] * 7 + [2] * 7 + [3] * 7, [1] * 7 + [2] * 7 + [3] * 7
    result = mann_whitney_u(a, b)
    assert result.method == "normal"
    assert result.p_value == pytest.approx(1.0)


def test_one_sided_three_against_three_reaches_exactly_one_twentieth():
    result = mann_whitney_u([2.0, 2.1, 2.2], [1.0, 1.1, 1.2], "greater")
    assert result.p_value == pytest.approx(1 / 20)
    assert min_p_value(3, 3, "greater") == pytest.approx(1 / 20)


def test_signed_rank_exact_p_counts_sign_flips():
    # |d| ranks 1..8; negatives at ranks 1 and 3 -> W+ = 32; 7 of 256 flips give >= 32.
    result = wilcoxon_signed_rank([1, -2, 3, 4, 5, 6, 7, -0.5], "greater")
    assert result.w_plus == 32
    assert result.p_value == pytest.approx(7 / 256)


def test_signed_rank_drops_zero_differences():
    assert wilcoxon_signed_rank([0.0, 0.0, 1.0, 2.0], "greater").n == 2


def test_hodges_lehmann_shift_interval_covers_the_planted_shift():
    a = [float(v) + 10 for v in range(10)]
    b = [float(v) for v in range(10)]
    shift = shift_interval(a, b)
    assert shift.estimate == pytest.approx(10)
    assert shift.low < 10 < shift.high


def test_shift_interval_is_none_when_samples_are_too_small():
    shift = shift_interval([2.0, 3.0], [1.0, 2.0])
    assert shift.low is None and shift.high is None


def test_paired_interval_of_walsh_averages_for_ten_pairs():
    # 10 pairs: the 95 % interval is the 9th smallest/largest of 55 Walsh averages
    # (P(W+ <= 8) = 0.0244 <= 0.025 < P(W+ <= 9)).
    d = [float(v) for v in range(1, 11)]
    walsh = sorted((d[i] + d[j]) / 2 for i in range(10) for j in range(i, 10))
    shift = paired_shift_interval(d)
    assert (shift.low, shift.high) == (walsh[8], walsh[-9])
    assert shift.estimate == pytest.approx(5.5)


def test_holm_multiplies_the_smallest_p_by_m_and_stays_monotone():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_normal_approximation_is_close_to_exact_distribution_for_large_samples():
    a = [float(v) for v in range(0, 50, 2)]  # 25 values
    b = [float(v) + 9.5 for v in range(1, 50, 2)]  # 25 values, shifted up
    result = mann_whitney_u(a, b)
    assert result.method == "normal"
    counts = u_distribution(25, 25)
    k = round(result.u)
    exact = 2 * sum(counts[: k + 1]) / math.comb(50, 25)
    assert result.p_value == pytest.approx(exact, rel=0.1)


def test_identical_samples_give_p_one():
    assert mann_whitney_u([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]).p_value == 1.0


def test_u_distribution_counts_every_ordering_once_and_is_symmetric():
    counts = u_distribution(4, 6)
    assert sum(counts) == math.comb(10, 4)
    assert counts == counts[::-1]
    assert len(counts) == 4 * 6 + 1


def test_smallest_reachable_p_value_depends_on_sample_size():
    assert min_p_value(3, 3) == pytest.approx(0.1)
    assert min_p_value(4, 4) == pytest.approx(2 / 70)


def test_three_against_three_cannot_be_significant_at_5_percent():
    result = mann_whitney_u([1.0, 1.1, 1.2], [2.0, 2.1, 2.2])
    assert not result.reachable(0.05)
    assert not result.significant(0.05)
    assert result.significant(0.10)


def test_fully_separated_samples_of_five_are_significant():
    result = mann_whitney_u([2.0, 2.1, 2.2, 2.3, 2.4], [1.0, 1.1, 1.2, 1.3, 1.4])
    assert result.u == 25
    assert result.significant(0.05)
