"""Series of stored runs: a planted step is found at its run and commit, noise is not."""

import re

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


GUIDED = {"guidance_scale": 5.0, "seed": 0}


def mixed_store(tmp_path, seeds=False):
    """12 runs at guidance 5.0 (every third with another seed when ``seeds``) and, in the
    middle, one run at guidance 1.0: 2.6x faster, as classifier-free guidance off is."""
    from tests.support.history_runs import write_history_run

    folder = tmp_path / "runs"
    runs = write_series(folder, [1.0] * 12, run_cv=0.02, seed=3, arguments=GUIDED)
    if seeds:
        runs = [write_history_run(folder / f"seed{i:03d}.jsonl", i, arguments={
            **GUIDED, "seed": 7 if i % 3 == 0 else 0}) for i in range(12)]
    unguided = write_history_run(folder / "unguided.jsonl", 40, factor=1 / 2.6,
                                 arguments={"guidance_scale": 1.0, "seed": 0})
    path = tmp_path / ("seeds.sqlite" if seeds else "mixed.sqlite")
    with open_store(path, create=True) as store:
        for run in [*runs[:6], unguided, *runs[6:]]:
            store.add(run)
        return store.rows()


def test_a_run_with_other_call_arguments_is_a_series_of_its_own_and_marked(tmp_path):
    series = build_series(mixed_store(tmp_path))
    by_mark = {(s.workload.split()[1], s.mark): s for s in series}
    assert sorted(by_mark) == [("bs1", "guidance_scale 1.0"), ("bs1", "guidance_scale 5.0"),
                               ("bs2", "guidance_scale 1.0"), ("bs2", "guidance_scale 5.0")]
    guided = by_mark[("bs1", "guidance_scale 5.0")]
    assert len(guided.points) == 12 and guided.events == ()
    assert guided.latency.sigma < 0.05  # the 2.6x faster run is not in its noise
    assert len(by_mark[("bs1", "guidance_scale 1.0")].points) == 1
    assert guided.label == f"{guided.workload} · guidance_scale 5.0"


def test_another_seed_stays_in_the_series_and_one_argument_set_is_not_marked(tmp_path):
    series = build_series([r for r in mixed_store(tmp_path, seeds=True)
                           if r.result.guidance_scale == 5.0])
    assert len(series) == 2 and all(len(s.points) == 12 for s in series)
    assert all(s.mark == "" and s.label == s.workload for s in series)


def test_a_drifting_stored_series_is_one_drift_in_the_feed_not_a_staircase(tmp_path):
    from bench.analyse.trends import DriftEvent, StepEvent

    series = stored_series(tmp_path, [1.01 ** i for i in range(30)], seed=6)
    for s in series:
        assert [type(e) for e in s.events if e.metric == LATENCY] == [DriftEvent]
    events = feed(series)
    assert not any(isinstance(e, StepEvent) for e in events)
    drift = events[0]
    assert drift.worse and drift.when is drift.last
    assert re.match(r"latency drifts \+[01]\.\d\d%/run \[\+0\.\d\d%, \+1\.\d\d%\] over 30 runs,"
                    r" \+\d\d\.\d% in all \(slower\)$", event_text(drift)), event_text(drift)
    assert drift.commits == f"{drift.first.run.commit[:10]}..{drift.last.run.commit[:10]}"
