"""Outlying values of a small sample: each judged against the others' prediction interval,
repeated so that two bad values do not hide each other, and rare in normal samples."""

import random

from bench.stats.outliers import outlying


def test_one_far_value_is_found_and_normal_samples_rarely_give_any():
    rng = random.Random(2)
    values = [rng.gauss(0, 0.05) for _ in range(10)]
    values[3] += 1.1  # log 3: a run 3x slower
    assert outlying(values) == (3,)
    flagged = sum(bool(outlying([rng.gauss(0, 0.05) for _ in range(10)])) for _ in range(2000))
    assert flagged <= 40  # alpha 1 % per sample (Bonferroni over the values); 2,000 draws


def test_two_far_values_do_not_mask_each_other():
    values = [0.01, -0.02, 0.0, 0.03, -0.01, 0.02, -0.03, 0.01, 1.1, 1.0]
    assert sorted(outlying(values)) == [8, 9]


def test_too_few_values_to_tell_and_a_floor_for_identical_ones():
    assert outlying([0.0, 0.0, 0.0, 1.0]) == ()  # 4 values: none is left out
    # four identical values and one 1 % away: within a 2 % floor, not an outlier
    assert outlying([0.0, 0.0, 0.0, 0.0, 0.01], floor=0.02) == ()
    assert outlying([0.0, 0.0, 0.0, 0.0, 1.0], floor=0.02) == (4,)


def test_at_most_a_quarter_of_the_values_are_left_out():
    values = [0.0, 0.01, -0.01, 0.02, 1.0, 1.1, 1.2, 0.9]
    assert len(outlying(values)) <= 2
