"""Measuring one config and turning any failure into a record, never into a lost sweep.

An executor is a callable ``(plan, config) -> record``. ``InProcess`` measures with
pipelines already loaded in this process; ``bench.execute.isolate.Isolated`` runs each config
in a fresh worker process. Both produce the same records.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from bench.measure.oom import MemoryBudget, is_out_of_memory, memory_reached, release_memory, reset_peaks
from bench.plan.sweep import Config, Plan
from bench.units import GIB


def failed_record(config: Config, status: str, error: str, **extra) -> dict:
    """A config record for a config that has no measurement (oom, skipped, error, …)."""
    return {"type": "config", **config.describe(), "status": status, "error": error,
            "latency_s": None, "images_per_s": None, **extra}


def measure_in_process(plan: Plan, config: Config, pipes, images: tuple, nvml_device=None,
                       memory_budget_gib: float | None = None, on_images=None) -> dict:
    """Measure one config; an exception becomes an ``oom`` or ``error`` record.

    ``Interrupted`` (a ``BaseException``) is not caught: the caller records it.
    """
    from bench.measure.config import default_trackers, measure_config, prepare_call

    budget = (MemoryBudget(int(memory_budget_gib * GIB), config.device)
              if memory_budget_gib else None)
    reset_peaks(config.device)
    try:
        with budget or nullcontext():
            group = pipes.for_config(config) if hasattr(pipes, "for_config") else pipes
            call = prepare_call(group, config, plan.prompts, images)
            record = measure_config(
                call, default_trackers(config, nvml_device), plan.scenario.check_repeats, on_images
            )
    except Exception as exc:  # one failing config must not spoil the sweep
        oom = is_out_of_memory(exc)
        message = f"{type(exc).__name__}: {exc}".strip()
        extra: dict = {"peak_memory_bytes": memory_reached(config.device)} if oom else {}
        record = failed_record(config, "oom" if oom else "error", message.splitlines()[0], **extra)
    if record["status"] != "ok":  # after the except block: the traceback's tensors are gone
        release_memory(config.device)
    if budget:
        record.update(budget.result())
    return record


@dataclass
class InProcess:
    """Measure configs with pipelines loaded once in this process."""

    pipes: Any
    images: tuple
    nvml_device: Any = None
    memory_budget_gib: float | None = None
    on_images: Any = None  # e.g. ImageSaver.record_fields: sees each config's last images

    def __call__(self, plan: Plan, config: Config) -> dict:
        return measure_in_process(plan, config, self.pipes, self.images, self.nvml_device,
                                  self.memory_budget_gib, self.on_images)
