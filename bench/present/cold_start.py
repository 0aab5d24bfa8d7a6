"""Cold-start figures (``cold_start`` of a process's first result) beside the steady state:
one line for the terminal, one table row per cold process for the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bench.result import ColdStart, ConfigResult
from bench.units import GIB


def cold_results(results: Sequence[ConfigResult]) -> list[ConfigResult]:
    """Results that carry a process's cold start (the first of each process)."""
    return [r for r in results if r.cold_start]


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g} s"


def _peak(cold: ColdStart) -> str:
    peak = cold.first_call_peak_bytes
    return "n/a" if peak is None else f"{peak / GIB:.3g} GiB {cold.first_call_memory_view}"


def steady_median(results: Sequence[ConfigResult], config_id: str | None) -> float | None:
    """Median latency of the config whose call was the first one (its steady state)."""
    match = next((r for r in results if r.config_id == config_id), None)
    return match.median_s if match else None


def cold_start_line(results: Sequence[ConfigResult | Mapping]) -> str | None:
    """``cold start: import …, load …, first call … (…) vs steady median …`` or None."""
    cold_ones = cold_results(results)
    if not cold_ones:
        return None
    cold = cold_ones[0].cold_start
    steady = steady_median(results, cold.first_call_config_id)
    text = (f"cold start: import {_seconds(cold.import_s)}, load"
            f" {_seconds(cold.load_s)}, first call"
            f" {_seconds(cold.first_call_s)} ({cold.first_call or 'failed'},"
            f" peak {_peak(cold)}); steady-state median {_seconds(steady)}")
    if len(cold_ones) > 1:
        text += f" — {len(cold_ones)} processes started cold (see the report)"
    return text


COLUMNS = ("first call of", "import s", "load s", "first call s", "kind", "first-call peak",
           "steady median s", "notes")


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def cold_start_rows(results: Sequence[ConfigResult]) -> list[list[object]]:
    rows = []
    for result in cold_results(results):
        cold = result.cold_start
        steady = steady_median(results, cold.first_call_config_id)
        rows.append([cold.first_call_config_id, _number(cold.import_s),
                     _number(cold.load_s), _number(cold.first_call_s),
                     cold.first_call or "failed", _peak(cold), _number(steady),
                     "; ".join(cold.notes) or None])
    return rows
