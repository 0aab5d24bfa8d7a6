"""Pipelines per (dtype, optimizations) group, loaded when the sweep reaches the group.

The plan orders configs group by group, so each group is built once and reused across
batch sizes; the previous group is released first, so two never share the device.
"""

from __future__ import annotations

import gc
import time

from bench.assemble.optimize import apply_optimizations
from bench.assemble.pipelines import Pipelines, load_pipelines
from bench.plan.models import ModelSpec
from bench.plan.sweep import Config


class PipelineGroups:
    def __init__(self, spec: ModelSpec, device: str) -> None:
        self.spec = spec
        self.device = device
        self.key: tuple | None = None
        self.pipes: Pipelines | None = None
        self.build_s: float | None = None
        self.groups_built = 0

    def for_config(self, config: Config) -> Pipelines:
        key = (config.dtype, config.optimizations)
        if key != self.key:
            self._release()
            if config.optimizations.compile:
                import torch._dynamo

                # Forget the previous group's compiled code: its modules are gone, and
                # compiling the new group's must count as compiling, not recompiling.
                torch._dynamo.reset()
            start = time.perf_counter()
            pipes = load_pipelines(self.spec, self.device, config.dtype)
            apply_optimizations(config.optimizations, pipes)
            self.build_s = time.perf_counter() - start
            self.key, self.pipes = key, pipes
            self.groups_built += 1
        return self.pipes

    def _release(self) -> None:
        if self.pipes is None:
            return
        self.key = self.pipes = None
        if self.device.startswith("cuda"):
            import torch

            gc.collect()
            torch.cuda.empty_cache()
        else:
            gc.collect()

    def describe(self, config: Config) -> dict:
        """Build time of the config's group (load + apply; compilation happens later)."""
        same = self.key == (config.dtype, config.optimizations)
        return {"pipeline_build_s": self.build_s if same else None}
