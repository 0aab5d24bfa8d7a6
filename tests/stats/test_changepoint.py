"""Change-point detection on series of values: a planted step is found at its run, noise
and an outlying run are not steps."""

import math
import random

import pytest

from bench.stats.changepoint import detect, noise_sigma

STEP_AT = 19  # 0-based: run 20 of 30 is the first run after the step


def test_flat_series_rarely_show_a_change_point_and_planted_steps_are_found():
    rng = random.Random(7)
    flat = sum(bool(detect([math.exp(rng.gauss(0, 0.05)) for _ in range(30)]).steps)
               for _ in range(200))
    assert flat <= 2  # target <= 0.5 % per series; 200 draws
    found = 0
    for _ in range(100):
        values = [math.exp(rng.gauss(0, 0.03)) * (1.15 if i >= STEP_AT else 1) for i in range(30)]
        steps = detect(values).steps
        found += len(steps) == 1 and abs(steps[0].index - STEP_AT) <= 1
    assert found >= 95


def test_one_outlying_run_is_not_a_step():
    values = [1.0 + 0.01 * ((i * 7) % 5 - 2) for i in range(30)]
    values[12] = 1.6
    assert detect(values).steps == ()


def test_two_steps_are_both_reported_with_their_direction():
    rng = random.Random(3)
    values = [math.exp(rng.gauss(0, 0.01)) * (1.2 if 10 <= i < 25 else 1.0) for i in range(40)]
    steps = detect(values).steps
    assert [s.index for s in steps] == [10, 25]
    assert steps[0].ratio > 1.1 and steps[1].ratio < 0.9


def test_too_few_runs_report_why_and_identical_values_have_the_floor_noise():
    short = detect([1.0, 1.0, 2.0, 2.0, 2.0])
    assert short.steps == () and "5 run(s)" in short.reason
    assert noise_sigma([0.0] * 10) == pytest.approx(0.002)
    # a step in identical values is still found (the floor keeps sigma from being zero)
    assert [s.index for s in detect([1.0] * 10 + [1.05] * 10).steps] == [10]


def test_values_must_be_positive():
    with pytest.raises(ValueError):
        detect([1.0, 0.0, 1.0])


def test_only_the_newest_window_is_searched_and_indices_stay_those_of_the_series():
    rng = random.Random(5)
    values = [math.exp(rng.gauss(0, 0.01)) * (1.3 if i >= 5 else 1.0) * (1.3 if i >= 30 else 1.0)
              for i in range(40)]
    found = detect(values, window=20)
    assert [s.index for s in found.steps] == [30]
    assert found.segments[0][0] == 20 and "newest 20 of 40" in found.reason
    assert [s.index for s in detect(values).steps] == [5, 30]
