"""Executors: measure one config, ``(plan, config) -> ConfigResult``, interchangeably.

``InProcess`` measures with pipelines loaded once in this process;
``bench.execute.isolate.Isolated`` runs each config in a fresh worker process;
``bench.execute.distributed.ranks.RankExecutor`` measures a rank's share. All produce the
same results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.measure.config import measure_in_process
from bench.plan.sweep import Config, Plan
from bench.result import ConfigResult


@dataclass
class InProcess:
    """Measure configs with the pipelines of this process (a ``PipelineGroups``)."""

    pipes: Any
    images: tuple
    nvml_device: Any = None
    memory_budget_gib: float | None = None
    on_images: Any = None  # e.g. ImageSaver.record_fields: sees each config's last images
    _flops_counted: bool = False

    def __call__(self, plan: Plan, config: Config) -> ConfigResult:
        if not self._flops_counted:  # its one-time memory in every config's peak alike
            from bench.measure.limits import count_flops_ahead

            count_flops_ahead(plan.configs)
            self._flops_counted = True
        result = measure_in_process(plan, config, self.pipes, self.images, self.nvml_device,
                                    self.memory_budget_gib, self.on_images)
        return result.with_fields(**self.pipes.describe(config))
