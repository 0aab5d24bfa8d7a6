"""Guide case 2: text-to-image, one prompt, several images with num_images_per_prompt."""

from bench.plan.scenario import DEFAULT_PROMPTS, Scenario

SCENARIO = Scenario(
    name="t2i-images-per-prompt",
    description="text-to-image, one prompt with num_images_per_prompt",
    task="text2img",
    prompts=DEFAULT_PROMPTS[:1],
    axes=("num_images_per_prompt",),
)
