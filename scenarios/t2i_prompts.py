"""Guide case 1: text-to-image with a list of different prompts (batch = number of prompts)."""

from bench.plan.scenario import Scenario

SCENARIO = Scenario(
    name="t2i-prompts",
    description="text-to-image, a list of different prompts",
    task="text2img",
    axes=("batch_size",),
)
