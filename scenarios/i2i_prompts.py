"""Guide case 4: image-to-image, a list of images with a list of prompts."""

from bench.plan.scenario import Scenario

SCENARIO = Scenario(
    name="i2i-prompts",
    description="image-to-image, a list of images with a list of prompts",
    task="img2img",
    call_kwargs={"guidance_scale": 8.0, "strength": 0.5},
    axes=("batch_size",),
)
