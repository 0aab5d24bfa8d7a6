"""Report plots as PNG bytes (matplotlib, Agg backend: headless, no pyplot global state).

Every function takes config records and returns PNG bytes, or None when there is nothing
to draw (no ok config, no stage timings...), so the report simply leaves the plot out.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)

from bench.analyse.pareto import frontier_records, measured  # noqa: E402
from bench.store.schema import budget_memory, config_key, is_ok, latency_stat  # noqa: E402
from bench.units import GIB  # noqa: E402

STAGES = (
    ("vae_encode", "VAE encode"),
    ("text_encoding", "text encoding"),
    ("denoising", "denoising"),
    ("vae_decode", "VAE decode"),
)


def _png(fig: Figure) -> bytes:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def plot_lines(records: Sequence[dict]) -> dict[str, list[dict]]:
    """Ok records as lines over batch size: one per images-per-prompt value and, when the
    run sweeps more (dtype, steps, size, optimizations, ranks), per workload as well."""
    ok = [r for r in records if is_ok(r)]
    # A line's identity: the config key without its batch size and images per prompt.
    lines = {id(r): replace(config_key(r), batch_size=0, num_images_per_prompt=0) for r in ok}
    several = len(set(lines.values())) > 1
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in ok:
        workload = str(lines[id(record)]).replace(" bs0 n0", "") + " " if several else ""
        groups[f"{workload}n={record.get('num_images_per_prompt')}"].append(record)
    return {
        label: sorted(group, key=lambda r: r.get("batch_size") or 0)
        for label, group in sorted(groups.items())
    }


def _batch_axis(ax, series: dict[str, list[dict]]) -> None:
    """Log2 axis with ticks at the batch sizes measured (1, 2, 4, 8 ...)."""
    sizes = sorted({r["batch_size"] for group in series.values() for r in group})
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, labels=[str(size) for size in sizes])
    ax.minorticks_off()
    ax.set_xlabel("batch size (prompts per call)")


def short_label(record: dict) -> str:
    return f"bs{record.get('batch_size')} n{record.get('num_images_per_prompt')}"


def throughput_vs_batch(records: Sequence[dict]) -> bytes | None:
    series = plot_lines(records)
    if not series:
        return None
    fig = Figure(figsize=(6.4, 4))
    ax = fig.add_subplot()
    for label, group in series.items():
        ax.plot(
            [r["batch_size"] for r in group],
            [r["images_per_s"] for r in group],
            marker="o",
            label=label,
        )
    ax.set(ylabel="images/s", title="Throughput")
    _batch_axis(ax, series)
    ax.grid(alpha=0.3)
    ax.legend(title="images per prompt")
    return _png(fig)


def latency_vs_batch(records: Sequence[dict]) -> bytes | None:
    series = plot_lines(records)
    if not series:
        return None
    fig = Figure(figsize=(6.4, 4))
    ax = fig.add_subplot()
    for offset, (label, group) in enumerate(series.items()):
        xs = [r["batch_size"] * (1 + 0.03 * offset) for r in group]
        p50 = [latency_stat(r, "median") for r in group]
        p90 = [latency_stat(r, "p90") for r in group]
        p99 = [latency_stat(r, "p99") for r in group]
        line = ax.errorbar(
            xs,
            p50,
            yerr=[[0] * len(group), [hi - mid for hi, mid in zip(p99, p50, strict=True)]],
            marker="o",
            capsize=4,
            label=f"{label} p50 (whisker to p99)",
        )
        ax.scatter(xs, p90, marker="_", s=120, color=line.lines[0].get_color(), zorder=3)
    ax.set_ylabel("latency per call (s)")
    _batch_axis(ax, series)
    ax.set_title("Latency p50, tick at p90, whisker to p99")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def memory_vs_batch(records: Sequence[dict], capacity_bytes: int | None = None) -> bytes | None:
    """Peak memory (best view per config) per batch size, the device capacity as a line:
    from the records (NVML), else ``capacity_bytes`` (the run header's torch view)."""
    series = {
        label: [r for r in group if budget_memory(r) is not None]
        for label, group in plot_lines(records).items()
    }
    series = {label: group for label, group in series.items() if group}
    if not series:
        return None
    fig = Figure(figsize=(6.4, 4))
    ax = fig.add_subplot()
    views = set()
    for label, group in series.items():
        memory = [budget_memory(r) for r in group]
        views.update(view for view, _ in memory)
        ax.plot(
            [r["batch_size"] for r in group],
            [value / GIB for _, value in memory],
            marker="o",
            label=label,
        )
    capacities = {r.get("device_memory_bytes") for r in records if r.get("device_memory_bytes")}
    if capacities or capacity_bytes:
        capacity = max(capacities or {capacity_bytes}) / GIB
        ax.axhline(capacity, color="red", linestyle="--", label=f"device capacity {capacity:.1f} GiB")
    ax.set(ylabel=f"peak memory (GiB, {', '.join(sorted(views))})", title="Peak memory")
    _batch_axis(ax, series)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(title="images per prompt")
    return _png(fig)


def pareto_plot(records: Sequence[dict]) -> bytes | None:
    candidates = measured(records)
    if not candidates:
        return None

    def point(record: dict) -> tuple[float, float]:
        return latency_stat(record, "median"), float(record["images_per_s"])

    fig = Figure(figsize=(6.4, 4))
    ax = fig.add_subplot()
    ax.scatter(*zip(*map(point, candidates), strict=True), color="grey", label="config")
    front = frontier_records(records)
    ax.plot(
        *zip(*map(point, front), strict=True),
        color="tab:red",
        marker="o",
        label="Pareto frontier",
    )
    for record in candidates:
        ax.annotate(short_label(record), point(record), textcoords="offset points", xytext=(4, 4))
    ax.set(xlabel="latency p50 per call (s)", ylabel="images/s", title="Throughput vs latency")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def stage_breakdown(records: Sequence[dict]) -> bytes | None:
    ok = [r for r in records if is_ok(r) and r.get("stages_s")]
    stages = [
        (name, label)
        for name, label in STAGES
        if any((r["stages_s"].get(name) or {}).get("median") is not None for r in ok)
    ]
    if not stages:
        return None
    ok.sort(key=lambda r: (r.get("num_images_per_prompt") or 0, r.get("batch_size") or 0))
    fig = Figure(figsize=(max(6.4, 0.6 * len(ok) + 2), 4))
    ax = fig.add_subplot()
    labels = [short_label(r) for r in ok]
    bottom = [0.0] * len(ok)
    for name, label in stages:
        heights = [float((r["stages_s"].get(name) or {}).get("median") or 0.0) for r in ok]
        ax.bar(labels, heights, bottom=bottom, label=label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set(ylabel="median seconds per call", title="Stage breakdown")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    return _png(fig)


def hardware_comparison(runs: Sequence[tuple[str, Sequence[dict]]]) -> bytes | None:
    """Grouped bars of images/s per workload, one bar per device (run label)."""
    keys: dict = {}
    values: dict[tuple, float] = {}
    for device, records in runs:
        for record in records:
            if is_ok(record) and record.get("images_per_s") is not None:
                key = config_key(record)
                keys.setdefault(key, short_label(record))
                values[(device, key)] = float(record["images_per_s"])
    if not keys:
        return None
    ordered = sorted(keys)
    width = 0.8 / len(runs)
    fig = Figure(figsize=(max(6.4, 0.9 * len(ordered) + 2), 4))
    ax = fig.add_subplot()
    for i, (device, _) in enumerate(runs):
        xs = [k + i * width for k in range(len(ordered))]
        ax.bar(xs, [values.get((device, key), 0.0) for key in ordered], width, label=device)
    ax.set_xticks([k + width * (len(runs) - 1) / 2 for k in range(len(ordered))])
    ax.set_xticklabels([keys[key] for key in ordered], rotation=45)
    ax.set(ylabel="images/s", title="Hardware comparison")
    ax.legend()
    return _png(fig)
