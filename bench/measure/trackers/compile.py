"""torch.compile events: compile time and recompilations, warm-up apart from timed calls.

Dynamo announces every compilation through its callback handler with a compile id
``frame/n``; ``n > 0`` means frame ``frame`` was compiled again (a recompilation, e.g.
for a new batch shape). Warm-up calls are timed here one by one, so the call that
compiles is reported separately from the steady-state latency of the timed calls.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from bench.measure.device import synchronize
from bench.measure.trackers import Tracker


def _handler():
    try:
        from torch._dynamo.callback import callback_handler
    except ImportError:  # a torch without dynamo: nothing can compile, nothing to count
        return None
    return callback_handler


def _graph_breaks() -> int:
    try:
        from torch._dynamo.utils import counters
    except ImportError:
        return 0
    return sum(counters["graph_break"].values())


class CompileTracker(Tracker):
    def __init__(self, device: str) -> None:
        self.device = device
        self.warmup_s: list[float] = []
        self.events: dict[str, list[dict]] = {"warmup": [], "timed": []}
        self.graph_breaks = 0
        self._phase = "warmup"
        self._starts: dict[str, float] = {}
        self.options: dict | None = None

    def _on_start(self, args) -> None:
        self._starts[args.compile_id] = time.perf_counter()

    def _on_end(self, args) -> None:
        start = self._starts.pop(args.compile_id, None)
        frame_compile = str(args.compile_id).rsplit("/", 1)[-1]
        self.events[self._phase].append({
            "compile_id": str(args.compile_id),
            "seconds": time.perf_counter() - start if start is not None else None,
            "recompile": frame_compile.isdigit() and int(frame_compile) > 0,
        })

    @contextmanager
    def _listening(self, phase: str):
        handler = _handler()
        self._phase = phase
        breaks = _graph_breaks()
        if handler is not None:
            handler.register_start_callback(self._on_start)
            handler.register_end_callback(self._on_end)
        try:
            yield
        finally:
            if handler is not None:
                handler.remove_start_callback(self._on_start)
                handler.remove_end_callback(self._on_end)
            self.graph_breaks += _graph_breaks() - breaks

    @contextmanager
    def config(self, pipe):
        """Reads the options the model was compiled with (``build.optimize``), if any."""
        unet = getattr(pipe, "unet", None)
        self.options = getattr(unet, "sdxl_bench_compile_options", None)
        yield

    @contextmanager
    def warmup(self):
        with self._listening("warmup"):
            synchronize(self.device)
            start = time.perf_counter()
            yield
            synchronize(self.device)
            self.warmup_s.append(time.perf_counter() - start)

    @contextmanager
    def call(self):
        with self._listening("timed"):
            yield

    def result(self) -> dict:
        every = self.events["warmup"] + self.events["timed"]
        return {
            "warmup_s": list(self.warmup_s),
            "compile": {
                "compilations": len(every),
                "recompilations": sum(e["recompile"] for e in every),
                "compile_s": sum(e["seconds"] or 0.0 for e in every),
                "compilations_in_timed_calls": len(self.events["timed"]),
                "graph_breaks": self.graph_breaks,
                "options": self.options,
                "events": every,
            },
        }
