"""Peak memory in every view available, over the timed calls of one config and per call.

Every view's peak is also kept per timed call (``peak_memory_per_call_bytes``), so a record
carries the repeat-level spread that memory verdicts weigh a change against
(docs/statistics.md).

- NVML device ``used`` and this process's ``usedGpuMemory``: sampled by a background
  thread every ``interval_s`` (5 ms by default) while the calls run.
- torch ``max_memory_allocated`` / ``max_memory_reserved``: the cache is emptied and the
  peaks reset before the warm-up (``oom.prepare_config``), and the peaks reset again,
  without emptying the cache, as the timed calls start: a warmed allocator, timed peaks.
- process RSS peak: the kernel's high-water mark (``VmHWM``), reset before every timed
  call through ``/proc/self/clear_refs``; where that reset is refused, the sampler reads
  RSS instead. Before every config's warm-up (``oom.prepare_config``) freed heap pages go
  back to the OS (glibc ``malloc_trim``), so a config does not start from the high-water
  mark an earlier, larger config left behind.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from bench.measure.device import is_cuda
from bench.measure.trackers import Tracker
from bench.measure.trackers.polling import PollingThread

VIEWS = ("nvml_device_used", "nvml_process_used", "torch_allocated", "torch_reserved",
         "process_rss")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss() -> int | None:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return None


def rss_high_water_mark() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


@cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def heap_trim_available() -> bool:
    """Whether ``trim_heap`` can return freed heap memory to the OS here (glibc)."""
    return _malloc_trim() is not None


def trim_heap() -> bool:
    """Give freed heap pages back to the OS (glibc ``malloc_trim(0)``, every arena), so RSS
    reflects what is in use rather than what an earlier config once needed. False where
    there is no ``malloc_trim``: harmless, the RSS then carries more history."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def reset_rss_high_water_mark() -> bool:
    """Ask Linux to restart VmHWM from the current RSS (``echo 5 > clear_refs``)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _raise_peak(peaks: dict, name: str, value: int | None) -> None:
    if value is not None and (peaks.get(name) is None or value > peaks[name]):
        peaks[name] = value


class Sampler(PollingThread):
    """Polls a set of zero-argument readers and keeps each one's maximum: over its whole
    life (``peaks``) and over the open window (one timed call, ``open_window``)."""

    def __init__(self, readers: dict, interval_s: float) -> None:
        super().__init__("sdxl-bench-memory-sampler", interval_s)
        self.readers = readers
        self.peaks: dict[str, int | None] = {name: None for name in readers}
        self.samples = 0
        self.busy_s = 0.0  # time spent reading, i.e. the sampler's own cost
        self._window: dict[str, int | None] | None = None
        self._lock = threading.Lock()

    def sample(self) -> None:
        start = time.perf_counter()
        values = {}
        for name, read in self.readers.items():
            try:
                values[name] = read()
            except Exception:  # a reader that fails once (driver hiccup) is skipped
                values[name] = None
        with self._lock:
            for name, value in values.items():
                _raise_peak(self.peaks, name, value)
                if self._window is not None:
                    _raise_peak(self._window, name, value)
            self.samples += 1
            self.busy_s += time.perf_counter() - start

    def open_window(self) -> None:
        """Start a per-call peak (the lifetime peaks go on)."""
        with self._lock:
            self._window = dict.fromkeys(self.readers)

    def close_window(self) -> dict[str, int | None]:
        """The peaks since ``open_window``, with one reading taken now, so a call shorter
        than the interval still has a value."""
        self.sample()
        with self._lock:
            window, self._window = self._window or {}, None
        return window


class MemoryTracker(Tracker):
    def __init__(self, device: str, nvml_device=None, interval_s: float = 0.005) -> None:
        self.device = device
        self.nvml = nvml_device
        self.interval_s = interval_s
        self.peaks: dict[str, int | None] = dict.fromkeys(VIEWS)
        self.per_call: dict[str, list[int]] = {}
        self.sampler_info: dict | None = None
        self.rss_reset: bool | None = None
        self._sampler: Sampler | None = None

    def _readers(self, rss_reset: bool) -> dict:
        readers = {}
        if self.nvml is not None:
            readers["nvml_device_used"] = self.nvml.memory_used
            readers["nvml_process_used"] = self.nvml.process_memory_used
        if not rss_reset:
            readers["process_rss"] = current_rss
        return readers

    @contextmanager
    def config(self, pipe):
        # No gc/empty_cache here: that ran before the warm-up. Emptying the cache now would
        # make the first timed call allocate again (cudaMalloc inside the timing).
        if is_cuda(self.device):
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)
        rss_reset = self.rss_reset = reset_rss_high_water_mark()
        readers = self._readers(rss_reset)
        sampler = self._sampler = Sampler(readers, self.interval_s) if readers else None
        if sampler:
            sampler.start()
        try:
            yield
        finally:
            self._sampler = None
            if sampler:
                sampler.stop()
                self.peaks.update(sampler.peaks)
                self.sampler_info = {
                    "interval_s": self.interval_s,
                    "samples": sampler.samples,
                    "mean_interval_s": sampler.elapsed_s / max(sampler.samples - 1, 1),
                    "views": sorted(readers),
                    "sample_cost_s": sampler.busy_s / max(sampler.samples, 1),
                    "busy_fraction": sampler.busy_s / sampler.elapsed_s if sampler.elapsed_s else None,
                }
            # Views reset per call: the config's peak is the largest call's (plus one last
            # reading, which also serves a config whose calls recorded nothing).
            final = {"process_rss": rss_high_water_mark() if rss_reset else None}
            if is_cuda(self.device):
                import torch

                final["torch_allocated"] = int(torch.cuda.max_memory_allocated(self.device))
                final["torch_reserved"] = int(torch.cuda.max_memory_reserved(self.device))
            for view, value in final.items():
                _raise_peak(self.peaks, view, value)
                for peak in self.per_call.get(view, ()):
                    _raise_peak(self.peaks, view, peak)

    @contextmanager
    def call(self):
        """One timed call's peak in every view: the kernel's and torch's peaks restart as
        the call starts (outside the latency clock, which is innermost), the sampler opens
        a window."""
        cuda = is_cuda(self.device)
        if cuda:
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)
        if self.rss_reset:
            reset_rss_high_water_mark()
        if self._sampler:
            self._sampler.open_window()
        try:
            yield
        finally:
            peaks = self._sampler.close_window() if self._sampler else {}
            if self.rss_reset:
                peaks["process_rss"] = rss_high_water_mark()
            if cuda:
                peaks["torch_allocated"] = int(torch.cuda.max_memory_allocated(self.device))
                peaks["torch_reserved"] = int(torch.cuda.max_memory_reserved(self.device))
            for view, value in peaks.items():
                if value is not None:
                    self.per_call.setdefault(view, []).append(int(value))

    def unavailable_views(self) -> dict[str, str]:
        """Why each empty memory view is empty (so a report's fallback view is explained)."""
        reasons: dict[str, str] = {}
        if self.nvml is None:
            why = ("NVML reports NVIDIA GPUs only" if not is_cuda(self.device)
                   else "no NVML device for this GPU (see env.nvml)")
            reasons.update(nvml_device_used=why, nvml_process_used=why)
        elif self.peaks.get("nvml_process_used") is None:
            try:
                reasons["nvml_process_used"] = self.nvml.process_memory()[1] or "no sample"
            except Exception as exc:
                reasons["nvml_process_used"] = f"{type(exc).__name__}: {exc}"
        if not is_cuda(self.device):
            reasons.update(torch_allocated="not a CUDA device", torch_reserved="not a CUDA device")
        return {view: why for view, why in reasons.items() if self.peaks.get(view) is None}

    def result(self) -> dict:
        return {
            "peak_memory_bytes": dict(self.peaks),
            "peak_memory_per_call_bytes": {view: list(self.per_call[view]) for view in VIEWS
                                           if self.per_call.get(view)},
            "memory_reset": {"malloc_trim": heap_trim_available(),
                             "rss_high_water_mark": self.rss_reset},
            "peak_memory_unavailable": self.unavailable_views(),
            "device_memory_bytes": self.nvml.memory_total() if self.nvml else None,
            "memory_sampler": self.sampler_info,
        }
