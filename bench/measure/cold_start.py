"""Cold start of this process: importing the libraries, loading the model, the first call.

A serving process pays these once; the steady state (``latency_s``) never shows them. They
are kept per process (each ``--isolate`` worker or data-parallel rank starts cold) and
reported once, in the first config record the process measures (``ColdStartTracker``):

- ``import_s``: wall time spent importing torch, diffusers and transformers, wherever the
  process first imported them (``watch_imports`` times every outermost import of those
  packages, diffusers' lazy pipeline imports included), up to the end of session setup;
- ``load_s``: building the first pipeline group (``from_pretrained`` or the preset's build,
  moving to the device, optimizations), minus any import that happened inside it;
- the first pipeline call of the process: its time and whole-process peak memory.

Standard library only at module level: ``bench.cli`` installs the import clock before
anything heavy is imported.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field

WATCHED = ("torch", "diffusers", "transformers")


def _watched(name: str) -> bool:
    return name.split(".", 1)[0] in WATCHED


class ImportClock:
    """A meta-path finder that times the outermost import of a watched package.

    It finds nothing itself: it asks the finders after it for the module's spec and wraps
    that loader's ``exec_module`` (on the instance, so the loader keeps its type), so the
    time from the first line of the module to its last is counted — nested imports inside
    once, as part of the outermost one."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.depth = 0
        self.not_timed = sorted(root for root in WATCHED if root in sys.modules)

    def find_spec(self, name, path, target=None):
        if (self.depth or not _watched(name)
                or threading.current_thread() is not threading.main_thread()):
            return None
        for finder in sys.meta_path:  # other clocks (a second one in tests) find nothing
            if isinstance(finder, ImportClock) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                loader = spec.loader
                if hasattr(loader, "exec_module") and not isinstance(loader, type):
                    loader.exec_module = self._timed(loader.exec_module)
                return spec
        return None

    def _timed(self, exec_module):
        def exec_module_timed(module) -> None:
            self.depth += 1
            start = time.perf_counter()
            try:
                exec_module(module)
            finally:
                self.depth -= 1
                if not self.depth:
                    self.seconds += time.perf_counter() - start
        return exec_module_timed


@dataclass
class ProcessColdStart:
    """What this process knows about its own cold start (one instance per process)."""

    clock: ImportClock | None = None
    import_s: float | None = None  # the clock's total when the session was set up
    load_s: float | None = None
    first_call: dict | None = None  # set by the first call's tracker
    first_call_started: bool = False
    reported: bool = False
    notes: list[str] = field(default_factory=list)


STATE = ProcessColdStart()


def watch_imports() -> None:
    """Start timing imports of torch, diffusers and transformers (idempotent)."""
    if STATE.clock is None:
        STATE.clock = ImportClock()
        sys.meta_path.insert(0, STATE.clock)


def imported_seconds() -> float:
    return STATE.clock.seconds if STATE.clock else 0.0


def import_libraries() -> None:
    """Import what loading a model imports (diffusers' SDXL pipelines lazily pull in the
    models and transformers), so the first build times loading, not importing."""
    import torch  # noqa: F401
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline  # noqa: F401


def note_session(load_s: float | None) -> None:
    """Session setup is done: keep the import total so far and the first build's time."""
    if STATE.import_s is not None:
        return  # a second session in the same process (tests): the process was set up once
    clock = STATE.clock
    STATE.import_s = clock.seconds if clock else None
    if clock is None:
        STATE.notes.append("imports were not timed (the import clock was not installed)")
    elif clock.not_timed:
        STATE.notes.append(f"{', '.join(clock.not_timed)} imported before timing began:"
                           " import_s leaves them out")
    STATE.load_s = load_s
    if load_s is None:
        STATE.notes.append("pipelines were not loaded by this session (reused or loaded"
                           " elsewhere)")


def take_report() -> dict | None:
    """The ``cold_start`` record field, once per process (None after that)."""
    if STATE.reported or not STATE.first_call_started:
        return None
    STATE.reported = True
    first = STATE.first_call or {}
    notes = list(STATE.notes)
    if STATE.first_call is None:
        notes.append("the process's first call failed: see the first config's record")
    return {
        "import_s": STATE.import_s,
        "load_s": STATE.load_s,
        "first_call_s": first.get("seconds"),
        "first_call": first.get("kind"),
        "first_call_config_id": first.get("config_id"),
        "first_call_peak_bytes": first.get("peak_bytes"),
        "first_call_memory_view": first.get("view"),
        "notes": notes,
    }
