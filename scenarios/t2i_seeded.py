"""Guide case 7: deterministic generation, one seeded torch.Generator per image.

Every timed call's images are hashed, and the record says whether all calls made
bit-identical images (``repeats_identical``).
"""

from bench.plan.scenario import DEFAULT_PROMPTS, Scenario

SCENARIO = Scenario(
    name="t2i-seeded",
    description="deterministic generation: one seeded generator per image, repeats verified",
    task="text2img",
    prompts=DEFAULT_PROMPTS[:1],
    axes=("batch_size", "num_images_per_prompt"),
    check_repeats=True,
)
