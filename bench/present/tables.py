"""Plain-text tables as Markdown pipes: readable in a terminal, a CI log and a report."""

from __future__ import annotations

from collections.abc import Sequence

from bench.analyse.compare import broken_text
from bench.analyse.memory import noise_percent
from bench.result import ConfigResult
from bench.units import GIB, number, ratio

__all__ = ["MISSING", "gib", "markdown_table", "number", "percent_change",
           "ratio", "status_flags"]

MISSING = "—"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A pipe table with padded columns; None cells show as an em dash."""
    cells = [[MISSING if c is None else str(c).replace("|", "\\|") for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(list(headers)), separator, *(line(row) for row in cells)])


def status_flags(result: ConfigResult) -> list[str]:
    """What qualifies a status, in every table alike: 'unstable', '1 NaN', '1 black',
    'repeats differ'."""
    flags = ["unstable"] if result.unstable else []
    if result.broken_images:
        flags.append(broken_text(result))
    if result.repeats_identical is False:
        flags.append("repeats differ")
    return flags


def gib(value: int | None) -> str | None:
    """Bytes as GiB with two decimals."""
    return None if value is None else f"{value / GIB:.2f}"


def percent_change(ratio: float | None) -> str | None:
    return None if ratio is None else f"{ratio - 1:+.1%}"



def interval_text(interval) -> str | None:
    """An ``Interval`` as '[low, high]', or None when there is none."""
    return None if interval is None else interval.text()


def with_interval(value: float | None, interval) -> str | None:
    """'1.23 [1.20, 1.31]': a headline figure with its confidence interval."""
    if value is None:
        return None
    return number(value) if interval is None else f"{number(value)} {interval.text()}"


def memory_cell(changes) -> str | None:
    """The judged memory view that grew most: its change and the noise it was weighed
    against, e.g. 'process_rss +1.3% ±0.9%' (None when no view was judged)."""
    if not changes:
        return None
    worst = max(changes, key=lambda c: c.increase)
    noise = ("noise unknown" if worst.noise_source is None
             else noise_percent(worst.relative_noise))
    return f"{worst.view} {worst.increase:+.1%} {noise}"


def effect_row(verdict, thresholds) -> list:
    """One gate/ab table row: verdict, latency change with its interval, samples, p."""
    effect = verdict.effect
    change = verdict.change
    memory = memory_cell(verdict.memory)
    latency = None
    if effect is not None:
        latency = percent_change(effect.ratio)
    elif change is not None:
        latency = percent_change(change.latency_ratio)
    return [
        verdict.key,
        verdict.outcome + (" (fails)" if verdict.fails(thresholds) else ""),
        latency,
        None if effect is None else effect.interval_text(),
        None if effect is None else f"{effect.sizes_text()} {effect.samples}",
        None if verdict.p_adjusted is None else f"{verdict.p_adjusted:.2g}",
        memory,
        "; ".join(verdict.reasons),
    ]
