"""Pure parts of the determinism checks: pixel metrics, image sources, verdicts on arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.determinism.checks import check_image_sanity, check_repeatability
from bench.determinism.pixels import (
    LEVEL,
    bit_identical,
    default_tolerance,
    max_abs_diff,
    psnr_db,
    quantized_tolerance,
)
from bench.determinism.single import image_sources
from bench.measure.inputs import layout_call
from bench.plan.sweep import Config


def make_config(batch_size: int = 2, n: int = 2, task: str = "text2img") -> Config:
    return Config(
        scenario="s", task=task, model="tiny", device="cpu", dtype="float32",
        batch_size=batch_size, num_images_per_prompt=n, num_inference_steps=2, height=32,
        width=32, guidance_scale=5.0, strength=0.5 if task == "img2img" else None, seed=10,
        generator_device="cpu", warmup=0, repeats=1,
    )


def test_max_abs_diff_measures_the_largest_pixel_change():
    a = np.zeros((4, 4, 3), dtype=np.float32)
    b = a.copy()
    b[1, 2, 0] = 0.25
    assert max_abs_diff(a, b) == pytest.approx(0.25)


def test_max_abs_diff_counts_nan_as_full_scale():
    a = np.zeros((2, 2, 3), dtype=np.float32)
    b = a.copy()
    b[0, 0, 0] = np.nan
    assert max_abs_diff(a, b) == 1.0


def test_uint8_pixels_are_compared_on_the_unit_scale():
    a = np.zeros((2, 2, 3), dtype=np.uint8)
    b = a.copy()
    b[0, 0, 0] = 1
    assert max_abs_diff(a, b) == pytest.approx(LEVEL)


def test_psnr_is_infinite_for_identical_and_finite_otherwise():
    a = np.full((8, 8, 3), 0.5)
    b = a.copy()
    b[0, 0, 0] = 0.6
    assert math.isinf(psnr_db(a, a))
    assert 40 < psnr_db(a, b) < 60


def test_bit_identical_notices_the_smallest_float_change():
    a = np.full((2, 2, 3), 0.5, dtype=np.float32)
    b = a.copy()
    b[0, 0, 0] = np.nextafter(np.float32(0.5), np.float32(1.0))
    assert bit_identical(a, a.copy())
    assert not bit_identical(a, b)


@pytest.mark.parametrize("tolerance, levels", [(0.0, 1), (2e-6, 1), (LEVEL, 2), (3.5 * LEVEL, 4)])
def test_quantized_tolerance_allows_one_extra_level_of_rounding(tolerance, levels):
    assert quantized_tolerance(tolerance) == pytest.approx(levels * LEVEL)


@pytest.mark.parametrize("prompts, batch_size, n", [(3, 4, 2), (1, 3, 1), (2, 2, 3), (3, 1, 4)])
def test_image_sources_follow_the_prompt_layout_of_the_call(prompts, batch_size, n):
    names = tuple(f"p{i}" for i in range(prompts))
    layout = layout_call(names, (), batch_size, n)
    sources = image_sources(make_config(batch_size, n), prompts, 0)
    assert [s.prompt_index for s in sources] == list(layout.prompt_indices)
    assert [s.seed for s in sources] == [10 + i for i in range(batch_size * n)]
    assert [s.copy_index for s in sources] == [i % n for i in range(batch_size * n)]


def test_image_sources_pair_each_prompt_with_its_input_image():
    sources = image_sources(make_config(3, 2, "img2img"), 3, 3)
    layout = layout_call(("a", "b", "c"), ("A", "B", "C"), 3, 2)
    assert [s.input_image_index for s in sources] == [0, 0, 1, 1, 2, 2]
    assert [("abc"[s.prompt_index], "ABC"[s.input_image_index]) for s in sources] == list(
        zip(layout.prompts, layout.images, strict=True))


def test_repeatability_fails_when_one_image_changed():
    first = np.random.default_rng(0).random((2, 4, 4, 3)).astype(np.float32)
    second = first.copy()
    second[1, 0, 0, 0] += 1e-6
    result = check_repeatability(make_config(1, 2), first, second, [0, 0])
    assert result.verdict == "fail"
    assert "images 1 of 2" in result.detail
    assert result.max_abs_diff == pytest.approx(1e-6, rel=0.1)


def test_image_sanity_flags_nan_and_black_images():
    good = np.full((1, 4, 4, 3), 0.5)
    nan = good.copy()
    nan[0, 0, 0, 0] = np.nan
    black = np.zeros_like(good)
    result = check_image_sanity(make_config(), [good, nan, black])
    assert (result.verdict, result.extra["nan_images"], result.extra["black_images"]) == ("fail", 1, 1)


def test_default_tolerance_is_one_level_in_float32_and_eight_in_half_precision():
    assert default_tolerance("float32") == pytest.approx(LEVEL)
    assert default_tolerance("bfloat16") == default_tolerance("float16") == pytest.approx(8 * LEVEL)
