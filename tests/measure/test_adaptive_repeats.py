"""Adaptive repeats: the timed-call loop stops on the rule the record names.

``StopRule`` is judged on given latencies and clock readings (no timing claims); two
real tiny-pipeline configs check that the loop and the trackers follow it.
"""

import pytest

from bench.measure.config import StopRule, default_trackers, measure_config, prepare_call
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan

TIGHT = [1.00, 1.001, 0.999, 1.0, 1.002, 0.998]  # six calls within ±0.2 %


def test_fixed_repeats_stop_after_that_many_calls_and_add_no_fields():
    rule = StopRule(3)
    assert not rule.done([1.0, 1.0], 0.0)
    assert rule.done([1.0, 1.0, 1.0], 0.0) and rule.stopped_by == "repeats"
    assert rule.result() == {}


def test_a_tight_sample_stops_on_the_target_once_the_interval_exists():
    rule = StopRule(3, target=0.01, max_repeats=100)
    assert not rule.done(TIGHT[:5], 1.0)  # fewer than 6 calls: no 95 % interval yet
    assert rule.done(TIGHT, 1.0) and rule.stopped_by == "target"
    assert rule.uncertainty == pytest.approx(0.002, rel=0.01)


def test_a_loose_sample_runs_on_until_the_time_budget_is_spent():
    loose = [1.0, 1.5, 0.7, 1.2, 0.9, 1.4]
    rule = StopRule(3, max_time_s=10.0, target=0.01, max_repeats=100)
    assert not rule.done(loose, 9.9)
    assert rule.done(loose, 10.0) and rule.stopped_by == "max_time"


def test_the_call_count_cap_stops_a_sample_that_never_gets_tight():
    rule = StopRule(3, target=0.001, max_repeats=8)
    assert not rule.done([1.0, 2.0] * 3 + [1.0], 0.5)
    assert rule.done([1.0, 2.0] * 4, 0.5) and rule.stopped_by == "max_repeats"


def test_min_time_keeps_quick_calls_going_and_says_it_decided():
    rule = StopRule(3, min_time_s=2.0, max_repeats=100)
    assert not rule.done([0.1] * 5, 0.5)
    assert rule.done([0.1] * 20, 2.0) and rule.stopped_by == "min_time"


def test_repeats_stay_the_floor_whatever_the_clock_says():
    rule = StopRule(4, max_time_s=1.0, target=0.5, max_repeats=100)
    assert not rule.done([1.0, 1.0, 1.0], 60.0)


def measure_tiny(pipes, **options):
    plan = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"), SweepOptions(
        batch_sizes="1", steps=1, height=32, width=32, warmup=1, **options))
    config = plan.configs[0]
    call = prepare_call(pipes, config, plan.prompts, ())
    return measure_config(call, default_trackers(config)).to_record()  # as the run file holds it


def test_a_real_config_measured_to_a_loose_target_stops_on_target(tiny_pipes):
    record = measure_tiny(tiny_pipes, repeats=2, target_uncertainty="60%")
    assert record["stopped_by"] == "target"
    assert record["timed_calls"] == record["latency_s"]["n"] >= 6
    assert record["achieved_uncertainty"] <= 0.60


def test_a_real_config_with_an_unreachable_target_stops_on_max_time(tiny_pipes):
    record = measure_tiny(tiny_pipes, repeats=2, target_uncertainty="0.0001%", max_time_s=0.3)
    assert record["stopped_by"] == "max_time"
    assert record["timed_s"] >= 0.3
    # every tracker saw every call: one latency and one stage timing per call
    assert record["latency_s"]["n"] == record["timed_calls"] >= 2
    assert record["stages_s"]["vae_decode"]["n"] == record["timed_calls"]


def test_a_missed_target_becomes_a_warning_naming_the_rule_that_stopped_it():
    from bench.measure.limits import target_missed
    from bench.result import ConfigResult

    plan = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                     SweepOptions(target_uncertainty="1%", max_time_s=5.0))
    config = plan.configs[0]
    missed = ConfigResult(stopped_by="max_time", timed_calls=9, achieved_uncertainty=0.04)
    assert target_missed(config, missed) == (
        "target uncertainty ±1.0% not reached: stopped by max_time after 9 calls with ±4.0%;"
        " raise --max-time or --max-repeats, or measure on a quieter machine")
    assert target_missed(config, missed.replace(stopped_by="target")) is None
