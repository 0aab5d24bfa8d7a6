from bench.measure.inputs import default_images, layout_call


def test_prompts_cycle_to_fill_the_batch():
    call = layout_call(("p0", "p1", "p2"), (), batch_size=4, num_images_per_prompt=2)
    assert call.prompts == ("p0", "p1", "p2", "p0")
    assert call.num_images_per_prompt == 2
    assert call.prompt_indices == (0, 0, 1, 1, 2, 2, 0, 0)


def test_img2img_pairs_are_expanded_so_every_prompt_keeps_its_image():
    call = layout_call(("p0", "p1"), ("i0", "i1"), batch_size=2, num_images_per_prompt=2)
    assert call.prompts == ("p0", "p0", "p1", "p1")
    assert call.images == ("i0", "i0", "i1", "i1")
    assert call.num_images_per_prompt == 1


def test_img2img_single_pair_lets_diffusers_repeat_it():
    call = layout_call(("p0",), ("i0",), batch_size=1, num_images_per_prompt=3)
    assert (call.prompts, call.images, call.num_images_per_prompt) == (("p0",), ("i0",), 3)


def test_one_prompt_many_images_pairs_each_image_with_the_prompt():
    call = layout_call(("p0",), ("i0", "i1", "i2"), batch_size=3, num_images_per_prompt=1)
    assert call.prompts == ("p0", "p0", "p0") and call.images == ("i0", "i1", "i2")


def test_default_images_are_deterministic_and_sized():
    first = default_images(3, 48, 64)
    second = default_images(3, 48, 64)
    assert [im.size for im in first] == [(64, 48)] * 3
    assert [im.tobytes() for im in first] == [im.tobytes() for im in second]
    assert len({im.tobytes() for im in first}) == 3


def test_the_presets_byte_tokenizer_would_flag_prompts_clip_reads_whole_so_they_are_not_warned():
    """docs/reliability.md says which prompts are warned about, and why not for presets:
    the presets' tokenizer makes one token per character, not CLIP's tokens."""
    from pathlib import Path

    from bench.assemble.tokenizer import build_tokenizer
    from bench.measure.inputs import truncated_prompts
    from bench.plan.scenario import DEFAULT_PROMPTS

    flagged = truncated_prompts(build_tokenizer(), DEFAULT_PROMPTS)
    assert len(flagged) == 2  # 98 and 138 byte tokens; under 30 words each
    doc = " ".join((Path(__file__).parents[2] / "docs" / "reliability.md").read_text().split())
    assert "the presets (`tiny`, `sdxl-arch`) are not warned about" in doc
