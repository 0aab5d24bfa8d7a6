"""A planted source of nondeterminism for the tests: a scheduler that draws unseeded noise.

``NoisyEulerScheduler`` is the real Euler scheduler plus a small perturbation from torch's
global random state at every step, which no per-image generator controls. A pipeline
folder whose ``model_index.json`` names it is loaded by ``from_pretrained`` like any
other (this module must be importable, e.g. on ``PYTHONPATH``).
"""

import torch
from diffusers import EulerDiscreteScheduler, SchedulerMixin  # noqa: F401

# diffusers picks the loading method by looking up base classes such as ``SchedulerMixin``
# in the module that a component's class comes from; hence the import above.


class NoisyEulerScheduler(EulerDiscreteScheduler):
    def step(self, model_output, timestep, sample, *args, **kwargs):
        noise = torch.randn(sample.shape, dtype=sample.dtype).to(sample.device)  # unseeded on purpose
        return super().step(model_output + 0.05 * noise, timestep, sample, *args, **kwargs)
