"""Wall time of each full call, with the device synchronised before each clock read."""

from __future__ import annotations

import time
from contextlib import contextmanager

from bench.device import synchronize
from bench.stats import summarize
from bench.trackers import Tracker


class LatencyTracker(Tracker):
    def __init__(self, device: str) -> None:
        self.device = device
        self.values: list[float] = []

    @contextmanager
    def call(self):
        synchronize(self.device)
        start = time.perf_counter()
        yield
        synchronize(self.device)
        self.values.append(time.perf_counter() - start)

    def result(self) -> dict:
        return {"latency_s": summarize(self.values) if self.values else None}
