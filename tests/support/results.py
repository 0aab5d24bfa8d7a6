"""Typed results for analysis tests, without writing files: the ``ConfigResult`` of one
config and the ``Entry``/``ResultSet`` a results file would give."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.result import CALLS, ConfigResult, Stability, Status, Summary
from bench.stats import median
from bench.store.result_files import Entry, ResultSet


def result(
    latencies: Sequence[float] = (),
    *,
    median_s: float | None = None,
    raw: bool = True,
    memory: Mapping[str, int] | None = None,
    memory_calls: Mapping[str, Sequence[int]] | None = None,
    status: str = "ok",
    sample: str = CALLS,
    unstable: Sequence[str] = (),
    images_per_s: float | None = None,
    **fields: object,
) -> ConfigResult:
    """One config's result: its latencies (the median of them unless ``median_s``; kept
    as raw values unless ``raw`` is false), memory views in bytes, status and stability."""
    if median_s is None and latencies:
        median_s = median(latencies)
    latency = None
    if median_s is not None:
        values = tuple(float(v) for v in latencies) if raw else ()
        latency = Summary(median=median_s, values=values, n=len(latencies), sample=sample)
    return ConfigResult(
        status=Status(status), latency=latency, images_per_s=images_per_s,
        peak_memory=dict(memory or {}),
        peak_memory_per_call={view: tuple(v) for view, v in (memory_calls or {}).items()},
        stability=Stability(unstable=tuple(unstable)) if unstable else None,
        **fields,
    )


def entry(key: str = "cfg", *, key_any_model: str | None = None, **kwargs: object) -> Entry:
    """A results file's entry for workload ``key`` (``result``'s arguments)."""
    return Entry(key, result(**kwargs), key_any_model)


def result_set(*entries: Entry, name: str = "run") -> ResultSet:
    """A run file holding ``entries``."""
    return ResultSet(path=Path(name), kind="run", device_name="cpu", entries=tuple(entries))
