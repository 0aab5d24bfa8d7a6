import itertools
import math

import pytest

from bench.analyse.significance import mann_whitney_u, min_p_value, u_distribution


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


def test_normal_approximation_with_ties_matches_hand_computation():
    # Pooled [1,1,2,2,2,2,3,3]: midranks 1.5, 4.5, 7.5; R_a = 12, U = 2, mean 8.
    # Tie groups 2, 4, 2: sum(t^3 - t) = 72; variance = 16/12 * (9 - 72/56) = 10.2857.
    # z = (|2 - 8| - 0.5) / sqrt(10.2857) = 1.71493; two-sided p = 0.086359.
    result = mann_whitney_u([1, 1, 2, 2], [2, 2, 3, 3])
    assert result.method == "normal"
    assert result.u == 2
    assert result.p_value == pytest.approx(0.086359, abs=2e-6)


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
