"""Pareto frontier of throughput against latency: the configs worth considering at all."""

from __future__ import annotations

from collections.abc import Sequence

from bench.store.schema import is_ok, latency_stat


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


def measured(records: Sequence[dict]) -> list[dict]:
    """Records with a throughput and a median latency: the candidates for the frontier."""
    return [
        r
        for r in records
        if is_ok(r) and r.get("images_per_s") is not None and latency_stat(r, "median") is not None
    ]


def frontier_records(records: Sequence[dict]) -> list[dict]:
    """The configs on the frontier of median latency against images/s, fastest call first."""
    candidates = measured(records)
    points = [(latency_stat(r, "median"), float(r["images_per_s"])) for r in candidates]
    return [candidates[i] for i in pareto_front(points)]
