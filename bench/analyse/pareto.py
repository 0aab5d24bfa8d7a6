"""Pareto frontier of throughput against latency: the configs worth considering at all."""

from __future__ import annotations

from collections.abc import Sequence

from bench.result import ConfigResult


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of (latency, throughput) points that no other point dominates.

    A point dominates another when its latency is no higher and its throughput no lower,
    and it is strictly better in one of them. Identical points are all kept. The indices
    come back ordered by latency.
    """
    front = []
    for i, (lat_i, thr_i) in enumerate(points):
        dominated = any(
            lat_j <= lat_i and thr_j >= thr_i and (lat_j < lat_i or thr_j > thr_i)
            for j, (lat_j, thr_j) in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], -points[i][1]))


def _point(result: ConfigResult) -> tuple[float, float] | None:
    """(median latency, images/s) of an ok result that has both and whose images are not
    NaN or black (unusable output is worth nothing however fast), else None."""
    if not result.ok or result.broken_images or result.images_per_s is None \
            or result.median_s is None:
        return None
    return result.median_s, float(result.images_per_s)


def measured(results: Sequence[ConfigResult]) -> list[ConfigResult]:
    """Results with a throughput and a median latency: the candidates for the frontier."""
    return [r for r in results if _point(r) is not None]


def frontier(results: Sequence[ConfigResult]) -> list[ConfigResult]:
    """The configs on the frontier of median latency against images/s, fastest call first."""
    candidates = measured(results)
    points = [_point(r) for r in candidates]
    return [candidates[i] for i in pareto_front(points)]
