"""Wall time of each full call, with the device synchronised before each clock read.

On CUDA the same call is also timed with CUDA events recorded on the current stream;
the record keeps both, says which one ``latency_s`` holds (the synchronised wall
clock), and how far the events disagree with it, as a check on the clock itself.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from bench.measure.device import is_cuda, synchronize
from bench.measure.trackers import Tracker
from bench.stats import summarize

METHOD = "wall clock (perf_counter) with the device synchronised before each read"
EVENT_TOLERANCE = 0.02  # relative disagreement above which the record carries a warning


class LatencyTracker(Tracker):
    def __init__(self, device: str) -> None:
        self.device = device
        self.values: list[float] = []
        self.event_values: list[float] = []

    @contextmanager
    def call(self):
        events = None
        synchronize(self.device)
        if is_cuda(self.device):
            import torch

            events = (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            events[0].record()
        start = time.perf_counter()
        yield
        if events:
            events[1].record()
        synchronize(self.device)
        self.values.append(time.perf_counter() - start)
        if events:
            self.event_values.append(events[0].elapsed_time(events[1]) / 1000.0)

    def event_check(self) -> dict | None:
        if not self.event_values:
            return None
        diffs = [abs(e - w) / w for e, w in zip(self.event_values, self.values, strict=True) if w > 0]
        return {"cuda_events_s": summarize(self.event_values),
                "max_relative_difference": max(diffs) if diffs else None,
                "agree": bool(diffs) and max(diffs) <= EVENT_TOLERANCE,
                "tolerance": EVENT_TOLERANCE}

    def result(self) -> dict:
        check = self.event_check()
        return {
            "latency_s": summarize(self.values) if self.values else None,
            "latency_method": METHOD,
            "latency_event_check": check,
            "latency_event_check_unavailable": None if check else
            f"device {self.device} has no CUDA events; latency is the wall clock only",
        }
