"""FLOP counting on the meta device: reference figures, hand counts, per-image accounting."""

from __future__ import annotations

import pytest
import torch

from bench.measure.flops import component_flops, count_flops, flops_per_image
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan

SDXL_UNET_TFLOP = 6.761  # one forward, 1024², 77 tokens, one sample, attention included
SDXL_UNET_NO_ATTENTION_TFLOP = 5.98


def one_config(scenario: str = "t2i-prompts", model: str = "tiny", **options):
    plan = make_plan(load_scenario(scenario), resolve_model(model), SweepOptions(
        batch_sizes=options.pop("batch_sizes", "1"), **options))
    return plan.configs[0]


def test_sdxl_unet_flops_at_1024_match_reference():
    unet = component_flops("sdxl-arch", 1024, 1024)["unet"]
    assert unet.total / 1e12 == pytest.approx(SDXL_UNET_TFLOP, rel=0.01)


def test_sdxl_unet_flops_without_attention_match_reference():
    unet = component_flops("sdxl-arch", 1024, 1024)["unet"]
    assert (unet.total - unet.attention) / 1e12 == pytest.approx(SDXL_UNET_NO_ATTENTION_TFLOP, rel=0.01)


def test_linear_flops_match_hand_count():
    layer = torch.nn.Linear(3, 5, device="meta")
    x = torch.empty(7, 3, device="meta")
    assert count_flops(layer, x).total == 2 * 7 * 3 * 5  # one multiply-add per (row, in, out)


def test_conv2d_flops_match_hand_count():
    conv = torch.nn.Conv2d(4, 6, kernel_size=3, padding=1, device="meta")
    x = torch.empty(2, 4, 10, 12, device="meta")
    outputs = 2 * 6 * 10 * 12
    assert count_flops(conv, x).total == 2 * outputs * 4 * 3 * 3


def test_attention_flops_are_counted_apart_from_projections():
    q = torch.empty(1, 2, 16, 8, device="meta")
    count = count_flops(torch.nn.functional.scaled_dot_product_attention, q, q, q)
    assert count.attention == count.total == 2 * (2 * 2 * 16 * 16 * 8)  # QKᵀ and AV


def test_guidance_doubles_unet_flops_per_image():
    guided = flops_per_image(one_config(guidance_scale=5.0))
    unguided = flops_per_image(one_config(guidance_scale=1.0))
    assert guided["flops_breakdown"]["unet"] == 2 * unguided["flops_breakdown"]["unet"]


def test_unet_flops_scale_with_steps_run():
    four = flops_per_image(one_config(steps=4))["flops_breakdown"]["unet"]
    eight = flops_per_image(one_config(steps=8))["flops_breakdown"]["unet"]
    assert eight == 2 * four


def test_img2img_counts_only_steps_run_and_the_vae_encode():
    config = one_config("i2i-prompts", steps=10, strength=0.5, guidance_scale=5.0)
    fields = flops_per_image(config)
    unet_forward = component_flops("tiny", config.height, config.width)["unet"].total
    assert fields["flops_method"]["unet_forwards_per_image"] == 5 * 2
    assert fields["flops_breakdown"]["unet"] == unet_forward * 10
    assert fields["flops_breakdown"]["vae_encode"] > 0


def test_text_encoder_flops_are_shared_by_the_images_of_a_prompt():
    one = flops_per_image(one_config("t2i-images-per-prompt", images_per_prompt="1"))
    four = flops_per_image(one_config("t2i-images-per-prompt", images_per_prompt="4"))
    assert four["flops_breakdown"]["text_encoders"] * 4 == one["flops_breakdown"]["text_encoders"]


def test_folder_model_is_counted_from_its_configs_like_the_preset():
    from bench.assemble.pipelines import tiny_folder

    folder = component_flops(str(tiny_folder()), 64, 64)
    preset = component_flops("tiny", 64, 64)
    assert {k: v.total for k, v in folder.items()} == {k: v.total for k, v in preset.items()}


LAYOUTS = [(1, 1), (1, 3), (1, 4), (2, 2), (3, 1)]  # (prompts per call, images per prompt)


def real_call_flops_per_image(pipes, scenario: str, batch_size: int, images_per_prompt: int):
    """The oracle: ``FlopCounterMode`` around one real tiny pipeline call, with attention
    forced to the math kernel (the fused CPU kernel is invisible to the counter)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from bench.measure.config import prepare_call
    from bench.measure.inputs import default_images

    plan = make_plan(load_scenario(scenario), resolve_model("tiny"), SweepOptions(
        batch_sizes=str(batch_size), images_per_prompt=str(images_per_prompt), steps=2,
        height=32, width=32))
    config = plan.configs[0]
    images = (default_images(len(plan.prompts), 32, 32) if config.task == "img2img" else ())
    call = prepare_call(pipes, config, plan.prompts, images)
    with sdpa_kernel(SDPBackend.MATH):
        counted = count_flops(call, call.fresh_generators()).total
    return config, counted / config.images_per_call


@pytest.mark.parametrize("scenario", ["i2i-prompts-x-images", "t2i-prompts-x-images"])
def test_flops_per_image_match_a_counter_on_real_calls_for_every_layout(tiny_pipes, scenario):
    ratios = {}
    for layout in LAYOUTS:
        config, real = real_call_flops_per_image(tiny_pipes, scenario, *layout)
        ratios[layout] = flops_per_image(config)["flops_per_image"] / real
    assert ratios == {layout: pytest.approx(1.0, rel=0.005) for layout in LAYOUTS}
