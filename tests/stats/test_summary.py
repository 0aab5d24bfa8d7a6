import math

import pytest

from bench.stats import FIELDS, mean, median, percentile, stdev, summarize, variance


def test_percentile_interpolates_linearly_like_numpy():
    import numpy as np

    values = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6]
    for q in (0, 10, 50, 90, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_rejects_empty_and_out_of_range():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_stdev_is_the_sample_standard_deviation():
    assert stdev([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) == pytest.approx(math.sqrt(32 / 7))
    assert stdev([5.0]) == 0.0


def test_summarize_holds_every_field_and_the_raw_values():
    summary = summarize([0.3, 0.1, 0.2])
    assert set(FIELDS) | {"values"} == set(summary)
    assert summary["median"] == pytest.approx(0.2)
    assert summary["min"] == 0.1 and summary["max"] == 0.3 and summary["n"] == 3
    assert summary["values"] == [0.3, 0.1, 0.2]


from bench.stats import (  # noqa: E402
    median_interval,
    median_uncertainty,
    min_samples_for,
    supported_percentile,
    throughput_interval,
)


def test_median_interval_of_ten_values_is_second_to_ninth_with_its_coverage():
    # 1 - 2 P(Binom(10, 1/2) <= 1) = 1 - 22/1024 = 0.9785 >= 0.95; k = 3 gives 0.891.
    interval = median_interval([float(v) for v in range(10)])
    assert (interval.low, interval.high) == (1.0, 8.0)
    assert interval.confidence == pytest.approx(1 - 22 / 1024)


def test_median_interval_needs_six_values_for_95_percent():
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).confidence == pytest.approx(31 / 32)


def test_median_interval_covers_the_true_median_at_least_as_often_as_promised():
    import random

    rng = random.Random(7)
    covered = 0
    for _ in range(2000):
        interval = median_interval([rng.expovariate(1.0) for _ in range(12)])
        covered += interval.low <= math.log(2) <= interval.high
    assert covered / 2000 >= 0.95


def test_small_samples_fall_back_to_the_range_with_its_lower_coverage():
    interval = median_uncertainty([0.3, 0.1, 0.2])
    assert (interval.low, interval.high) == (0.1, 0.3)
    assert interval.confidence == pytest.approx(0.75)


def test_throughput_interval_swaps_the_ends_of_the_latency_interval():
    latency = median_uncertainty([1.0, 2.0, 4.0])
    images = throughput_interval(latency, 4)
    assert (images.low, images.high) == (1.0, 4.0)


def test_percentiles_need_enough_values_to_be_more_than_the_maximum():
    assert min_samples_for(90) == 10 and min_samples_for(99) == 100 and min_samples_for(50) == 1
    assert supported_percentile([1.0, 2.0, 3.0], 90) is None
    assert supported_percentile([float(v) for v in range(10)], 90) == pytest.approx(8.1)


def test_median_is_the_middle_value_or_the_mean_of_the_middle_two():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError):
        median([])


def test_mean_and_variance_are_the_sample_ones():
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    assert mean(values) == 5.0
    assert variance(values) == pytest.approx(32 / 7)
    assert variance([5.0]) == 0.0
