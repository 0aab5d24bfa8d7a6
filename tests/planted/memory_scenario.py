"""Scenario for the planted-memory test: text-to-image, and with ``PLANTED_EXTRA_MIB`` set,
every UNet forward also allocates and touches that many MiB (a real extra allocation,
freed again), so the config's peak memory grows while its key stays the same."""

import os

import torch

from bench.plan.scenario import Scenario

EXTRA_BYTES = int(float(os.environ.get("PLANTED_EXTRA_MIB", "0")) * 2**20)


def _allocate_extra(module, args, output):
    if EXTRA_BYTES and type(module).__name__ == "UNet2DConditionModel":
        extra = torch.ones(EXTRA_BYTES // 4, dtype=torch.float32)  # ones: every page touched
        del extra


torch.nn.modules.module.register_module_forward_hook(_allocate_extra)

SCENARIO = Scenario(
    name="planted-memory",
    description="text-to-image whose UNet allocates PLANTED_EXTRA_MIB more per forward",
    task="text2img",
)
