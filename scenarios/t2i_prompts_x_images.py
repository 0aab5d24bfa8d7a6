"""Guide case 3: text-to-image, a list of prompts combined with num_images_per_prompt."""

from bench.plan.scenario import Scenario

SCENARIO = Scenario(
    name="t2i-prompts-x-images",
    description="text-to-image, a list of prompts combined with num_images_per_prompt",
    task="text2img",
    axes=("batch_size", "num_images_per_prompt"),
)
