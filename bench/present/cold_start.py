"""Cold-start figures (``cold_start`` of a process's first record) beside the steady state:
one line for the terminal, one table row per cold process for the report."""

from __future__ import annotations

from collections.abc import Sequence

from bench.store.schema import latency_stat
from bench.units import GIB


def cold_records(records: Sequence[dict]) -> list[dict]:
    """Records that carry a process's cold start (the first of each process)."""
    return [r for r in records if r.get("cold_start")]


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g} s"


def _peak(cold: dict) -> str:
    peak = cold.get("first_call_peak_bytes")
    return "n/a" if peak is None else f"{peak / GIB:.3g} GiB {cold.get('first_call_memory_view')}"


def steady_median(records: Sequence[dict], config_id: str | None) -> float | None:
    """Median latency of the config whose call was the first one (its steady state)."""
    match = next((r for r in records if r.get("config_id") == config_id), None)
    return latency_stat(match, "median") if match else None


def cold_start_line(records: Sequence[dict]) -> str | None:
    """``cold start: import …, load …, first call … (…) vs steady median …`` or None."""
    cold_ones = cold_records(records)
    if not cold_ones:
        return None
    cold = cold_ones[0]["cold_start"]
    steady = steady_median(records, cold.get("first_call_config_id"))
    text = (f"cold start: import {_seconds(cold.get('import_s'))}, load"
            f" {_seconds(cold.get('load_s'))}, first call"
            f" {_seconds(cold.get('first_call_s'))} ({cold.get('first_call') or 'failed'},"
            f" peak {_peak(cold)}); steady-state median {_seconds(steady)}")
    if len(cold_ones) > 1:
        text += f" — {len(cold_ones)} processes started cold (see the report)"
    return text


COLUMNS = ("first call of", "import s", "load s", "first call s", "kind", "first-call peak",
           "steady median s", "notes")


def cold_start_rows(records: Sequence[dict]) -> list[list[object]]:
    rows = []
    for record in cold_records(records):
        cold = record["cold_start"]
        steady = steady_median(records, cold.get("first_call_config_id"))

        def number(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3g}"

        rows.append([cold.get("first_call_config_id"), number(cold.get("import_s")),
                     number(cold.get("load_s")), number(cold.get("first_call_s")),
                     cold.get("first_call") or "failed", _peak(cold), number(steady),
                     "; ".join(cold.get("notes") or []) or None])
    return rows
