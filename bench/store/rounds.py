"""``--rounds``: one config result from the results of its rounds.

Each round measures every config in a fresh process, so the rounds' medians vary the way
separate runs do; calls inside one process share its drift and understate that. With two
or more finished rounds the headline (``latency``, ``images_per_s`` and every interval
drawn from the latency values) is over the per-round medians; the per-call times of every
round stay in ``latency_calls`` with the round of each call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bench.result import CALLS, ROUND_MEDIANS, ConfigResult, Summary


def merge_rounds(rounds: Sequence[ConfigResult], planned: int) -> ConfigResult:
    """The config result of one config from its round results (in round order).

    Finished rounds are those with status ok and latencies; an interrupted, crashed or
    failed round is listed in ``round_statuses`` and left out of the figures. A config
    with no finished round keeps the last round's status and error. Fields that are not
    latencies or peaks (stages, energy, clocks, load) are the last finished round's.
    """
    if not rounds:
        raise ValueError("merge_rounds needs at least one round result")
    finished = [r for r in rounds if r.ok and r.latency_values]
    base = (finished or rounds)[-1].drop("round").replace(
        kind="config", rounds=len(finished), rounds_planned=planned,
        round_statuses=tuple(r.status.value for r in rounds))
    if not finished:
        return base
    medians = tuple(r.latency.median for r in finished)
    calls = [v for r in finished for v in r.latency_values]
    if len(finished) >= 2:
        latency = Summary.of(medians, ROUND_MEDIANS)
    else:
        latency = Summary.from_dict({**finished[0].latency.to_dict(), "sample": CALLS})
    images = base.images_per_call
    per_call_peaks = _per_call_peaks(finished)
    return base.replace(
        round_medians_s=medians,
        latency_calls=replace(Summary.of(calls),
                              rounds=tuple(r.round for r in finished for _ in r.latency_values)),
        latency=latency,
        images_per_s=images / latency.median if images else None,
        peak_memory=_peaks(finished),
        **({"peak_memory_per_call": per_call_peaks} if per_call_peaks else {}),
    )


def _per_call_peaks(results: Sequence[ConfigResult]) -> dict[str, tuple[int, ...]]:
    """Each view's per-call peaks of every finished round, in round order: each round is a
    fresh process, so their spread is the between-process memory noise a verdict needs."""
    calls: dict[str, list[int]] = {}
    for result in results:
        for view, values in (result.peak_memory_per_call or {}).items():
            calls.setdefault(view, []).extend(values or ())
    return {view: tuple(values) for view, values in calls.items()}


def _peaks(results: Sequence[ConfigResult]) -> dict[str, int | None]:
    """Each memory view's largest peak over the rounds (a peak is a maximum)."""
    peaks: dict = {}
    for result in results:
        for view, value in (result.peak_memory or {}).items():
            if isinstance(value, (int, float)):
                peaks[view] = max(value, peaks.get(view) or value)
            else:
                peaks.setdefault(view, value)
    return peaks
