"""Peak memory in every view available, over the timed calls of one config.

- NVML device ``used`` and this process's ``usedGpuMemory``: sampled by a background
  thread every ``interval_s`` (5 ms by default) while the calls run.
- torch ``max_memory_allocated`` / ``max_memory_reserved``: the cache is emptied and the
  peaks reset before the warm-up (``oom.prepare_config``), and the peaks reset again,
  without emptying the cache, as the timed calls start: a warmed allocator, timed peaks.
- process RSS peak: the kernel's high-water mark (``VmHWM``), reset per config through
  ``/proc/self/clear_refs``; where that reset is refused, the sampler reads RSS instead.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
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


def reset_rss_high_water_mark() -> bool:
    """Ask Linux to restart VmHWM from the current RSS (``echo 5 > clear_refs``)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Sampler(PollingThread):
    """Polls a set of zero-argument readers and keeps each one's maximum."""

    def __init__(self, readers: dict, interval_s: float) -> None:
        super().__init__("sdxl-bench-memory-sampler", interval_s)
        self.readers = readers
        self.peaks: dict[str, int | None] = {name: None for name in readers}
        self.samples = 0
        self.busy_s = 0.0  # time spent reading, i.e. the sampler's own cost

    def sample(self) -> None:
        start = time.perf_counter()
        for name, read in self.readers.items():
            try:
                value = read()
            except Exception:  # a reader that fails once (driver hiccup) is skipped
                value = None
            if value is not None and (self.peaks[name] is None or value > self.peaks[name]):
                self.peaks[name] = value
        self.samples += 1
        self.busy_s += time.perf_counter() - start


class MemoryTracker(Tracker):
    def __init__(self, device: str, nvml_device=None, interval_s: float = 0.005) -> None:
        self.device = device
        self.nvml = nvml_device
        self.interval_s = interval_s
        self.peaks: dict[str, int | None] = dict.fromkeys(VIEWS)
        self.sampler_info: dict | None = None

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
        rss_reset = reset_rss_high_water_mark()
        readers = self._readers(rss_reset)
        sampler = Sampler(readers, self.interval_s) if readers else None
        if sampler:
            sampler.start()
        try:
            yield
        finally:
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
            if rss_reset:
                self.peaks["process_rss"] = rss_high_water_mark()
            if is_cuda(self.device):
                import torch

                self.peaks["torch_allocated"] = int(torch.cuda.max_memory_allocated(self.device))
                self.peaks["torch_reserved"] = int(torch.cuda.max_memory_reserved(self.device))

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
            "peak_memory_unavailable": self.unavailable_views(),
            "device_memory_bytes": self.nvml.memory_total() if self.nvml else None,
            "memory_sampler": self.sampler_info,
        }
