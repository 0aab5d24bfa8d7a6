"""Quantiles and tails without scipy: Student's t against printed tables, Var(median)."""

import math

import pytest

from bench.stats.distributions import median_variance, normal_quantile, t_quantile, t_sf


@pytest.mark.parametrize("p, df, expected", [
    (0.99, 4, 3.7469), (0.975, 1, 12.7062), (0.95, 10, 1.8125), (0.995, 30, 2.7500),
    (0.9, 2, 1.8856), (0.999, 3, 10.2145)])
def test_student_t_quantiles_match_the_tables(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=2e-4)
    assert t_sf(expected, df) == pytest.approx(1 - p, rel=1e-3)


def test_t_tails_are_symmetric_and_fractional_df_lies_between():
    assert t_sf(-1.5, 7) == pytest.approx(1 - t_sf(1.5, 7))
    assert t_quantile(0.99, 4) > t_quantile(0.99, 4.5) > t_quantile(0.99, 5)


def test_median_variance_is_one_for_a_single_value_and_pi_over_2n_for_many():
    assert median_variance(1) == 1.0
    assert median_variance(3) == pytest.approx(0.4487, abs=1e-3)
    assert median_variance(200) == pytest.approx(math.pi / 400)


def test_normal_quantile_is_the_inverse_of_the_normal_cdf():
    assert normal_quantile(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert normal_quantile(0.5) == 0.0
    assert normal_quantile(0.01) == pytest.approx(-normal_quantile(0.99))
