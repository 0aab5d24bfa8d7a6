"""Units, and the plain-text form of numbers, defined once for every stage.

Standard library only (nothing at all, in fact), so that plan, measure, store, analyse and
present can all import it without any of them depending on another.
"""

from __future__ import annotations

GIB = 2**30  # bytes in a GiB: every "GiB" the harness prints or accepts


def number(value: float | None, digits: int = 3) -> str | None:
    """Significant-digit formatting; None stays None (tables show it as a dash)."""
    return None if value is None else f"{float(value):.{digits}g}"


def ratio(value: float | None) -> str | None:
    """A ratio such as candidate / baseline, written ``1.050x``."""
    return None if value is None else f"{value:.3f}x"
