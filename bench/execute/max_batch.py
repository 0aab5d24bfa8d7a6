"""The search behind ``sdxl-bench max-batch``: grow by doubling, then bisect.

Pure logic over a ``probe(size) -> Probe`` callable, so it is tested without a model.
Memory grows with the batch, so "fits" is assumed monotone: once a size fails, every
larger one would too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.result import ConfigResult


@dataclass(frozen=True)
class Probe:
    size: int
    fits: bool
    result: ConfigResult


class ProbeFailed(Exception):
    """A probe failed for a reason other than memory; the search cannot go on."""

    def __init__(self, probe: Probe) -> None:
        super().__init__(f"size {probe.size}: {probe.result.error}")
        self.probe = probe


def find_max_batch(probe: Callable[[int], Probe], limit: int) -> tuple[int | None, list[Probe]]:
    """Largest size in ``1..limit`` that fits (None if even 1 does not), and every probe made."""
    probes: list[Probe] = []

    def attempt(size: int) -> bool:
        result = probe(size)
        probes.append(result)
        return result.fits

    best, failed, size = None, None, 1
    while size <= limit:
        if not attempt(size):
            failed = size
            break
        best = size
        if size == limit:
            break
        size = min(size * 2, limit)
    if best is None or failed is None:
        return best, probes
    low, high = best, failed
    while high - low > 1:
        middle = (low + high) // 2
        if attempt(middle):
            low = middle
        else:
            high = middle
    return low, probes
