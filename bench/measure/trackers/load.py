"""Machine load around the timed calls: the 1-minute load average before and after.

Other work on the machine is the commonest reason a measurement is not trustworthy, and
the calls themselves cannot tell it from a slow kernel. ``os.getloadavg`` costs a read
of ``/proc/loadavg``: outside every call, it adds nothing to the clocks.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from bench.measure.trackers import Tracker


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):  # not on every platform
        return None


class LoadTracker(Tracker):
    def __init__(self) -> None:
        self.before: float | None = None
        self.after: float | None = None

    @contextmanager
    def config(self, pipe):
        self.before = load_average()
        try:
            yield
        finally:
            self.after = load_average()

    def result(self) -> dict:
        return {"machine_load": {"before": self.before, "after": self.after,
                                 "cores": os.cpu_count()}}
