"""A ``--scaling`` run's efficiency records shown: a terminal table and a plot.

The numbers come from ``bench.analyse.scaling`` (pure, no plotting); the launcher
appends them to the run file (``bench.execute.distributed.launch``).
"""

from __future__ import annotations

from pathlib import Path


def show_scaling(records: list[dict], out: Path) -> None:
    """The scaling table on the terminal and its plot beside the run file."""
    print(format_table(records))
    if records:
        plot = out.with_suffix(".scaling.png")
        plot_scaling(records, plot)
        print(f"scaling plot: {plot}")


def format_table(records: list[dict]) -> str:
    """Images/s, speedup and efficiency per config and world size, for the terminal."""
    lines = [f"{'config':<34} {'ranks':>5} {'images/s':>10} {'speedup':>8} {'efficiency':>10}"]
    for record in records:
        for point in record["points"]:
            cells = [point["images_per_s"], point["speedup"], point["efficiency"]]
            ips, speedup, eff = ("—" if v is None else f"{v:.3f}" for v in cells)
            lines.append(f"{record['config_id']:<34} {point['world_size']:>5} {ips:>10}"
                         f" {speedup:>8} {eff:>10}")
    return "\n".join(lines)


def plot_scaling(records: list[dict], path: Path) -> Path:
    """Aggregate images/s against ranks, one line per config, with ideal linear scaling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for record in records:
        points = [p for p in record["points"] if p["images_per_s"]]
        if not points:
            continue
        sizes = [p["world_size"] for p in points]
        line, = ax.plot(sizes, [p["images_per_s"] for p in points], marker="o",
                        label=record["config_id"])
        if record["baseline_images_per_s"]:
            ax.plot(sizes, [s * record["baseline_images_per_s"] for s in sizes], ls=":",
                    color=line.get_color())
    ax.set_xlabel("ranks (processes)")
    ax.set_ylabel("aggregate images/s")
    ax.set_xticks(sorted({p["world_size"] for r in records for p in r["points"]}))
    ax.set_title("data-parallel scaling (dotted: ideal linear)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
