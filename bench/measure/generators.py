"""Seeded generators: exactly one per image, built fresh for every call.

``[generator] * n`` is one generator drawn in sequence, so image *i* would depend on its
position in the batch; the harness never does that and refuses lists of the wrong length
before diffusers sees them.
"""

from __future__ import annotations

from collections.abc import Sequence


def generator_device(choice: str, device: str) -> str:
    """``cpu`` (portable across GPUs) or ``device`` (the pipeline's own device)."""
    return "cpu" if choice == "cpu" else device


def make_generators(seeds: Sequence[int], device: str) -> list:
    import torch

    return [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]


def check_generator_count(generators: Sequence, batch_size: int, num_images_per_prompt: int) -> None:
    expected = batch_size * num_images_per_prompt
    if len(generators) != expected:
        raise ValueError(
            f"{len(generators)} generators for {expected} images"
            f" (batch_size {batch_size} x num_images_per_prompt {num_images_per_prompt}):"
            " pass exactly one generator per image"
        )
