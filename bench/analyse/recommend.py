"""Recommend a batch layout: the most images/s within a latency and a memory budget.

Every other config gets the reason it lost, so a reader can see how close it came.
Latency is judged on p90 (a budget is about the slow calls) where the config has enough
timed calls to support it (``stats.min_samples_for``: 10); with fewer, p90 is only the
slowest call under another name, so the budget is checked on the upper end of the
median's interval (``stats.median_uncertainty``) and the output says so: such a config is
known to keep its typical call, not its slow ones, within the budget. Memory is judged on
the best available view (``records.budget_memory``).

A winner is named only when its images/s interval (from the order-statistic interval of
the median latency; the range for small samples) clears every other config that fits:
otherwise the configs whose intervals overlap the leader's are *tied*, and said to be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.stats import (
    Interval,
    median_uncertainty,
    min_samples_for,
    supported_percentile,
    throughput_interval,
)
from bench.store.schema import budget_memory, latency_stat, latency_values
from bench.units import GIB

LATENCY_STAT = "p90"
LATENCY_Q = 90.0


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
    latency_note: str | None = None  # what the latency budget was judged on, when given


@dataclass(frozen=True)
class BudgetLatency:
    """The latency a config's budget is judged on: its p90 when the calls support it,
    else the upper end of its median's interval; ``value`` None when neither exists."""

    value: float | None
    label: str  # "p90" or "median upper bound"
    n: int

    @property
    def on_tail(self) -> bool:
        return self.label == LATENCY_STAT


def budget_latency(record: dict) -> BudgetLatency:
    values = latency_values(record)
    n = len(values) or int((record.get("latency_s") or {}).get("n") or 0)
    if n >= min_samples_for(LATENCY_Q):
        value = (supported_percentile(values, LATENCY_Q) if values
                 else latency_stat(record, LATENCY_STAT))
        return BudgetLatency(value, LATENCY_STAT, n)
    interval = median_uncertainty(values)
    return BudgetLatency(interval.high if interval else None, "median upper bound", n)


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
    if budget.max_latency_s is not None:
        latency = budget_latency(record)
        if latency.value is None:
            reasons.append("latency budget cannot be checked: no per-call times and"
                           f" {latency.n} calls, too few for {LATENCY_STAT}")
        elif latency.value > budget.max_latency_s:
            reasons.append(f"latency {latency.label} {latency.value:.3g} s"
                           f" > {budget.max_latency_s:g} s"
                           + ("" if latency.on_tail else f" ({_too_few(latency.n)})"))
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


def _too_few(n: int) -> str:
    return f"{n} calls: too few for {LATENCY_STAT}, which needs {min_samples_for(LATENCY_Q)}"


def _latency_note(records: Sequence[dict]) -> str:
    """What the latency budget was judged on, naming the configs that fell back."""
    ok = [r for r in records if r.get("status") == "ok"]
    short = [r for r in ok if not budget_latency(r).on_tail]
    need = min_samples_for(LATENCY_Q)
    if not short:
        return f"Latency is judged on {LATENCY_STAT}."
    advice = (f"the typical call is within the budget, the slow calls are not checked. Measure"
              f" {need} or more calls (--repeats) to check the tail.")
    if len(short) == len(ok):
        counts = ", ".join(str(n) for n in sorted({budget_latency(r).n for r in short}))
        return (f"Latency is judged on the upper end of each config's median confidence"
                f" interval, not on {LATENCY_STAT}: no config has the {need} timed calls"
                f" {LATENCY_STAT} needs (n = {counts}); {advice}")
    names = ", ".join(f"{r.get('config_id')} (n={budget_latency(r).n})" for r in short)
    return (f"Latency is judged on {LATENCY_STAT} only where a config has at least {need} timed"
            f" calls; {names} had fewer, so their budget was checked on the upper end of the"
            f" median's confidence interval: for them {advice}")


def _budget_text(budget: Budget, records: Sequence[dict] = ()) -> str:
    parts = []
    if budget.max_latency_s is not None:
        on_tail = all(budget_latency(r).on_tail for r in records if r.get("status") == "ok")
        stat = LATENCY_STAT if on_tail else f"{LATENCY_STAT} (or median upper bound)"
        parts.append(f"latency {stat} <= {budget.max_latency_s:g} s")
    if budget.max_memory_gib is not None:
        parts.append(f"peak memory <= {budget.max_memory_gib:g} GiB")
    return " and ".join(parts) if parts else "status ok (no budget given)"


def recommend(records: Sequence[dict], budget: Budget) -> Recommendation:
    """The config with the most images/s meeting the budget, and why each other lost."""
    rejected: list[Rejection] = []
    feasible: list[dict] = []
    note = _latency_note(records) if budget.max_latency_s is not None else None
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
            why = f"no config meets {_budget_text(budget, records)}"
        return Recommendation(best=None, why=why, rejected=tuple(rejected),
                              latency_note=note)
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
        f" {len(feasible)} config(s) meeting {_budget_text(budget, records)}"
    )
    if tied:
        names = ", ".join(str(t.get("config_id")) for t in tied)
        why += (f", but tied with {names}: their images/s intervals overlap, so the"
                " measurements cannot tell them apart (measure more calls or runs)")
    order = {id(r): i for i, r in enumerate(records)}
    rejected.sort(key=lambda rej: order[id(rej.record)])
    return Recommendation(best=best, why=why, rejected=tuple(rejected), tied=tied,
                          latency_note=note)
