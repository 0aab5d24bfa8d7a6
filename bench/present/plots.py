"""Report plots as PNG bytes (matplotlib, Agg backend: headless, no pyplot global state).

Every function takes config results (``ConfigResult``) and returns PNG bytes, or None when there is nothing
to draw (no ok config, no stage timings...), so the report simply leaves the plot out.
Each has a ``*_figure`` twin returning the matplotlib ``Figure`` (what the tests read).

Headline figures carry their uncertainty: images/s and median latency are drawn with the
interval the tables show (``median_uncertainty``: 95 % from order statistics, the range
for fewer than 6 calls), percentiles only where the calls support them, and a config the
stability check marked unstable gets a black cross (``UNSTABLE_LABEL``).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)

from bench.analyse.pareto import frontier, measured  # noqa: E402
from bench.analyse.recommend import images_per_s_interval  # noqa: E402
from bench.result import ConfigResult  # noqa: E402
from bench.stats import median_uncertainty, supported_percentile  # noqa: E402
from bench.store.schema import config_key  # noqa: E402
from bench.units import GIB  # noqa: E402

UNSTABLE_LABEL = "unstable estimate (see the report's warnings)"
INTERVAL_NOTE = "bars: 95% interval (range below 6 calls)"

STAGES = (
    ("vae_encode", "VAE encode"),
    ("text_encoding", "text encoding"),
    ("denoising", "denoising"),
    ("vae_decode", "VAE decode"),
)


def _png(fig: Figure | None) -> bytes | None:
    if fig is None:
        return None
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def is_unstable(result: ConfigResult) -> bool:
    """Whether the stability check (``analyse.stability``) marked the estimate unstable."""
    return bool(result.unstable)


def throughput_error(result: ConfigResult) -> tuple[float, float]:
    """(below, above) the images/s point: its interval's distance, zero without raw times."""
    interval = images_per_s_interval(result)
    value = float(result.images_per_s)
    if interval is None:
        return 0.0, 0.0
    return max(0.0, value - interval.low), max(0.0, interval.high - value)


def latency_error(result: ConfigResult) -> tuple[float, float]:
    """(below, above) the median latency: its interval's distance, zero without raw times."""
    interval = median_uncertainty(list(result.latency_values))
    median = result.median_s
    if interval is None or median is None:
        return 0.0, 0.0
    return max(0.0, median - interval.low), max(0.0, interval.high - median)


def _yerr(errors: list[tuple[float, float]]) -> list[list[float]]:
    return [[low for low, _ in errors], [high for _, high in errors]]


def _mark_unstable(ax, points: list[tuple[float, float]]) -> None:
    """Black crosses over unstable configs, one legend entry for all of them."""
    if points:
        ax.scatter(*zip(*points, strict=True), marker="x", s=100, linewidths=1.8,
                   color="black", zorder=4, label=UNSTABLE_LABEL)


def plot_lines(results: Sequence[ConfigResult]) -> dict[str, list[ConfigResult]]:
    """Ok results as lines over batch size: one per images-per-prompt value and, when the
    run sweeps more (dtype, steps, size, optimizations, ranks), per workload as well."""
    ok = [r for r in results if r.ok]
    # A line's identity: the config key without its batch size and images per prompt.
    lines = {id(r): replace(config_key(r), batch_size=0, num_images_per_prompt=0) for r in ok}
    several = len(set(lines.values())) > 1
    groups: dict[str, list[ConfigResult]] = defaultdict(list)
    for result in ok:
        workload = str(lines[id(result)]).replace(" bs0 n0", "") + " " if several else ""
        groups[f"{workload}n={result.num_images_per_prompt}"].append(result)
    return {
        label: sorted(group, key=lambda r: r.batch_size or 0)
        for label, group in sorted(groups.items())
    }


def _batch_axis(ax, series: dict[str, list[ConfigResult]]) -> None:
    """Log2 axis with ticks at the batch sizes measured (1, 2, 4, 8 ...)."""
    sizes = sorted({r.batch_size for group in series.values() for r in group})
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, labels=[str(size) for size in sizes])
    ax.minorticks_off()
    ax.set_xlabel("batch size (prompts per call)")


def short_label(result: ConfigResult) -> str:
    return result.layout


def throughput_figure(results: Sequence[ConfigResult]) -> Figure | None:
    series = plot_lines(results)
    if not series:
        return None
    fig = Figure(figsize=(6.4, 4))
    ax = fig.add_subplot()
    unstable = []
    for label, group in series.items():
        xs = [r.batch_size for r in group]
        ys = [r.images_per_s for r in group]
        ax.errorbar(xs, ys, yerr=_yerr([throughput_error(r) for r in group]), marker="o",
                    capsize=4, label=label)
        unstable += [(x, y) for x, y, r in zip(xs, ys, group, strict=True) if is_unstable(r)]
    _mark_unstable(ax, unstable)
    ax.set(ylabel="images/s", title=f"Throughput ({INTERVAL_NOTE})")
    _batch_axis(ax, series)
    ax.grid(alpha=0.3)
    ax.legend(title="images per prompt")
    return fig


def throughput_vs_batch(results: Sequence[ConfigResult]) -> bytes | None:
    return _png(throughput_figure(results))


def latency_figure(results: Sequence[ConfigResult]) -> Figure | None:
    """Median latency with its interval; p90 and p99 ticks only where n supports them."""
    series = plot_lines(results)
    if not series:
        return None
    fig = Figure(figsize=(6.4, 4))
    ax = fig.add_subplot()
    unstable = []
    for offset, (label, group) in enumerate(series.items()):
        xs = [r.batch_size * (1 + 0.03 * offset) for r in group]
        p50 = [r.median_s for r in group]
        line = ax.errorbar(xs, p50, yerr=_yerr([latency_error(r) for r in group]), marker="o",
                           capsize=4, label=f"{label} median")
        color = line.lines[0].get_color()
        for q, marker in ((90, "_"), (99, "^")):
            ticks = [(x, supported_percentile(list(r.latency_values), q))
                     for x, r in zip(xs, group, strict=True)]
            ticks = [(x, v) for x, v in ticks if v is not None]
            if ticks:
                ax.scatter(*zip(*ticks, strict=True), marker=marker, s=120, color=color,
                           zorder=3, label=f"{label} p{q}")
        unstable += [(x, y) for x, y, r in zip(xs, p50, group, strict=True) if is_unstable(r)]
    _mark_unstable(ax, unstable)
    ax.set_ylabel("latency per call (s)")
    _batch_axis(ax, series)
    ax.set_title(f"Latency median ({INTERVAL_NOTE});\np90 tick from 10 calls, p99 from 100",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def latency_vs_batch(results: Sequence[ConfigResult]) -> bytes | None:
    return _png(latency_figure(results))


def memory_error(result: ConfigResult, view: str, peak: int) -> tuple[float, float]:
    """(below, above) the peak in GiB: down to the smallest per-call peak of the same view,
    the repeat-level spread a memory verdict weighs changes against (zero without it)."""
    calls = result.memory_per_call().get(view)
    if not calls:
        return 0.0, 0.0
    return max(0.0, (peak - min(calls)) / GIB), 0.0


def memory_figure(results: Sequence[ConfigResult], capacity_bytes: int | None = None
                  ) -> Figure | None:
    """Peak memory (best view per config) per batch size, its per-call spread as a bar
    below it, the device capacity as a line: from the results (NVML), else
    ``capacity_bytes`` (the run header's torch view)."""
    series = {
        label: [r for r in group if r.budget_memory() is not None]
        for label, group in plot_lines(results).items()
    }
    series = {label: group for label, group in series.items() if group}
    if not series:
        return None
    fig = Figure(figsize=(6.4, 4))
    ax = fig.add_subplot()
    views = set()
    for label, group in series.items():
        memory = [r.budget_memory() for r in group]
        views.update(view for view, _ in memory)
        ax.errorbar(
            [r.batch_size for r in group],
            [value / GIB for _, value in memory],
            yerr=_yerr([memory_error(r, view, value) for r, (view, value)
                        in zip(group, memory, strict=True)]),
            marker="o",
            capsize=4,
            label=label,
        )
    capacities = {r.device_memory_bytes for r in results if r.device_memory_bytes}
    if capacities or capacity_bytes:
        capacity = max(capacities or {capacity_bytes}) / GIB
        ax.axhline(capacity, color="red", linestyle="--", label=f"device capacity {capacity:.1f} GiB")
    ax.set(ylabel=f"peak memory (GiB, {', '.join(sorted(views))})",
           title="Peak memory (bar: down to the smallest per-call peak)")
    _batch_axis(ax, series)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(title="images per prompt")
    return fig


def memory_vs_batch(results: Sequence[ConfigResult], capacity_bytes: int | None = None
                    ) -> bytes | None:
    return _png(memory_figure(results, capacity_bytes))


def pareto_figure(results: Sequence[ConfigResult]) -> Figure | None:
    candidates = measured(results)
    if not candidates:
        return None

    def point(result: ConfigResult) -> tuple[float, float]:
        return result.median_s, float(result.images_per_s)

    fig = Figure(figsize=(6.4, 4))
    ax = fig.add_subplot()
    ax.errorbar(*zip(*map(point, candidates), strict=True),
                xerr=_yerr([latency_error(r) for r in candidates]),
                yerr=_yerr([throughput_error(r) for r in candidates]),
                fmt="o", color="grey", capsize=3, label="config (interval bars)")
    front = frontier(results)
    ax.plot(
        *zip(*map(point, front), strict=True),
        color="tab:red",
        marker="o",
        label="Pareto frontier",
    )
    _mark_unstable(ax, [point(r) for r in candidates if is_unstable(r)])
    for result in candidates:
        ax.annotate(short_label(result), point(result), textcoords="offset points", xytext=(4, 4))
    ax.set(xlabel="latency median per call (s)", ylabel="images/s", title="Throughput vs latency")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def pareto_plot(results: Sequence[ConfigResult]) -> bytes | None:
    return _png(pareto_figure(results))


def _stage_median(result: ConfigResult, stage: str) -> float | None:
    summary = result.stages.get(stage) if result.stages else None
    return None if summary is None else summary.median


def stage_figure(results: Sequence[ConfigResult]) -> Figure | None:
    ok = [r for r in results if r.ok and r.stages]
    stages = [
        (name, label)
        for name, label in STAGES
        if any(_stage_median(r, name) is not None for r in ok)
    ]
    if not stages:
        return None
    ok.sort(key=lambda r: (r.num_images_per_prompt or 0, r.batch_size or 0))
    fig = Figure(figsize=(max(6.4, 0.6 * len(ok) + 2), 4))
    ax = fig.add_subplot()
    labels = [short_label(r) + (" ✗ unstable" if is_unstable(r) else "") for r in ok]
    bottom = [0.0] * len(ok)
    for name, label in stages:
        heights = [float(_stage_median(r, name) or 0.0) for r in ok]
        ax.bar(labels, heights, bottom=bottom, label=label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set(ylabel="median seconds per call", title="Stage breakdown")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    return fig


def stage_breakdown(results: Sequence[ConfigResult]) -> bytes | None:
    return _png(stage_figure(results))


def hardware_figure(runs: Sequence[tuple[str, Sequence[ConfigResult]]]) -> Figure | None:
    """Grouped bars of images/s per workload, one bar per device (run label), each with its
    interval; a black cross over a bar whose estimate is unstable."""
    keys: dict = {}
    found: dict[tuple, ConfigResult] = {}
    for device, results in runs:
        for result in results:
            if result.ok and result.images_per_s is not None:
                key = config_key(result)
                keys.setdefault(key, short_label(result))
                found[(device, key)] = result
    if not keys:
        return None
    ordered = sorted(keys)
    width = 0.8 / len(runs)
    fig = Figure(figsize=(max(6.4, 0.9 * len(ordered) + 2), 4))
    ax = fig.add_subplot()
    unstable = []
    for i, (device, _) in enumerate(runs):
        xs = [k + i * width for k in range(len(ordered))]
        bars = [found.get((device, key)) for key in ordered]
        heights = [float(r.images_per_s) if r else 0.0 for r in bars]
        errors = [throughput_error(r) if r else (0.0, 0.0) for r in bars]
        ax.bar(xs, heights, width, yerr=_yerr(errors), capsize=3, label=device)
        unstable += [(x, h) for x, h, r in zip(xs, heights, bars, strict=True) if r and is_unstable(r)]
    _mark_unstable(ax, unstable)
    ax.set_xticks([k + width * (len(runs) - 1) / 2 for k in range(len(ordered))])
    ax.set_xticklabels([keys[key] for key in ordered], rotation=45)
    ax.set(ylabel="images/s", title=f"Hardware comparison ({INTERVAL_NOTE})")
    ax.legend()
    return fig


def hardware_comparison(runs: Sequence[tuple[str, Sequence[ConfigResult]]]) -> bytes | None:
    return _png(hardware_figure(runs))
