"""The history as people see it: ``history show`` tables and the ``history report``
dashboard (one self-contained HTML file: plots embedded as PNG data URIs, no scripts, no
server, so it opens from a CI artifact). matplotlib is imported only to draw.

The dashboard, top to bottom: what is in the store and the change-point detector's
operating point, the regression feed (every step and drift, newest first), the hardware
table (the latest result of each workload on each machine, with its ratio to a reference
machine) and one trend plot per series: median latency per run with its interval, the
fitted level of each segment, every step marked with its size and commit range, every
drift drawn as the slope it is.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from bench.analyse.trends import LATENCY, DriftEvent, Event, HardwareTable, Series, feed
from bench.present.document import Block, Heading, Image, Paragraph, table
from bench.present.tables import gib, number
from bench.stats.changepoint import DEFAULT, SETTINGS, Setting
from bench.store.history import short_commit

# The colour of change-point markers: distinctive, so the browser test can find it.
STEP_COLOUR = "#e4007c"
DRIFT_COLOUR = "#ff7f0e"
WORSE, BETTER = "▲ regression", "▼ improvement"
DRIFT_WORSE, DRIFT_BETTER = "↗ drift (slower)", "↘ drift (faster)"


def _interval(interval) -> str | None:
    if interval is None:
        return None
    text = interval.text()
    return text if interval.confidence >= 0.95 else f"{text} range"


def _date(iso: str) -> str:
    return iso[:16].replace("T", " ")


def event_text(event: Event) -> str:
    """What changed: 'latency +15.2% [+11.0%, +19.5%] (slower)' at a step; 'latency drifts
    +1.00%/run [+0.80%, +1.20%] per run over 24 runs, +25.4% in all (slower)'."""
    if event.metric == LATENCY:
        name, what = "latency", ("slower" if event.worse else "faster")
    else:
        name, what = "peak memory", ("more" if event.worse else "less")
    if isinstance(event, DriftEvent):
        drift = event.drift
        return (f"{name} drifts {drift.rate - 1:+.2%}/run {drift.interval_text()} over"
                f" {drift.runs} runs, {drift.change:+.1%} in all ({what})")
    return f"{name} {event.step.change:+.1%} {event.step.interval_text()} ({what})"


def _mark(event: Event) -> str:
    what = "latency" if event.metric == LATENCY else "memory"
    if isinstance(event, DriftEvent):
        arrow = "↗" if event.worse else "↘"
        return (f"{arrow} {what} drift {event.drift.rate - 1:+.2%}/run over {event.drift.runs}"
                f" runs ({event.drift.change:+.1%}) {event.commits}")
    arrow = "▲" if event.worse else "▼"
    return f"{arrow} {what} {event.step.change:+.1%} {event.step.interval_text()} since {event.commits}"


def _marked_run(event: Event) -> int:
    """The run whose row carries the event: the first after a step, a drift's first run."""
    return (event.first if isinstance(event, DriftEvent) else event.after).run.id


def setting_text(setting: Setting) -> str:
    """The operating point, and how to choose another."""
    others = "|".join(SETTINGS)
    return (f"Change points ({setting.text()}; choose with --change-points {others};"
            " docs/history.md)")


# --- history show ------------------------------------------------------------------------

SHOW_HEADERS = ("date", "commit", "images/s", "interval", "median s", "interval", "peak GiB",
                "n", "status", "change point")


def show_rows(s: Series, last: int | None = None) -> list[list]:
    """One row per stored run of the series, newest first."""
    points = {p.row.run.id: p for p in s.points}
    marks: dict[int, list[str]] = {}
    for event in s.events:
        marks.setdefault(_marked_run(event), []).append(_mark(event))
    rows = []
    for row in reversed(s.rows):
        point = points.get(row.run.id)
        result = row.result
        budget = result.budget_memory()
        status = result.status.value
        rows.append([
            _date(row.run.started_at), row.run.revision,
            number(result.images_per_s) if result.measured else None,
            _interval(point.throughput) if point else None,
            number(result.median_s) if result.measured else None,
            _interval(point.latency) if point else None,
            gib(budget[1] if budget else None), len(result.latency_values) or None,
            f"{status}, unstable" if result.unstable else status,
            "; ".join(marks.get(row.run.id, [])) or None,
        ])
    return rows[:last] if last else rows


def series_title(s: Series) -> str:
    return f"{s.label} — {s.machine.name} [{s.machine.id}]"


def series_summary(s: Series) -> str:
    runs = len(s.rows)
    noise = f", run-to-run noise (as the detector assumes) {s.latency.sigma:.1%}" if s.latency else ""
    latency = [e for e in s.events if e.metric == LATENCY]
    drifts = sum(isinstance(e, DriftEvent) for e in latency)
    why = f" ({s.latency.reason})" if s.latency and s.latency.reason else ""
    return (f"{runs} run(s), {len(s.points)} ok{noise}, {len(latency) - drifts} latency change"
            f" point(s), {drifts} drift(s){why}")


# --- the dashboard -----------------------------------------------------------------------


def _png(fig) -> bytes:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def trend_plot(s: Series) -> bytes | None:
    """Median latency per run with its interval, segment levels and change points."""
    if not s.points:
        return None
    import matplotlib  # here, not at import: `history show` draws nothing and starts fast

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    x = list(range(len(s.points)))
    medians = [p.row.result.median_s for p in s.points]
    low = [m - (p.latency.low if p.latency else m) for m, p in zip(medians, s.points, strict=True)]
    high = [(p.latency.high if p.latency else m) - m for m, p in zip(medians, s.points, strict=True)]
    memory_events = [e for e in s.events if e.metric != LATENCY]
    fig = Figure(figsize=(9, 3.6))
    ax = fig.add_subplot()
    ax.errorbar(x, medians, yerr=[low, high], fmt="o", ms=3.5, lw=1, color="#1f77b4",
                ecolor="#9ecae1", capsize=2, label="median latency (interval)")
    if s.latency:
        drifting = {(d.start, d.end) for d in s.latency.drifts}
        for segment in s.latency.segments:
            drift = (segment.start, segment.end) in drifting
            ax.plot([segment.start - 0.4, segment.end - 0.6], [segment.first, segment.last],
                    color=DRIFT_COLOUR if drift else "#555555", lw=2.0 if drift else 1.2)
    for event in (e for e in s.events if e.metric == LATENCY):
        if isinstance(event, DriftEvent):
            ax.annotate(f"drift {event.drift.rate - 1:+.2%}/run ({event.drift.change:+.1%})",
                        xy=(event.drift.start, 0.9), xycoords=("data", "axes fraction"),
                        color=DRIFT_COLOUR, fontsize=8, weight="bold")
            continue
        at = event.step.index - 0.5
        ax.axvline(at, color=STEP_COLOUR, lw=2.2, ls="--")
        ax.annotate(f"{event.step.change:+.1%} {event.commits}", xy=(at, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", color=STEP_COLOUR, fontsize=8, weight="bold")
    for event in memory_events:
        rows = [p.row.run.id for p in s.points]
        if _marked_run(event) in rows:
            at = rows.index(_marked_run(event)) - 0.5
            ax.axvline(at, color="#9467bd", lw=1.2, ls=":")
            ax.annotate(f"memory {event_text(event)}", xy=(at, 0.02),
                        xycoords=("data", "axes fraction"), xytext=(3, 2),
                        textcoords="offset points", color="#9467bd", fontsize=7)
    every = max(1, len(x) // 15)
    ticks = [short_commit(p.row.run.commit) or p.row.run.label or "?" for p in s.points]
    ax.set_xticks(x[::every], labels=ticks[::every],
                  rotation=45, ha="right", fontsize=7)
    ax.set_xlim(-0.7, len(x) - 0.3)
    ax.set_ylabel("median latency (s)")
    ax.set_xlabel("run (commit), oldest first")
    ax.set_title(f"{s.label}\n{s.machine.name}", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _kind(event: Event) -> str:
    if isinstance(event, DriftEvent):
        return DRIFT_WORSE if event.worse else DRIFT_BETTER
    return WORSE if event.worse else BETTER


def _runs(event: Event) -> str:
    if isinstance(event, DriftEvent):
        return f"{event.drift.runs} (drift)"
    return f"{event.step.n_before} / {event.step.n_after}"


def feed_blocks(series: Sequence[Series]) -> list[Block]:
    events = feed(series)
    blocks: list[Block] = [Heading("Regression feed")]
    if not events:
        blocks.append(Paragraph(f"No change point in {len(series)} series: every workload is"
                                " level within its run-to-run noise."))
        return blocks
    worse = sum(e.worse for e in events)
    drifts = sum(isinstance(e, DriftEvent) for e in events)
    blocks.append(Paragraph(
        f"{len(events)} change(s), {worse} of them for the worse, {drifts} of them drift(s),"
        " newest first. A step is reported once at least 3 runs on each side support it; its"
        " commits are the last run before and the first run after it (the change is in that"
        " range). A drift is a slow change spread over many runs (a little with each"
        " commit, or the machine changing): its commits are its first and last run."))
    rows = [[_kind(e), _date(e.when.run.started_at), e.label, e.machine.name, event_text(e),
             e.commits, _runs(e), "; ".join(e.library_changes) or None] for e in events]
    blocks.append(table(("", "when", "workload", "machine", "change [95% interval]",
                         "commits", "runs before / after", "library versions changed"), rows))
    return blocks


def hardware_blocks(hardware: HardwareTable | None) -> list[Block]:
    blocks: list[Block] = [Heading("Hardware")]
    if hardware is None:
        return [*blocks, Paragraph("No ok result stored yet.")]
    ref = hardware.reference
    blocks.append(Paragraph(
        f"The latest ok result of each workload on each machine: images/s with its interval,"
        f" and the ratio to the reference machine **{ref.name}** [{ref.id}] (> 1: faster;"
        " its interval from the per-call times of the two runs, so within-run noise only)."))
    headers = ["workload"]
    for machine in hardware.machines:
        mark = " (reference)" if machine.id == ref.id else ""
        headers += [f"{machine.name}{mark}: images/s", "ratio to reference"]
    rows = []
    for workload, cells in hardware.rows:
        row: list = [workload]
        for machine in hardware.machines:
            cell = cells.get(machine.id)
            if cell is None:
                row += [None, None]
                continue
            ips = f"{number(cell.row.result.images_per_s)} {_interval(cell.throughput) or ''}".strip()
            ips += f" ({_date(cell.row.run.started_at)[:10]}, {cell.row.run.revision})"
            ratio = "reference" if machine.id == hardware.reference.id else None
            if cell.ratio is not None:
                ratio = f"{cell.ratio:.3f}x"
                if cell.low is not None:
                    ratio += f" [{cell.low:.3f}, {cell.high:.3f}]"
            row += [ips, ratio]
        rows.append(row)
    blocks.append(table(headers, rows))
    return blocks


def _split_text(split: int) -> str:
    if not split:
        return ""
    return (f"; {split} more series for workloads also run with other call arguments (a"
            " guidance scale, a strength: marked after the workload, never mixed in one series)")


def _setting_of(series: Sequence[Series]) -> Setting:
    found = [s.latency.setting for s in series if s.latency is not None]
    return found[0] if found else DEFAULT


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower()[:80]


def dashboard_blocks(series: Sequence[Series], hardware: HardwareTable | None,
                     store: Path, runs: int, setting: Setting | None = None) -> list[Block]:
    machines = {s.machine.id for s in series}
    workloads = {s.workload for s in series}
    split = len({(s.workload, s.arguments) for s in series}) - len(workloads)
    dates = sorted(r.run.started_at for s in series for r in s.rows)
    span = f", {dates[0][:10]} to {dates[-1][:10]}" if dates else ""
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    blocks: list[Block] = [Paragraph(
        f"Store `{store}`: {runs} run(s), {len(workloads)} workload(s) on {len(machines)}"
        f" machine(s){span}{_split_text(split)}. Generated {generated} by `sdxl-bench history"
        " report`."),
        Paragraph(setting_text(setting or _setting_of(series)) + ": steps and drifts of log"
                  " median latency, against each series' own run-to-run noise.")]
    blocks += feed_blocks(series)
    blocks += hardware_blocks(hardware)
    blocks.append(Heading("Trends"))
    blocks.append(Paragraph(
        "One plot per series (workload, call arguments, machine): median latency per run with"
        " its interval (dots and bars), the fitted level of each segment (grey), every step"
        " (dashed, with its size and commit range) and every drift (orange slope)."))
    for s in series:
        blocks.append(Heading(series_title(s), 3))
        blocks.append(Paragraph(series_summary(s)))
        png = trend_plot(s)
        if png is not None:
            blocks.append(Image(f"trend-{_slug(s.label)}-{s.machine.id}.png", png,
                                f"trend of {s.label} on {s.machine.name}"))
    return blocks
