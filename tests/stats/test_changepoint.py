"""Change-point detection on series of values: a planted step is found at its run, noise
and an outlying run are not steps, a slow drift is one drift, and each operating point
says what it was measured to give."""

import math
import random

import pytest

from bench.stats.changepoint import (
    BALANCED,
    DEFAULT,
    SENSITIVE,
    SETTINGS,
    STRICT,
    detect,
    noise_sigma,
)

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


def series(rng, n, sd, factor=lambda i: 1.0):
    return [math.exp(rng.gauss(0, sd)) * factor(i) for i in range(n)]


def test_a_fifteen_percent_step_at_five_percent_run_noise_is_found_at_its_run():
    # issue 22: 30 runs, +15 % from run 20 on, 5 % run-to-run noise: a step a reader sees
    # at a glance (about 3 noise standard deviations), which the detector used to miss
    rng = random.Random(22)
    found = 0
    for _ in range(200):
        steps = detect(series(rng, 30, 0.05, lambda i: 1.15 if i >= STEP_AT else 1.0)).steps
        found += len(steps) == 1 and abs(steps[0].index - STEP_AT) <= 1 and steps[0].ratio > 1
    assert found >= 0.88 * 200


def test_a_slow_drift_is_one_drift_not_a_staircase_of_steps():
    rng = random.Random(23)
    steps = drifts = 0
    for _ in range(100):
        found = detect(series(rng, 30, 0.05, lambda i: 1.01 ** i))
        steps += len(found.steps)
        drifts += len(found.drifts) == 1 and 1.005 < found.drifts[0].rate < 1.015
    assert steps <= 15 and drifts >= 85  # was 1.4 to 4.7 "steps" per series, no drift


def test_a_drift_reports_its_span_rate_and_total():
    rng = random.Random(26)  # level, +2 %/run from run 10 to run 30, level; 1 % noise
    values = series(rng, 40, 0.01, lambda i: 1.02 ** max(0, min(i, 30) - 10))
    found = detect(values)
    assert found.steps == () and len(found.drifts) == 1
    drift = found.drifts[0]
    assert 7 <= drift.start <= 13 and 28 <= drift.end <= 34  # placed within 3 runs
    assert drift.rate == pytest.approx(1.02, abs=0.003)
    assert drift.change == pytest.approx(drift.rate ** (drift.runs - 1) - 1)


def test_a_step_that_reverts_is_two_steps():
    rng = random.Random(24)
    values = series(rng, 30, 0.03, lambda i: 1.3 if 12 <= i < 18 else 1.0)
    assert [(s.index, s.ratio > 1) for s in detect(values).steps] == [(12, True), (18, False)]


def test_stricter_settings_find_fewer_false_change_points_and_need_larger_steps():
    rng = random.Random(25)
    flats = [series(rng, 60, 0.05) for _ in range(300)]
    false = [sum(len(detect(v, setting).steps) + len(detect(v, setting).drifts) for v in flats)
             for setting in (SENSITIVE, BALANCED, STRICT)]
    assert false[0] >= false[1] >= false[2]
    steps = [series(rng, 35, 0.05, lambda i: math.exp(3.5 * 0.05) if i >= 30 else 1.0)
             for _ in range(200)]
    found = [sum(any(abs(s.index - 30) <= 1 for s in detect(v, setting).steps) for v in steps)
             for setting in (SENSITIVE, BALANCED, STRICT)]
    assert found[0] > found[1] > found[2]


def test_each_setting_states_its_measured_operating_point():
    assert set(SETTINGS) == {"strict", "balanced", "sensitive"} and DEFAULT is BALANCED
    text = BALANCED.text()
    assert f"{BALANCED.false_per_year:g} false change point(s) per 365 runs" in text
    assert "steps found in 9 of 10 series: 4.5x the run-to-run noise within 3 runs," in text
    assert "3.5x within 5, 3x within 10 (at 5% noise: +25%, +19%, +16%)" in text
    # stricter settings: fewer false change points, and never smaller steps found
    assert STRICT.false_per_year < BALANCED.false_per_year < SENSITIVE.false_per_year
    for (runs, strict), (_, balanced), (_, sensitive) in zip(
            STRICT.found, BALANCED.found, SENSITIVE.found, strict=True):
        assert strict >= balanced >= sensitive, runs


def test_the_noise_is_refitted_from_the_residuals_and_widened_for_few_runs():
    from bench.stats.changepoint import uncertainty_factor

    assert uncertainty_factor(5) == pytest.approx(1.84, abs=0.01)
    assert uncertainty_factor(60) == pytest.approx(1.04, abs=0.01)
    assert uncertainty_factor(10_000) == pytest.approx(1.0, abs=0.002)
    rng = random.Random(28)
    refitted = sorted(detect(series(rng, 60, 0.05)).sigma for _ in range(200))
    robust = sorted(noise_sigma([rng.gauss(0, 0.05) for _ in range(60)]) for _ in range(200))
    # the middle 90 % of the estimates: the refit about half as wide as the MADs
    assert refitted[190] - refitted[10] < 0.6 * (robust[190] - robust[10])
    assert 0.045 < refitted[100] < 0.056
