"""Guide case 5: image-to-image, one image and one prompt with num_images_per_prompt."""

from bench.plan.scenario import DEFAULT_PROMPTS, Scenario

SCENARIO = Scenario(
    name="i2i-images-per-prompt",
    description="image-to-image, one image and one prompt with num_images_per_prompt",
    task="img2img",
    prompts=DEFAULT_PROMPTS[:1],
    num_default_images=1,
    call_kwargs={"guidance_scale": 8.0, "strength": 0.5},
    axes=("num_images_per_prompt",),
)
