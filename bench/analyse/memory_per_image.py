"""Memory per image from ``max-batch`` probes: the slope of peak memory against images per call.

A probe's peak holds the weights, the framework's context and the activations. Dividing it
by the image count mixes the fixed part into every image, so "GiB per image" falls as the
batch grows and says little about the next image. What a user plans with is the line
``peak ≈ fixed + marginal × images``: ``marginal`` (the slope) is the memory each further
image costs, ``fixed`` (the intercept) what the process needs before the first image.
Both come from an ordinary least-squares fit over the probes that fit in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MemoryLine:
    """``peak ≈ fixed_bytes + marginal_bytes_per_image × images``, fitted over ``points``."""

    marginal_bytes_per_image: float | None  # None with fewer than two image counts
    fixed_bytes: float | None
    points: int  # probes in the fit
    max_residual_bytes: float | None  # the largest |peak - line| over the probes


def fit_memory_line(probes: Sequence[tuple[int, float]]) -> MemoryLine:
    """Least squares of peak bytes on images per call over (images, peak) pairs.

    With fewer than two distinct image counts there is no slope: both figures are None
    (one probe cannot separate the weights from the images)."""
    points = [(float(x), float(y)) for x, y in probes]
    n = len(points)
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        return MemoryLine(None, None, n, None)
    mean_x = sum(xs) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    residual = max(abs(y - (intercept + slope * x)) for x, y in points)
    return MemoryLine(slope, intercept, n, residual)

