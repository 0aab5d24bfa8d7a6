"""Scaling efficiency of a ``--scaling`` run: the same configs at 1, 2, … N ranks.

efficiency(N) = images/s at N ranks / (N × images/s at one rank); speedup(N) = the ratio
of the two throughputs. Pure functions over results; closing the run file, the table and
the plot are ``bench.present.scaling``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.result import ConfigResult
from bench.store.scaling_result import ScalingPoint, ScalingResult


def efficiency(images_per_s: float, world_size: int, baseline_images_per_s: float) -> float:
    """Throughput at ``world_size`` ranks relative to ``world_size`` perfect copies of one."""
    return images_per_s / (world_size * baseline_images_per_s)


def scaling_results(results: Sequence[ConfigResult]) -> list[ScalingResult]:
    """One scaling result per base config, points ordered by world size.

    Configs that failed at some size are left out of that size; without a one-rank
    throughput there is no efficiency (null).
    """
    by_config: dict[str, dict[int, float | None]] = {}
    for result in results:
        base = result.base_config_id or result.config_id
        by_config.setdefault(base, {})[result.world_size or 1] = (
            result.images_per_s if result.ok and result.images_per_s else None)
    out = []
    for base, points in by_config.items():
        baseline = points.get(1)
        rows = []
        for size in sorted(points):
            ips = points[size]
            rows.append(ScalingPoint(
                world_size=size, images_per_s=ips,
                speedup=ips / baseline if ips and baseline else None,
                efficiency=efficiency(ips, size, baseline) if ips and baseline else None))
        out.append(ScalingResult(base, baseline, tuple(rows)))
    return out
