"""Change-point detection: a planted step is found at its run and commit, noise is not."""

import math
import random

import pytest

from bench.analyse.changepoint import detect, noise_sigma
from bench.analyse.trends import LATENCY, build_series, feed
from bench.store.history import open_store
from tests.support.history_runs import commit, write_series

STEP_AT = 19  # 0-based: run 20 of 30 is the first run after the step


def stored_series(tmp_path, factors, seed):
    runs = write_series(tmp_path / "runs", factors, run_cv=0.02, seed=seed)
    with open_store(tmp_path / "history.sqlite", create=True) as store:
        for path in runs:
            assert store.add(path).added
        return build_series(store.rows())


def test_thirty_stored_runs_with_a_planted_step_give_one_change_point_at_run_20(tmp_path):
    factors = [1.0] * STEP_AT + [1.15] * (30 - STEP_AT)
    series = stored_series(tmp_path, factors, seed=1)
    assert len(series) == 2  # two layouts, one machine
    for s in series:
        assert len(s.points) == 30
        steps = [e for e in s.events if e.metric == LATENCY]
        assert len(steps) == 1, [e.describe() for e in steps]
        (event,) = steps
        assert event.step.index == STEP_AT
        assert event.after.commit == commit(STEP_AT)  # the first commit after the step
        assert event.before.commit == commit(STEP_AT - 1)
        assert event.worse
        assert event.step.low < 1.15 < event.step.high
        assert 1.10 < event.step.ratio < 1.20
        assert event.commits == f"{commit(STEP_AT - 1)[:10]}..{commit(STEP_AT)[:10]}"
    assert len(feed(series)) == 2


def test_a_flat_series_of_the_same_noise_has_no_change_point(tmp_path):
    series = stored_series(tmp_path, [1.0] * 30, seed=2)
    assert [e.describe() for s in series for e in s.events] == []
    assert all(0.005 < s.latency.sigma < 0.05 for s in series)


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
