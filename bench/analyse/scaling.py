"""Scaling efficiency of a ``--scaling`` run: the same configs at 1, 2, … N ranks.

efficiency(N) = images/s at N ranks / (N × images/s at one rank); speedup(N) = the ratio
of the two throughputs. Pure functions over records, plus the step that closes a scaling
run file (efficiency records, footer) and an optional plot.
"""

from __future__ import annotations

import warnings
from pathlib import Path


def efficiency(images_per_s: float, world_size: int, baseline_images_per_s: float) -> float:
    """Throughput at ``world_size`` ranks relative to ``world_size`` perfect copies of one."""
    return images_per_s / (world_size * baseline_images_per_s)


def scaling_records(configs: list[dict]) -> list[dict]:
    """One ``scaling`` record per base config, points ordered by world size.

    Configs that failed at some size are left out of that size; without a one-rank
    throughput there is no efficiency (null).
    """
    by_config: dict[str, dict[int, float | None]] = {}
    for record in configs:
        base = record.get("base_config_id", record["config_id"])
        ok = record.get("status") == "ok" and record.get("images_per_s")
        by_config.setdefault(base, {})[record.get("world_size", 1)] = (
            record["images_per_s"] if ok else None)
    out = []
    for base, points in by_config.items():
        baseline = points.get(1)
        rows = []
        for size in sorted(points):
            ips = points[size]
            rows.append({
                "world_size": size,
                "images_per_s": ips,
                "speedup": ips / baseline if ips and baseline else None,
                "efficiency": efficiency(ips, size, baseline) if ips and baseline else None,
            })
        out.append({"type": "scaling", "config_id": base, "baseline_images_per_s": baseline,
                    "points": rows})
    return out


def drop_torn_tail(path: Path) -> None:
    """Cut a torn last line (a rank killed mid-write) so appended records stay readable."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


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
