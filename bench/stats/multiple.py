"""Correction for many configs judged at once."""

from __future__ import annotations

from collections.abc import Sequence


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input order.

    Controls the chance of *any* false alarm among the m configs judged together (the
    family-wise error) at alpha, without assuming the tests are independent — configs of
    one run share its drift, so they are not. The smallest p is multiplied by m, the next
    by m - 1, ..., kept monotone.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
