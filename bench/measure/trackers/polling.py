"""A background thread that calls ``sample()`` every ``interval_s`` until stopped.

Shared by the memory and clock samplers: each subclass says what one sample reads; the
loop, the final sample at stop and the elapsed time live here once.
"""

from __future__ import annotations

import threading
import time


class PollingThread(threading.Thread):
    def __init__(self, name: str, interval_s: float) -> None:
        super().__init__(name=name, daemon=True)
        self.interval_s = interval_s
        self.elapsed_s = 0.0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        start = time.perf_counter()
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval_s)
        self.sample()  # one last reading as the timed calls end
        self.elapsed_s = time.perf_counter() - start

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
