"""Pareto frontier of throughput against latency: the configs worth considering at all."""

from __future__ import annotations

from collections.abc import Sequence


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
