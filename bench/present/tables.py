"""Plain-text tables as Markdown pipes: readable in a terminal, a CI log and a report."""

from __future__ import annotations

from collections.abc import Sequence

from bench.units import GIB, number, ratio

__all__ = ["MISSING", "gib", "markdown_table", "number", "percent_change", "ratio"]

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


def gib(value: int | None) -> str | None:
    """Bytes as GiB with two decimals."""
    return None if value is None else f"{value / GIB:.2f}"


def percent_change(ratio: float | None) -> str | None:
    return None if ratio is None else f"{ratio - 1:+.1%}"

