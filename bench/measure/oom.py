"""Out of memory: recognising it, what a config reached, cleaning up, and provoking it.

A config that runs out of memory is recorded with status ``oom`` and the peak memory it
reached; configs that need at least as much (larger on every batch axis) are skipped.
``MemoryBudget`` raises a real ``torch.OutOfMemoryError`` from inside the pipeline call
when tracked memory passes a limit, so this path runs (and is tested) on CPU machines.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import replace

from bench.measure.device import is_cuda
from bench.measure.trackers.memory import (
    current_rss,
    reset_rss_high_water_mark,
    rss_high_water_mark,
    trim_heap,
)
from bench.units import GIB

# The VAE decoder at large batches fails inside torch with this RuntimeError, not an OOM.
INT_MAX_MESSAGE = "INT_MAX elements"
# Memory exhaustion that reaches us as a RuntimeError, not torch.OutOfMemoryError: cuBLAS
# and cuDNN failing to get their workspace, and the CPU allocator.
OUT_OF_MEMORY_MESSAGES = (
    INT_MAX_MESSAGE,
    "CUBLAS_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_NOT_ENOUGH_WORKSPACE",
    "can't allocate memory",  # c10 DefaultCPUAllocator
)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` means the config needs more memory than there is."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return any(message in text for message in OUT_OF_MEMORY_MESSAGES)


def release_memory(device: str) -> bool:
    """Free what a config (or a failed call) left behind so the next one starts clean:
    Python garbage, torch's CUDA cache, and freed heap pages back to the OS (glibc
    ``malloc_trim``; without it the next config's RSS peak starts from this one's).
    Returns whether the heap was trimmed."""
    gc.collect()
    if is_cuda(device):
        import torch

        torch.cuda.empty_cache()
    return trim_heap()


def prepare_config(device: str) -> bool:
    """Before a config's warm-up: free what earlier configs left (the allocator cache and
    the heap included) and restart the peaks, so the warm-up, not the first timed call,
    pays for allocating again. Returns whether the heap was trimmed."""
    trimmed = release_memory(device)
    reset_peaks(device)
    return trimmed


def reset_peaks(device: str) -> None:
    """Start the peaks that ``memory_reached`` reads from now."""
    if is_cuda(device):
        import torch

        torch.cuda.reset_peak_memory_stats(device)
    reset_rss_high_water_mark()


def memory_reached(device: str) -> dict:
    """Peak memory since ``reset_peaks`` — or since the current timed call started, as the
    memory tracker restarts the peaks per call: for an OOM in a timed call, that call's
    peak — in the views of ``peak_memory_bytes`` (bytes)."""
    peaks: dict[str, int | None] = {"nvml_device_used": None, "nvml_process_used": None,
                                    "torch_allocated": None, "torch_reserved": None,
                                    "process_rss": rss_high_water_mark()}
    if is_cuda(device):
        import torch

        peaks["torch_allocated"] = int(torch.cuda.max_memory_allocated(device))
        peaks["torch_reserved"] = int(torch.cuda.max_memory_reserved(device))
    return peaks


def _batch_free(config) -> object:
    """Everything about a config except its batch layout (dtype, size, optimizations, …)."""
    return replace(config, batch_size=0, num_images_per_prompt=0)


def skip_reason(config, out_of_memory: Iterable) -> str | None:
    """Why ``config`` need not run: a config that ran out of memory differs from it only
    in a batch layout that is no larger on either axis (so this one needs at least as much)."""
    for failed in out_of_memory:
        if (config.batch_size >= failed.batch_size
                and config.num_images_per_prompt >= failed.num_images_per_prompt
                and config.config_id != failed.config_id
                and _batch_free(config) == _batch_free(failed)):
            return (f"{failed.config_id} ran out of memory and this config needs at least as"
                    " much (--no-skip-after-oom runs it anyway)")
    return None


class MemoryBudget:
    """Raise ``torch.OutOfMemoryError`` once tracked memory exceeds ``limit_bytes``.

    Checked after every module's forward (a global forward hook), so the error comes from
    inside the pipeline call, as a real one would. Tracked memory is torch's allocated
    bytes on CUDA (as if the GPU were smaller) and the growth of process RSS since the
    budget was entered on CPU (so weights loaded before the config do not count).
    """

    def __init__(self, limit_bytes: int, device: str) -> None:
        self.limit_bytes = int(limit_bytes)
        self.device = device
        self.peak_bytes = 0
        self._baseline = 0
        self._handle = None

    def used(self) -> int:
        if is_cuda(self.device):
            import torch

            return int(torch.cuda.memory_allocated(self.device))
        return max((current_rss() or 0) - self._baseline, 0)

    def _check(self, module, args, output) -> None:
        used = self.used()
        self.peak_bytes = max(self.peak_bytes, used)
        if used > self.limit_bytes:
            import torch

            what = "torch allocated" if is_cuda(self.device) else "RSS growth"
            raise torch.OutOfMemoryError(
                f"memory budget exceeded: {what} {used / GIB:.3f} GiB >"
                f" --memory-budget {self.limit_bytes / GIB:.4g} GiB (in {type(module).__name__})"
            )

    def __enter__(self) -> MemoryBudget:
        import torch

        trim_heap()
        self._baseline = current_rss() or 0
        self._handle = torch.nn.modules.module.register_module_forward_hook(self._check)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def result(self) -> dict:
        return {"memory_budget_bytes": self.limit_bytes, "memory_budget_peak_bytes": self.peak_bytes}
