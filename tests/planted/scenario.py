"""Scenario for the planted-regression tests: text-to-image, and with ``PLANTED_EXTRA_MIB``
set, every UNet forward also allocates and touches that many MiB (a real extra allocation,
freed again), so the config's peak memory grows while its key stays the same; with
``PLANTED_UNET_DELAY_MS`` set, every UNet forward also waits that long, a slow component
whose effect (several times a tiny call) no load on a shared machine can hide."""

import os
import time

import torch

from bench.plan.scenario import Scenario

EXTRA_BYTES = int(float(os.environ.get("PLANTED_EXTRA_MIB", "0")) * 2**20)
DELAY_S = float(os.environ.get("PLANTED_UNET_DELAY_MS", "0")) / 1000


def _allocate_extra(module, args, output):
    if type(module).__name__ != "UNet2DConditionModel":
        return
    if EXTRA_BYTES:
        extra = torch.ones(EXTRA_BYTES // 4, dtype=torch.float32)  # ones: every page touched
        del extra
    if DELAY_S:
        time.sleep(DELAY_S)


torch.nn.modules.module.register_module_forward_hook(_allocate_extra)

SCENARIO = Scenario(
    name="planted",
    description="text-to-image whose UNet allocates PLANTED_EXTRA_MIB more and waits"
                " PLANTED_UNET_DELAY_MS per forward",
    task="text2img",
)
