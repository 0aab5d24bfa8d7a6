"""``--rounds`` and adaptive repeats in the plan: the round-robin order and bad values."""

import pytest

from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan
from tests.support.cli import run_in_process


def plan(**options):
    return make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                     SweepOptions(batch_sizes="1,2,4", **options))


def test_each_round_starts_one_config_later_so_every_config_takes_every_position():
    schedule = plan(rounds=4).schedule()
    order = [(r, c.batch_size) for r, c in schedule]
    assert order == [(1, 1), (1, 2), (1, 4), (2, 2), (2, 4), (2, 1),
                     (3, 4), (3, 1), (3, 2), (4, 1), (4, 2), (4, 4)]
    positions = {b: {i % 3 for i, (_, c) in enumerate(schedule[:9]) if c.batch_size == b}
                 for b in (1, 2, 4)}
    assert positions == {1: {0, 1, 2}, 2: {0, 1, 2}, 4: {0, 1, 2}}


def test_one_round_is_the_plain_plan_order_and_leaves_the_plan_description_as_it_was():
    one = plan()
    assert [c for _, c in one.schedule()] == list(one.configs)
    assert "rounds" not in one.describe()  # older run files resume as before
    assert plan(rounds=2).describe()["rounds"] == 2


def test_adaptive_settings_reach_every_config_and_default_a_call_cap():
    configs = plan(repeats=6, target_uncertainty="2%", max_time_s=30.0).configs
    assert {(c.target_uncertainty, c.max_time_s, c.min_time_s, c.max_repeats)
            for c in configs} == {(0.02, 30.0, None, 100)}
    assert plan().configs[0].max_repeats is None  # plain --repeats: a fixed count


@pytest.mark.parametrize("flags, fragment", [
    (["--rounds", "0"], "--rounds 0: must be a positive integer"),
    (["--min-time", "0"], "--min-time 0.0: must be a positive number of seconds"),
    (["--max-time", "-5"], "--max-time -5.0: must be a positive number of seconds"),
    (["--max-time", "nan"], "--max-time nan"),
    (["--min-time", "10", "--max-time", "5"], "--min-time 10.0 is above --max-time 5.0"),
    (["--target-uncertainty", "0"], "--target-uncertainty '0': must be a percentage in (0, 100)"),
    (["--target-uncertainty", "100%"], "--target-uncertainty '100%'"),
    (["--target-uncertainty", "two"], "--target-uncertainty 'two'"),
    (["--max-repeats", "50"], "--max-repeats 50: only with --min-time"),
    (["--target-uncertainty", "5", "--repeats", "6", "--max-repeats", "3"],
     "--max-repeats 3 is below --repeats 6"),
    (["--rounds", "2", "--nproc", "2"], "--rounds is not available with --nproc"),
    (["--max-time", "5", "--nproc", "2"], "--max-time is not available with --nproc"),
    (["--rounds", "2", "--save-images", "imgs"], "--save-images cannot be combined with --rounds"),
])
def test_bad_repetition_values_are_one_line_and_exit_2(flags, fragment, tmp_path):
    result = run_in_process("run", *flags, "--out", str(tmp_path / "run.jsonl"))
    assert result.code == 2
    assert result.err.strip().count("\n") == 0 and fragment in result.err
    assert not (tmp_path / "run.jsonl").exists()
