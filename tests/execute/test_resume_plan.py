"""How ``--resume`` describes a plan that differs from the run file's (pure, no model)."""

from __future__ import annotations

from bench.execute.resume import plan_difference
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan


def describe(scenario: str = "t2i-prompts", **options) -> dict:
    return make_plan(load_scenario(scenario), resolve_model("tiny"),
                     SweepOptions(**options)).describe()


def test_same_plan_has_no_difference():
    assert plan_difference(describe(batch_sizes="1,2"), describe(batch_sizes="1,2")) is None


def test_different_scenario_is_named():
    assert plan_difference(describe(), describe("t2i-seeded")).startswith("scenario was")


def test_missing_and_new_configs_are_listed():
    text = plan_difference(describe(batch_sizes="1,2,4"), describe(batch_sizes="1,2,8"))
    assert "t2i-prompts/bs4-n1" in text and "t2i-prompts/bs8-n1" in text


def test_changed_config_field_is_named_with_both_values():
    assert plan_difference(describe(steps=4), describe(steps=3)) == (
        "num_inference_steps was 4, now 3")
