"""``--rounds``: one config record from the records of its rounds.

Each round measures every config in a fresh process, so the rounds' medians vary the way
separate runs do; calls inside one process share its drift and understate that. With two
or more finished rounds the headline (``latency_s``, ``images_per_s`` and every interval
drawn from ``latency_s.values``) is over the per-round medians; the per-call times of
every round stay in ``latency_calls_s`` with the round of each call.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.stats import summarize
from bench.store.schema import CALLS, ROUND_MEDIANS

PER_ROUND_ONLY = ("round",)  # fields of a round record, not of the merge


def merge_rounds(rounds: Sequence[dict], planned: int) -> dict:
    """The config record of one config from its round records (in round order).

    Finished rounds are those with status ``ok`` and latencies; an interrupted, crashed
    or failed round is listed in ``round_statuses`` and left out of the figures. A config
    with no finished round keeps the last round's status and error. Fields that are not
    latencies or peaks (stages, energy, clocks, load) are the last finished round's.
    """
    if not rounds:
        raise ValueError("merge_rounds needs at least one round record")
    finished = [r for r in rounds if r.get("status") == "ok" and _values(r)]
    base = dict((finished or rounds)[-1])
    for name in PER_ROUND_ONLY:
        base.pop(name, None)
    base.update(type="config", rounds=len(finished), rounds_planned=planned,
                round_statuses=[r.get("status") for r in rounds])
    if not finished:
        return base
    medians = [float(r["latency_s"]["median"]) for r in finished]
    calls = [v for r in finished for v in _values(r)]
    base["round_medians_s"] = medians
    base["latency_calls_s"] = {**summarize(calls),
                               "round": [r["round"] for r in finished for _ in _values(r)]}
    if len(finished) >= 2:
        base["latency_s"] = {**summarize(medians), "sample": ROUND_MEDIANS}
    else:
        base["latency_s"] = {**finished[0]["latency_s"], "sample": CALLS}
    images = base.get("images_per_call")
    base["images_per_s"] = images / base["latency_s"]["median"] if images else None
    base["peak_memory_bytes"] = _peaks(finished)
    per_call = _per_call_peaks(finished)
    if per_call:
        base["peak_memory_per_call_bytes"] = per_call
    return base


def _values(record: dict) -> list[float]:
    return [float(v) for v in (record.get("latency_s") or {}).get("values") or []]


def _per_call_peaks(records: Sequence[dict]) -> dict:
    """Each view's per-call peaks of every finished round, in round order: each round is a
    fresh process, so their spread is the between-process memory noise a verdict needs."""
    calls: dict[str, list] = {}
    for record in records:
        for view, values in (record.get("peak_memory_per_call_bytes") or {}).items():
            calls.setdefault(view, []).extend(values or [])
    return calls


def _peaks(records: Sequence[dict]) -> dict:
    """Each memory view's largest peak over the rounds (a peak is a maximum)."""
    peaks: dict = {}
    for record in records:
        for view, value in (record.get("peak_memory_bytes") or {}).items():
            if isinstance(value, (int, float)):
                peaks[view] = max(value, peaks.get(view) or value)
            else:
                peaks.setdefault(view, value)
    return peaks
