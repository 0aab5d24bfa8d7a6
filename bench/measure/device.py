"""Device helpers: resolving ``--device``, synchronising, and a clock for stage marks.

On CUDA, stage marks are CUDA events recorded without synchronising (read after the
call, once the latency tracker has synchronised); on CPU they are ``perf_counter`` reads.
"""

from __future__ import annotations

import time

from bench.errors import UsageError


def resolve_device(requested: str) -> str:
    """``auto`` → ``cuda:0`` when CUDA is available, else ``cpu``; checks what was asked."""
    import torch

    if requested == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if requested == "cpu":
        return "cpu"
    if requested == "cuda" or requested.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {requested!r}: CUDA is not available on this machine")
        index = 0 if requested == "cuda" else requested.split(":", 1)[1]
        if not str(index).isdigit() or int(index) >= torch.cuda.device_count():
            raise UsageError(
                f"--device {requested!r}: there are {torch.cuda.device_count()} CUDA devices"
            )
        return f"cuda:{int(index)}"
    raise UsageError(f"--device {requested!r}: allowed values are auto, cpu, cuda, cuda:N")


def is_cuda(device: str) -> bool:
    return device.startswith("cuda")


def synchronize(device: str) -> None:
    if is_cuda(device):
        import torch

        torch.cuda.synchronize(device)


class Clock:
    """Marks points in a call's timeline; ``seconds(a, b)`` reads the interval later."""

    def __init__(self, device: str) -> None:
        self.cuda = is_cuda(device)

    def mark(self):
        if self.cuda:
            import torch

            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def seconds(self, start, end) -> float:
        if self.cuda:
            return start.elapsed_time(end) / 1000.0
        return end - start
