"""The first pipeline call of the process: its time and whole-process peak memory.

Only the process's very first call is cold (kernels chosen, caches filled, lazy imports,
allocator growth); it is the first warm-up call of the first config, or its first timed
call with ``--warmup 0``. The tracker sees every config's calls but measures only that one,
and adds ``cold_start`` (``bench.measure.cold_start``) to the first record that follows it.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from bench.measure import cold_start
from bench.measure.device import synchronize
from bench.measure.trackers import Tracker

# The first present view wins, as in the table: the process's GPU memory, then torch's.
FIRST_CALL_VIEWS = ("torch_reserved", "torch_allocated", "process_rss")


class ColdStartTracker(Tracker):
    def __init__(self, device: str, config_id: str) -> None:
        self.device = device
        self.config_id = config_id

    @contextmanager
    def _first(self, kind: str):
        state = cold_start.STATE
        if state.first_call_started:
            yield
            return
        state.first_call_started = True
        from bench.measure.oom import memory_reached

        synchronize(self.device)
        start = time.perf_counter()
        yield
        synchronize(self.device)
        seconds = time.perf_counter() - start
        peaks = memory_reached(self.device)
        view = next((v for v in FIRST_CALL_VIEWS if peaks.get(v) is not None), None)
        state.first_call = {"seconds": seconds, "kind": kind, "config_id": self.config_id,
                            "peak_bytes": peaks.get(view) if view else None, "view": view}

    def warmup(self):
        return self._first("warm-up")

    def call(self):
        return self._first("timed")

    def result(self) -> dict:
        return {"cold_start": cold_start.take_report()}
