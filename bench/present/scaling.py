"""A ``--scaling`` run's efficiency records shown: a terminal table and a plot.

The numbers come from ``bench.analyse.scaling`` (pure, no plotting); the launcher
appends them to the run file (``bench.execute.distributed.launch``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from bench.errors import UsageError
from bench.store.atomic import write_bytes_atomic
from bench.store.scaling_result import ScalingResult


def show_scaling(results: Sequence[ScalingResult], out: Path) -> None:
    """The scaling table on the terminal and its plot beside the run file."""
    print(format_table(results))
    if results:
        plot = out.with_suffix(".scaling.png")
        plot_scaling(results, plot)
        print(f"scaling plot: {plot}")


def format_table(results: Sequence[ScalingResult]) -> str:
    """Images/s, speedup and efficiency per config and world size, for the terminal."""
    lines = [f"{'config':<34} {'ranks':>5} {'images/s':>10} {'speedup':>8} {'efficiency':>10}"]
    for result in results:
        for point in result.points:
            cells = [point.images_per_s, point.speedup, point.efficiency]
            ips, speedup, eff = ("—" if v is None else f"{v:.3f}" for v in cells)
            lines.append(f"{result.config_id:<34} {point.world_size:>5} {ips:>10}"
                         f" {speedup:>8} {eff:>10}")
    return "\n".join(lines)


def plot_scaling(results: Sequence[ScalingResult], path: Path) -> Path:
    """Aggregate images/s against ranks, one line per config, with ideal linear scaling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for result in results:
        points = result.measured
        if not points:
            continue
        sizes = [p.world_size for p in points]
        line, = ax.plot(sizes, [p.images_per_s for p in points], marker="o",
                        label=result.config_id)
        if result.baseline_images_per_s:
            ax.plot(sizes, [s * result.baseline_images_per_s for s in sizes], ls=":",
                    color=line.get_color())
    ax.set_xlabel("ranks (processes)")
    ax.set_ylabel("aggregate images/s")
    ax.set_xticks(sorted({p.world_size for r in results for p in r.points}))
    ax.set_title("data-parallel scaling (dotted: ideal linear)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()  # rendered whole, then written whole (a full disk leaves no fragment)
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    try:
        write_bytes_atomic(path, buffer.getvalue())
    except OSError as exc:  # the helper says it as a UsageError; this keeps it one line
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
