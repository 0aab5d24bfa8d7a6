"""The sweep loop alone (executors given as plain functions): a signal is raised only
while a config is measured, an unwritable record does not end the sweep, resumed
records are not run again. No model is loaded."""

from __future__ import annotations

import os
import signal

import pytest

from bench.execute.interrupts import Interrupted, InterruptGuard, deferred
from bench.execute.sweep import run_sweep
from bench.measure.config import failed_result
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan
from bench.result import Status
from bench.store.run_file import RunWriter, read_run


def plan(batch_sizes: str = "1,2,4"):
    return make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                     SweepOptions(batch_sizes=batch_sizes))


def sweep(tmp_path, execute, the_plan=None, **kwargs):
    the_plan = the_plan or plan()
    path = tmp_path / "run.jsonl"
    with RunWriter(path) as writer:
        writer.write({"type": "header", "schema": 1, "tool": "sdxl-bench", "plan": {}})
        records, code = run_sweep(the_plan, execute, writer, footer={}, **kwargs)
    return records, code, read_run(path)


def ok(plan, config):
    return failed_result(config, Status.OK, None).replace(images_per_s=1.0)


def test_signal_inside_interruptible_raises_interrupted():
    with InterruptGuard() as guard, pytest.raises(Interrupted) as caught, guard.interruptible():
        os.kill(os.getpid(), signal.SIGTERM)
    assert caught.value.exit_code == 143


def test_signal_outside_interruptible_is_only_remembered():
    with InterruptGuard() as guard:
        os.kill(os.getpid(), signal.SIGINT)
        assert guard.signum == signal.SIGINT
    assert guard.exit_code == 130


def test_signal_in_a_deferred_block_is_raised_at_its_end():
    finished = []
    with InterruptGuard() as guard, pytest.raises(Interrupted), guard.interruptible():
        with deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            finished.append("started the child")  # not cut short by the signal
    assert finished == ["started the child"]


def test_deferred_outside_any_guard_changes_nothing():
    with deferred():
        finished = True
    assert finished


def test_signal_between_configs_stops_the_sweep_without_losing_the_record(tmp_path):
    def after_record(record):  # runs after the record is written, outside any measurement
        if record.batch_size == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    records, code, run = sweep(tmp_path, ok, on_config=after_record)
    assert code == 143
    assert [r.status for r in run.results] == [Status.OK, Status.OK]
    assert run.end.status == "interrupted"


def test_signal_between_rounds_merges_the_finished_rounds_and_starts_no_other(tmp_path):
    the_plan = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                         SweepOptions(batch_sizes="1,2", rounds=3))

    def timed(plan, config):
        return ok(plan, config).with_fields(latency_s={"median": 0.1, "values": [0.1, 0.1]})

    def after_record(record):
        if record.kind == "round" and record.round == 1 and record.batch_size == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # round 1 is over, round 2 not begun

    records, code, run = sweep(tmp_path, timed, the_plan, on_config=after_record)
    assert code == 143 and run.end.status == "interrupted"
    assert [(r.rounds, r.round_statuses) for r in run.results] == [(1, ("ok",)), (1, ("ok",))]
    assert [r.rounds_planned for r in run.results] == [3, 3]


def test_signal_during_a_config_records_it_as_interrupted(tmp_path):
    def execute(plan, config):
        if config.batch_size == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return ok(plan, config)

    records, code, run = sweep(tmp_path, execute)
    assert code == 130
    assert [r.status for r in run.results] == [Status.OK, Status.INTERRUPTED]


def test_record_that_cannot_be_written_becomes_an_error_and_the_sweep_goes_on(tmp_path):
    def execute(plan, config):
        result = ok(plan, config)
        if config.batch_size == 2:
            result = result.replace(images_per_s=float("nan"))  # JSON has no NaN
        return result

    records, code, run = sweep(tmp_path, execute)
    assert [r.status for r in run.results] == [Status.OK, Status.ERROR, Status.OK]
    assert "could not be written" in run.results[1].error


def test_previous_records_are_not_run_again_and_their_oom_skips_larger(tmp_path):
    the_plan = plan("1,2,4")
    previous = [failed_result(the_plan.configs[1], Status.OOM, "OutOfMemoryError")]
    ran = []
    records, code, run = sweep(tmp_path, lambda p, c: ran.append(c.batch_size) or ok(p, c),
                               the_plan, previous=previous)
    assert ran == [1]
    assert [r.status for r in records] == [Status.OK, Status.SKIPPED]
    assert run.end.configs == 3
