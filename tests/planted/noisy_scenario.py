"""Scenario for the planted-nondeterminism test: text-to-image, and it makes the planted
scheduler module importable, so a model folder naming ``planted_noise.NoisyEulerScheduler``
loads through diffusers' ordinary ``from_pretrained`` (which only loads classes from
modules already imported)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import planted_noise  # noqa: E402,F401  (registers the module for from_pretrained)

from bench.plan.scenario import Scenario  # noqa: E402

SCENARIO = Scenario(
    name="planted-noise",
    description="text-to-image on a pipeline whose scheduler draws unseeded noise",
    task="text2img",
)
