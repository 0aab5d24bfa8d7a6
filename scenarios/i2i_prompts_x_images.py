"""Guide case 6: image-to-image, lists of images and prompts with num_images_per_prompt.

Every prompt keeps its own image: the harness pre-expands (prompt, image) pairs instead
of letting diffusers tile the images against the repeated prompts.
"""

from bench.plan.scenario import Scenario

SCENARIO = Scenario(
    name="i2i-prompts-x-images",
    description="image-to-image, lists of images and prompts with num_images_per_prompt",
    task="img2img",
    call_kwargs={"guidance_scale": 8.0, "strength": 0.5},
    axes=("batch_size", "num_images_per_prompt"),
)
