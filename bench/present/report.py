"""Content of the ``report`` and ``compare`` documents, as blocks (see ``bench.present.document``).

Pure assembly over run results (``Run.results``): tables, plots, the environment of each run, the
recommendation, image grids; no measuring and no torch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bench.analyse.pareto import frontier
from bench.analyse.recommend import Budget, images_per_s_interval, recommend
from bench.errors import UsageError
from bench.present import plots
from bench.present.cold_start import COLUMNS as COLD_START_COLUMNS
from bench.present.cold_start import cold_start_rows
from bench.present.document import Block, Bullets, Heading, Image, Paragraph, table
from bench.present.image_grid import run_grids
from bench.present.tables import gib, number, status_flags
from bench.result import MEMORY_VIEWS, ConfigResult
from bench.stats import median_uncertainty, min_samples_for, supported_percentile
from bench.store.run_file import Run
from bench.store.schema import ENVIRONMENT_FIELDS
from bench.units import GIB


def device_name(run: Run) -> str:
    return str((run.header.get("env") or {}).get("device_name") or "unknown device")


def run_label(run: Run, index: int) -> str:
    return f"run {index + 1}: {run.path.name} ({device_name(run)})"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value:.1%}"


def _interval(interval) -> str | None:
    """'[low, high]', with the coverage when it is not the 95 % asked for (small n)."""
    if interval is None:
        return None
    if interval.confidence < 0.95:
        return f"{interval.text()} range, {interval.confidence:.0%}"
    return interval.text()


def _energy(result: ConfigResult, shared: str | None = None) -> str | None:
    """Joules per image, or "n/a (why)" where the run recorded why there is none — just
    "n/a" when every row has that reason (``shared``: said once under the table)."""
    if result.energy_j_per_image is not None:
        return number(result.energy_j_per_image)
    reason = result.energy_unavailable
    if not reason or not result.ok:
        return None
    return "n/a" if reason == shared else f"n/a ({reason})"


def shared_energy_reason(results: Sequence[ConfigResult]) -> str | None:
    """The one reason every measured config gives for having no energy figure, if so."""
    ok = [r for r in results if r.ok]
    reasons = {r.energy_unavailable if r.energy_j_per_image is None else None for r in ok}
    return reasons.pop() if len(reasons) == 1 and ok else None


def _percentile(result: ConfigResult, q: float) -> str | None:
    """A tail percentile only when the number of calls supports it (p90: 10, p99: 100)."""
    values = list(result.latency_values)
    if values:
        return number(supported_percentile(values, q))
    latency = result.latency
    if latency is None or latency.n < min_samples_for(q):
        return None
    return number(getattr(latency, f"p{q:g}"))


def _status(result: ConfigResult) -> str:
    """``ok, unstable, 1 NaN, 1 black``: what the terminal table says, in the same words."""
    return ", ".join([result.status.value, *status_flags(result)])


def _steps(result: ConfigResult) -> int | None:
    """The denoising steps the call ran (``strength`` shortens img2img), else as asked."""
    return result.steps_run if result.steps_run is not None else result.num_inference_steps


def summary_table(results: Sequence[ConfigResult | Mapping]) -> Block:
    """One row per config: throughput and median latency with their 95 % intervals,
    tail percentiles where n supports them, n, memory by view, energy, achieved TFLOP/s
    and MFU when measured, and whether it lies on the Pareto frontier."""
    views = [v for v in MEMORY_VIEWS if any(r.memory_bytes()[v] is not None for r in results)]
    compute = any(r.achieved_tflops is not None for r in results)
    headers = [
        "config",
        "status",
        "batch",
        "img/prompt",
        "img/call",
        "steps",
        "size",
        "images/s",
        "images/s 95% CI",
        "p50 s",
        "p50 95% CI",
        "p90 s",
        "p99 s",
        "n",
        *(f"{view} GiB" for view in views),
        "J/image",
        *(("TFLOP/s", "MFU") if compute else ()),
        "Pareto",
    ]
    on_front = {id(r) for r in frontier(results)}
    shared = shared_energy_reason(results)
    rows = []
    for r in results:
        memory = r.memory_bytes()
        rows.append(
            [
                r.config_id,
                _status(r),
                r.batch_size,
                r.num_images_per_prompt,
                r.images_per_call,
                _steps(r),
                f"{r.height}x{r.width}",
                number(r.images_per_s),
                _interval(images_per_s_interval(r)),
                number(r.median_s),
                _interval(median_uncertainty(list(r.latency_values))),
                _percentile(r, 90),
                _percentile(r, 99),
                r.latency.n if r.latency else None,
                *(gib(memory[view]) for view in views),
                _energy(r, shared),
                *((number(r.achieved_tflops), _percent(r.mfu)) if compute else ()),
                "yes" if id(r) in on_front else None,
            ]
        )
    return table(headers, rows)


def environment_table(run: Run) -> Block:
    env = run.header.get("env") or {}
    rows = []
    for name in ENVIRONMENT_FIELDS:
        value = env.get(name)
        if name == "device_total_memory_bytes":  # older headers name it device_memory_bytes
            value = env.get(name, env.get("device_memory_bytes"))
            value = f"{value / GIB:.1f} GiB" if value else value
        elif name == "cuda" and value and env.get("cuda_available") is False:
            value = f"{value} (torch's build; no CUDA device was available)"
        elif name == "nvml" and isinstance(value, dict):
            value = "available" if value.get("available") else f"unavailable: {value.get('reason')}"
        rows.append([name, value])
    rows.append(["run_id", run.header.get("run_id")])
    rows.append(["started_at", run.header.get("started_at")])
    command = run.header.get("command")
    rows.append(["command", " ".join(command) if isinstance(command, list) else command])
    end = run.end
    rows.append(["run status", end.status.value if end else "no footer (run did not finish)"])
    if end and end.duration_s is not None:
        rows.append(["duration", f"{end.duration_s:.1f} s"])
    return table(["field", "value"], rows)


def recommendation_blocks(results: Sequence[ConfigResult], budget: Budget) -> list[Block]:
    result = recommend(results, budget)
    blocks: list[Block] = []
    note = f" {result.latency_note}" if result.latency_note else ""
    if result.best is None:
        blocks.append(Paragraph(f"**No recommendation**: {result.why}.{note}"))
    elif result.tied:
        names = ", ".join(f"`{r.config_id}`" for r in (result.best, *result.tied))
        blocks.append(
            Paragraph(
                f"**Tied: {names}**: `{result.best.config_id}` leads by point"
                f" estimate with the {result.why}.{note}"
            )
        )
    else:
        best = result.best
        blocks.append(
            Paragraph(
                f"**Recommended: `{best.config_id}`** (batch size"
                f" {best.batch_size}, {best.num_images_per_prompt} image(s) per"
                f" prompt): {result.why}.{note}"
            )
        )
    if result.rejected:
        blocks.append(
            table(
                ["config", "rejected because"],
                [[rej.record.config_id, rej.reason] for rej in result.rejected],
            )
        )
    return blocks


def _plot_blocks(prefix: str, run: Run) -> list[Block]:
    results = run.results
    env = run.header.get("env") or {}
    capacity = env.get("device_total_memory_bytes", env.get("device_memory_bytes"))
    wanted = [
        ("throughput", "Images/s vs batch size", plots.throughput_vs_batch(results)),
        ("latency", "Latency vs batch size", plots.latency_vs_batch(results)),
        ("memory", "Peak memory vs batch size", plots.memory_vs_batch(results, capacity)),
        ("pareto", "Throughput vs latency, Pareto frontier", plots.pareto_plot(results)),
        ("stages", "Stage breakdown", plots.stage_breakdown(results)),
    ]
    blocks: list[Block] = []
    for name, alt, png in wanted:
        if png is not None:
            blocks.append(Image(f"{prefix}-{name}.png", png, alt))
    return blocks


def hardware_blocks(runs: Sequence[Run]) -> list[Block]:
    """Grouped-bar comparison, only when the runs come from more than one device."""
    if len({device_name(run) for run in runs}) < 2:
        return []
    labelled = [(f"{device_name(run)} ({run.path.name})", run.results) for run in runs]
    png = plots.hardware_comparison(labelled)
    if png is None:
        return []
    return [
        Heading("Hardware comparison"),
        Paragraph("Images/s of every workload, one bar per device."),
        Image("hardware-comparison.png", png, "Hardware comparison: images/s per device"),
    ]


def determinism_blocks(run: Run) -> list[Block]:
    """A ``determinism`` run's checks: the verdict of each, what each means, and the
    summary line the terminal printed."""
    from bench.determinism.verdicts import CheckResult
    from bench.present.determinism import CHECK_COLUMNS, check_rows, explanations, summary_line

    try:
        results = [CheckResult.from_record(record) for record in run.checks]
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{run.path}: a determinism record is malformed ({exc})") from None
    if not results:
        return [Paragraph("A determinism run with no finished check (it was stopped before"
                          " the first config's checks were written).")]
    return [Heading("Determinism checks", 3), Paragraph(summary_line(results) + "."),
            table(CHECK_COLUMNS, check_rows(results)), Bullets(tuple(explanations(results)))]


def report_blocks(runs: Sequence[Run], budget: Budget) -> list[Block]:
    """The full report: hardware comparison (if several devices), then each run."""
    blocks: list[Block] = [
        Paragraph(
            "images/s = images per call / median latency. Latency is the wall time of one"
            " full call with the device synchronized; p50/p90/p99 over the timed calls,"
            " p90 shown from 10 calls and p99 from 100 (fewer: —). Intervals: 95 %"
            " order-statistic intervals of the median (with fewer than 6 calls, the range"
            " and its lower coverage). A run with --rounds K measures every config in K"
            " fresh processes: its median, n, percentiles and intervals are over the K"
            " per-round medians."
            " Memory in GiB (2^30 bytes)."
        ),
        *hardware_blocks(runs),
    ]
    for index, run in enumerate(runs):
        prefix = f"run{index + 1}-{_slug(run.path.stem)}"
        results = run.results
        blocks.append(Heading(run_label(run, index)))
        if run.warnings:
            blocks.append(Bullets(tuple(run.warnings)))
        if run.header.get("mode") == "determinism":  # checks, not a benchmark: no tables
            blocks += [*determinism_blocks(run), Heading("Environment", 3),
                       environment_table(run)]
            continue
        blocks.append(Heading("Summary", 3))
        blocks.append(summary_table(results))
        flagged = tuple(f"{r.config_id}: {w}" for r in results for w in r.warnings)
        energy = shared_energy_reason(results)
        if energy:
            flagged += (f"J/image n/a for every config: {energy}",)
        if flagged:  # unstable estimates, throttling, compile in timed calls, impossible MFU
            blocks.append(Bullets(flagged))
        cold_rows = cold_start_rows(results)
        if cold_rows:
            blocks.append(Heading("Cold start", 3))
            blocks.append(Paragraph(
                "Paid once per process, never in the timed calls: importing torch, diffusers"
                " and transformers, loading the model (after import), and the process's first"
                " pipeline call (its whole-process peak memory, weights included), beside the"
                " steady-state median latency of the same config."))
            blocks.append(table(COLD_START_COLUMNS, cold_rows))
        blocks.append(Heading("Recommendation", 3))
        blocks.extend(recommendation_blocks(results, budget))
        blocks.append(Heading("Plots", 3))
        blocks.extend(_plot_blocks(prefix, run))
        grids, notes = run_grids(run)
        if grids or notes:
            blocks.append(Heading("Images", 3))
            if notes:
                blocks.append(Bullets(tuple(notes)))
            for config_id, png in grids:
                blocks.append(Paragraph(f"`{config_id}`"))
                blocks.append(Image(f"{prefix}-images-{_slug(config_id)}.png", png, config_id))
        blocks.append(Heading("Environment", 3))
        blocks.append(environment_table(run))
    return blocks
