"""Pairing images across runs: what makes two images comparable (pure, no pipeline)."""

from __future__ import annotations

from bench.determinism.crossrun import EXACT, HASH_DIFFERS, NOT_COMPARABLE, SETTINGS, RunImage, match_image
from bench.determinism.pixels import DEFAULT_TOLERANCE


def image(sha: str = "a", seed: int = 0, prompt: str = "p", **settings) -> RunImage:
    values = {"model": "tiny", "task": "text2img", "dtype": "float32", "height": 32, "width": 32,
              "num_inference_steps": 2, "guidance_scale": 5.0, "strength": None,
              "generator_device": "cpu", **settings}
    return RunImage("s/bs1-n1", 0, seed, prompt, tuple(values[k] for k in SETTINGS), sha, None)


def test_equal_hashes_under_equal_settings_match_exactly():
    assert match_image(image(), image(), DEFAULT_TOLERANCE).status == EXACT


def test_images_made_with_other_steps_are_not_compared():
    match = match_image(image(), image(num_inference_steps=4), DEFAULT_TOLERANCE)
    assert match.status == NOT_COMPARABLE and "num_inference_steps 2 vs 4" in match.note


def test_images_of_other_generator_devices_are_not_compared():
    match = match_image(image(), image(generator_device="device"), DEFAULT_TOLERANCE)
    assert match.status == NOT_COMPARABLE


def test_images_of_other_prompts_are_not_compared():
    assert match_image(image(), image(prompt="q"), DEFAULT_TOLERANCE).status == NOT_COMPARABLE


def test_differing_hashes_without_pixels_cannot_be_judged_beyond_inequality():
    match = match_image(image(sha="a"), image(sha="b"), DEFAULT_TOLERANCE)
    assert match.status == HASH_DIFFERS and "--save-images" in match.note


def test_an_unreadable_saved_image_is_not_comparable_and_named(tmp_path):
    from dataclasses import replace

    from PIL import Image

    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    Image.new("RGB", (4, 4)).save(good)
    bad.write_bytes(b"\x89PNG cut short")
    match = match_image(replace(image(sha="a"), file=good), replace(image(sha="b"), file=bad),
                        DEFAULT_TOLERANCE)
    assert match.status == NOT_COMPARABLE and f"saved image {bad} cannot be read" in match.note
