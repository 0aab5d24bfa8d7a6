import math

import pytest

from bench.analyse.stats import FIELDS, percentile, stdev, summarize


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
