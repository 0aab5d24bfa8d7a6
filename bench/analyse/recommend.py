"""Recommend a batch layout: the most images/s within a latency and a memory budget.

Every other config gets the reason it lost, so a reader can see how close it came.
Latency is judged on p90 (a budget is about the slow calls, and p99 of a few calls is
just the maximum); memory on the best available view (``records.budget_memory``).

A winner is named only when its images/s interval (from the order-statistic interval of
the median latency; the range for small samples) clears every other config that fits:
otherwise the configs whose intervals overlap the leader's are *tied*, and said to be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.analyse.stats import Interval, median_uncertainty, throughput_interval
from bench.store.schema import budget_memory, latency_stat, latency_values
from bench.units import GIB

LATENCY_STAT = "p90"


@dataclass(frozen=True)
class Budget:
    max_latency_s: float | None = None
    max_memory_gib: float | None = None


@dataclass(frozen=True)
class Rejection:
    record: dict
    reason: str


@dataclass(frozen=True)
class Recommendation:
    best: dict | None  # the leader by point estimate (the winner unless ``tied``)
    why: str
    rejected: tuple[Rejection, ...]
    tied: tuple[dict, ...] = ()  # other configs the leader cannot be told apart from


def images_per_s_interval(record: dict) -> Interval | None:
    """Images/s interval of a record from its raw latencies (None without them)."""
    values = latency_values(record)
    images = record.get("images_per_call")
    if not values or not images:
        return None
    return throughput_interval(median_uncertainty(values), int(images))


def _overlaps(a: dict, b: dict) -> bool:
    ia, ib = images_per_s_interval(a), images_per_s_interval(b)
    if ia is None or ib is None:
        return False  # no raw times: nothing to judge the uncertainty on
    return ia.overlaps(ib)


def _violations(record: dict, budget: Budget) -> list[str]:
    """Why a record breaks the budget (empty when it fits)."""
    if record.get("status") != "ok":
        error = f": {record['error']}" if record.get("error") else ""
        return [f"status {record.get('status')}{error}"]
    if record.get("images_per_s") is None:
        return ["no throughput measured"]
    reasons = []
    latency = latency_stat(record, LATENCY_STAT)
    if budget.max_latency_s is not None:
        if latency is None:
            reasons.append("no latency measured")
        elif latency > budget.max_latency_s:
            reasons.append(f"latency {LATENCY_STAT} {latency:.3g} s > {budget.max_latency_s:g} s")
    if budget.max_memory_gib is not None:
        memory = budget_memory(record)
        if memory is None:
            reasons.append("no memory measured")
        elif memory[1] / GIB > budget.max_memory_gib:
            reasons.append(
                f"peak memory ({memory[0]}) {memory[1] / GIB:.3g} GiB"
                f" > {budget.max_memory_gib:g} GiB"
            )
    return reasons


def _budget_text(budget: Budget) -> str:
    parts = []
    if budget.max_latency_s is not None:
        parts.append(f"latency {LATENCY_STAT} <= {budget.max_latency_s:g} s")
    if budget.max_memory_gib is not None:
        parts.append(f"peak memory <= {budget.max_memory_gib:g} GiB")
    return " and ".join(parts) if parts else "status ok (no budget given)"


def recommend(records: Sequence[dict], budget: Budget) -> Recommendation:
    """The config with the most images/s meeting the budget, and why each other lost."""
    rejected: list[Rejection] = []
    feasible: list[dict] = []
    for record in records:
        reasons = _violations(record, budget)
        if reasons:
            rejected.append(Rejection(record, "; ".join(reasons)))
        else:
            feasible.append(record)
    if not feasible:
        if not records:
            why = "the run has no config records"
        else:
            why = f"no config meets {_budget_text(budget)}"
        return Recommendation(best=None, why=why, rejected=tuple(rejected))
    best = max(feasible, key=lambda r: float(r["images_per_s"]))
    tied = tuple(r for r in feasible if r is not best and _overlaps(r, best))
    for record in feasible:
        if record is best:
            continue
        figures = f"{float(record['images_per_s']):.3g} vs {float(best['images_per_s']):.3g}"
        if any(record is t for t in tied):
            rejected.append(Rejection(record, f"tied with the leader (images/s {figures}:"
                                              " intervals overlap)"))
        else:
            rejected.append(Rejection(record, f"fewer images/s ({figures})"))
    why = (
        f"most images/s ({float(best['images_per_s']):.3g}) of the"
        f" {len(feasible)} config(s) meeting {_budget_text(budget)}"
    )
    if tied:
        names = ", ".join(str(t.get("config_id")) for t in tied)
        why += (f", but tied with {names}: their images/s intervals overlap, so the"
                " measurements cannot tell them apart (measure more calls or runs)")
    order = {id(r): i for i, r in enumerate(records)}
    rejected.sort(key=lambda rej: order[id(rej.record)])
    return Recommendation(best=best, why=why, rejected=tuple(rejected), tied=tied)
