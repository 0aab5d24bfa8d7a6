"""Energy over the timed calls from NVML's total-energy counter → joules per image.

When there is no figure, ``energy_unavailable`` says why (not a GPU, no NVML, no counter),
short enough for a table cell: "n/a (reason)"."""

from __future__ import annotations

import time
from contextlib import contextmanager

from bench.measure.device import synchronize
from bench.measure.trackers import Tracker


class EnergyTracker(Tracker):
    def __init__(self, device: str, nvml_device, images_per_call: int) -> None:
        self.device = device
        self.nvml = nvml_device
        self.images_per_call = images_per_call
        self.calls = 0
        self.joules: float | None = None
        self.seconds: float | None = None
        self.counter_missing = False

    @contextmanager
    def config(self, pipe):
        synchronize(self.device)
        start_mj = self.nvml.energy_mj() if self.nvml else None
        start = time.perf_counter()
        yield
        synchronize(self.device)
        self.seconds = time.perf_counter() - start
        end_mj = self.nvml.energy_mj() if self.nvml else None
        if start_mj is not None and end_mj is not None:
            self.joules = (end_mj - start_mj) / 1000.0
        elif self.nvml:
            self.counter_missing = True

    @contextmanager
    def call(self):
        yield
        self.calls += 1

    def unavailable_reason(self) -> str:
        if self.counter_missing:
            return "no NVML energy counter on this GPU (MIG slice or pre-Volta)"
        if not self.device.startswith("cuda"):
            return f"{self.device}: no GPU energy counter"
        if not self.nvml:
            return "NVML not available (see env.nvml)"
        return "no timed call"

    def result(self) -> dict:
        if self.joules is None or not self.calls:
            return {"energy_j_per_image": None, "avg_power_w": None,
                    "energy_unavailable": self.unavailable_reason()}
        return {
            "energy_j_per_image": self.joules / (self.calls * self.images_per_call),
            "avg_power_w": self.joules / self.seconds if self.seconds else None,
            "energy_unavailable": None,
        }
