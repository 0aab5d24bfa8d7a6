"""Series of stored runs: a planted step is found at its run and commit, noise is not."""

from bench.analyse.trends import LATENCY, build_series, feed
from bench.present.history_dashboard import event_text
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
        assert len(steps) == 1, [event_text(e) for e in steps]
        (event,) = steps
        assert event.step.index == STEP_AT
        assert event.after.run.commit == commit(STEP_AT)  # the first commit after the step
        assert event.before.run.commit == commit(STEP_AT - 1)
        assert event.worse
        assert event.step.low < 1.15 < event.step.high
        assert 1.10 < event.step.ratio < 1.20
        assert event.commits == f"{commit(STEP_AT - 1)[:10]}..{commit(STEP_AT)[:10]}"
    assert len(feed(series)) == 2


def test_a_flat_series_of_the_same_noise_has_no_change_point(tmp_path):
    series = stored_series(tmp_path, [1.0] * 30, seed=2)
    assert [event_text(e) for s in series for e in s.events] == []
    assert all(0.005 < s.latency.sigma < 0.05 for s in series)
