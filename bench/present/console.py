"""Terminal output: the results table and the progress bar (rich, imported lazily)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bench.analyse.recommend import images_per_s_interval
from bench.present.tables import status_flags
from bench.result import ROUND_MEDIANS, ConfigResult
from bench.stats import supported_percentile
from bench.units import GIB


def peak_memory_view(result: ConfigResult | Mapping) -> tuple[str, int] | tuple[None, None]:
    """The most telling peak-memory view present, in ``BUDGET_VIEWS`` order (the process's
    GPU memory first): the same view the report and the recommendation name."""
    found = result.budget_memory()
    return found if found is not None else (None, None)


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def results_table(results: Sequence[ConfigResult | Mapping], title: str | None = None):
    """One row per config; peak memory in GiB from the most telling view (named below)."""
    from rich.table import Table

    table = Table(title=title)
    for name in ("batch", "n/prompt", "images", "images/s", "interval", "p50 s", "p90 s", "n",
                 "peak GiB"):
        table.add_column(name, justify="right")
    table.add_column("status")
    views = set()
    coverages = set()
    notes: list[str] = []  # why a config did not measure, and its warnings, numbered
    for result in results:
        view, peak = peak_memory_view(result)
        if view:
            views.add(view)
        status = result.status.value
        flags = status_flags(result)
        if flags:
            status += " (" + ", ".join(flags) + ")"
        reasons = [result.error] if not result.ok and result.error else []
        for reason in [*reasons, *result.warnings]:
            notes.append(f"[{len(notes) + 1}] {short_config(result)}: {one_line(reason)}")
            status += f" [{len(notes)}]"
        values = result.latency_values
        interval = images_per_s_interval(result)
        if interval is not None:
            coverages.add(interval.confidence)
        table.add_row(
            str(result.batch_size), str(result.num_images_per_prompt),
            str(result.images_per_call), _fmt(result.images_per_s, ".3f"),
            f"{interval.low:.3f}–{interval.high:.3f}" if interval else "—",
            _fmt(result.median_s, ".4f"),
            _fmt(supported_percentile(values, 90) if values else None, ".4f"),
            str(len(values)) if values else "—",
            _fmt(peak / GIB if peak is not None else None, ".2f"), status,
        )
    caption = []
    if coverages:  # order statistics give discrete coverages; say which ones were reached
        shown = ", ".join(f"{c:.0%}" for c in sorted(coverages))
        over = (" over the per-round medians (n = rounds)"
                if any(r.sample == ROUND_MEDIANS for r in results) else "")
        caption.append(f"interval: images/s from the median's order-statistic interval{over}"
                       f" ({shown} coverage); p90 only from 10 values")
    if views:
        caption.append("peak memory view: " + ", ".join(sorted(views)))
    if caption or notes:
        table.caption = "\n".join(caption + notes)
        table.caption_justify = "left" if notes else "center"
    return table


def short_config(result: ConfigResult) -> str:
    """``bs2-n4`` (plus the varying axes) from a result's config id."""
    config_id = str(result.config_id or "?")
    return config_id.split("/", 1)[1] if "/" in config_id else config_id


def one_line(text: str, width: int = 400) -> str:
    """A message as one line for the terminal, shortened only when it is long (a stack of
    library errors; the run file keeps it all): a warning's suggested fix comes last and
    must survive."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1] + "…"


FILE_WIDTH = 160  # columns for tables written to a file or a pipe (the widest table fits)


def console(stderr: bool = False, width: int | None = None):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, width=width)


def results_console():
    """stdout for tables: in a terminal its width; to a file or a pipe (a CI log) rich would
    assume 80 columns and cut figures short, so at least ``FILE_WIDTH``."""
    out = console()
    return out if out.is_terminal else console(width=max(out.width, FILE_WIDTH))


def progress_bar(total: int):
    """A progress bar over configs on stderr (plain when not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console(stderr=True), transient=False,
    )
