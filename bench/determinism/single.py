"""One image of a batch on its own: which prompt and input image it came from, and a call
that makes just that image (batch size 1, one image per prompt, its own seed)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.measure.config import PreparedCall, prepare_call
from bench.plan.sweep import Config


@dataclass(frozen=True)
class ImageSource:
    """Where image ``index`` of a call comes from (mirrors ``bench.measure.inputs.layout_call``)."""

    index: int
    prompt_index: int
    copy_index: int
    input_image_index: int | None  # img2img only
    seed: int


def image_sources(config: Config, num_prompts: int, num_input_images: int) -> list[ImageSource]:
    """Image *i* belongs to batch entry ``i // n``; entries cycle over the (prompt, image) pairs."""
    n = config.num_images_per_prompt
    pairs = max(num_prompts, num_input_images) if num_input_images else num_prompts
    sources = []
    for index, seed in enumerate(config.seeds):
        pair = (index // n) % pairs
        sources.append(ImageSource(
            index=index,
            prompt_index=pair % num_prompts,
            copy_index=index % n,
            input_image_index=pair % num_input_images if num_input_images else None,
            seed=seed,
        ))
    return sources


def single_config(config: Config, seed: int) -> Config:
    return replace(config, batch_size=1, num_images_per_prompt=1, seed=seed)


def single_call(pipes, config: Config, prompt: str, image, seed: int) -> PreparedCall:
    """The call that makes one image alone: the same settings, one prompt, one seed."""
    images = (image,) if image is not None else ()
    return prepare_call(pipes, single_config(config, seed), (prompt,), images)
