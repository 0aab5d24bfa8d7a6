"""Closing a ``--scaling`` run: its efficiency records and footer, a table, and a plot.

The numbers come from ``bench.analyse.scaling`` (pure, no plotting); this module writes
them where a user sees them: the run file, the terminal and a PNG beside the run file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from bench.analyse.scaling import drop_torn_tail, scaling_records


def finish_scaling_run(out: Path, sizes: tuple[int, ...], duration_s: float,
                       failed: bool) -> list[dict]:
    """Append the scaling records and the footer to the run file; plot beside it."""
    from bench.execute.sweep import now_iso
    from bench.store.run_file import RunWriter, read_run

    drop_torn_tail(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no footer yet: that is what we are adding
        run = read_run(out)
    records = scaling_records(run.configs)
    with RunWriter(out, mode="a") as writer:
        for record in records:
            writer.write(record)
        writer.write({"type": "footer", "status": "interrupted" if failed else "complete",
                      "finished_at": now_iso(), "duration_s": duration_s,
                      "configs": len(run.configs), "world_sizes": list(sizes)})
    print(format_table(records))
    if records:
        plot = out.with_suffix(".scaling.png")
        plot_scaling(records, plot)
        print(f"scaling plot: {plot}")
    return records


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
