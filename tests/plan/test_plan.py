import pytest

from bench.errors import UsageError
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan, pair_count, parse_int_list


def plan(scenario="t2i-prompts-x-images", **options):
    return make_plan(load_scenario(scenario), resolve_model("tiny"), SweepOptions(**options))


def test_grid_has_one_config_per_point_in_order():
    configs = plan(batch_sizes="1,2,4", images_per_prompt="1,3").configs
    assert [(c.batch_size, c.num_images_per_prompt) for c in configs] == [
        (1, 1), (1, 3), (2, 1), (2, 3), (4, 1), (4, 3)
    ]
    assert len({c.config_id for c in configs}) == 6


def test_images_per_call_is_batch_size_times_images_per_prompt():
    for config in plan(batch_sizes="2,3", images_per_prompt="2,4").configs:
        assert config.images_per_call == config.batch_size * config.num_images_per_prompt
        assert len(config.seeds) == config.images_per_call


def test_seeds_count_up_from_the_base_seed():
    config = plan(batch_sizes="2", images_per_prompt="2", seed=100).configs[0]
    assert config.seeds == (100, 101, 102, 103)


def test_img2img_runs_int_steps_times_strength():
    config = plan("i2i-prompts", batch_sizes="1", steps=7, strength=0.5).configs[0]
    assert config.steps_run == 3
    assert plan(batch_sizes="1", steps=7).configs[0].steps_run == 7


def test_preset_defaults_fill_size_and_steps():
    config = plan(batch_sizes="1", images_per_prompt="1").configs[0]
    assert (config.height, config.width, config.num_inference_steps) == (64, 64, 4)


def test_scenario_without_an_axis_pins_it_to_one():
    configs = plan("t2i-prompts", batch_sizes="1,2").configs
    assert {c.num_images_per_prompt for c in configs} == {1}


@pytest.mark.parametrize(
    "text, fragment",
    [("1,,2", "''"), ("a,b", "'a'"), ("0", "'0'"), ("", "''"), ("-1", "'-1'"), ("2,2", "repeated")],
)
def test_malformed_lists_are_refused_naming_the_bad_item(text, fragment):
    with pytest.raises(UsageError, match=fragment):
        parse_int_list(text, "--batch-sizes")


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"height": 60}, "--height 60: must be a positive multiple of 8"),
        ({"width": 0}, "--width 0"),
        ({"steps": 0}, "--steps 0"),
        ({"repeats": 0}, "--repeats 0"),
        ({"warmup": -1}, "--warmup -1"),
        ({"dtype": "float8"}, "--dtype 'float8'"),
        ({"strength": 0.5}, "--strength applies to image-to-image"),
        ({"images_per_prompt": "2", "batch_sizes": "1"}, None),
    ],
)
def test_bad_sweep_values_are_refused_with_the_value_named(options, fragment):
    if fragment is None:  # a valid combination: must not raise
        assert plan(**options).configs
        return
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(")):
        plan(**options)


def test_axis_the_scenario_does_not_sweep_is_a_conflict():
    with pytest.raises(UsageError, match="does not sweep num_images_per_prompt"):
        plan("t2i-prompts", images_per_prompt="2")


@pytest.mark.parametrize("strength, steps", [(0.0, 4), (1.5, 4), (0.2, 4)])
def test_img2img_strength_outside_range_or_zero_steps_is_refused(strength, steps):
    with pytest.raises(UsageError, match="--st"):
        plan("i2i-prompts", strength=strength, steps=steps)


def test_img2img_image_count_must_pair_with_prompts():
    scenario = load_scenario("i2i-prompts")
    assert pair_count(scenario, ("a", "b"), ("x.png", "y.png")) == 2
    assert pair_count(scenario, ("a",), ("x.png", "y.png", "z.png")) == 3
    with pytest.raises(UsageError, match="3 images cannot pair with 2 prompts"):
        pair_count(scenario, ("a", "b"), ("x", "y", "z"))
