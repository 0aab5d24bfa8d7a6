"""Recommend a batch layout: the most images/s within a latency and a memory budget.

Every other config gets the reason it lost, so a reader can see how close it came. A
config whose images came out NaN or all black is never a candidate, however fast.
Latency is judged on p90 (a budget is about the slow calls) where the config has enough
timed calls to support it (``stats.min_samples_for``: 10); with fewer, p90 is only the
slowest call under another name, so the budget is checked on the upper end of the
median's interval (``stats.median_uncertainty``) and the output says so: such a config is
known to keep its typical call, not its slow ones, within the budget. Memory is judged on
the best available view (``ConfigResult.budget_memory``).

A winner is named only when its images/s interval (from the order-statistic interval of
the median latency; the range for small samples) clears every other config that fits:
otherwise the configs whose intervals overlap the leader's are *tied*, and said to be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.analyse.compare import broken_text
from bench.result import ConfigResult
from bench.stats import (
    Interval,
    median_uncertainty,
    min_samples_for,
    supported_percentile,
    throughput_interval,
)
from bench.units import GIB

LATENCY_STAT = "p90"
LATENCY_Q = 90.0

# What the caller handed in comes back in ``Recommendation``: ConfigResults (transitionally
# also record dicts, read as ConfigResults here, until every caller passes ``run.results``).


@dataclass(frozen=True)
class Budget:
    max_latency_s: float | None = None
    max_memory_gib: float | None = None


@dataclass(frozen=True)
class Rejection:
    record: ConfigResult
    reason: str


@dataclass(frozen=True)
class Recommendation:
    best: ConfigResult | None  # the leader by point estimate (the winner unless ``tied``)
    why: str
    rejected: tuple[Rejection, ...]
    tied: tuple[ConfigResult, ...] = ()  # other configs the leader cannot be told apart from
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


def budget_latency(result: ConfigResult) -> BudgetLatency:
    values = result.latency_values
    n = len(values) or (result.latency.n if result.latency else 0)
    if n >= min_samples_for(LATENCY_Q):
        value = (supported_percentile(values, LATENCY_Q) if values
                 else getattr(result.latency, LATENCY_STAT))
        return BudgetLatency(value, LATENCY_STAT, n)
    interval = median_uncertainty(values)
    return BudgetLatency(interval.high if interval else None, "median upper bound", n)


def images_per_s_interval(result: ConfigResult) -> Interval | None:
    """Images/s interval of a result from its raw latencies (None without them)."""
    values = result.latency_values
    images = result.images_per_call
    if not values or not images:
        return None
    return throughput_interval(median_uncertainty(values), int(images))


def _overlaps(a: ConfigResult, b: ConfigResult) -> bool:
    ia, ib = images_per_s_interval(a), images_per_s_interval(b)
    if ia is None or ib is None:
        return False  # no raw times: nothing to judge the uncertainty on
    return ia.overlaps(ib)


def _violations(result: ConfigResult, budget: Budget) -> list[str]:
    """Why a result breaks the budget (empty when it fits)."""
    if not result.ok:
        error = f": {result.error}" if result.error else ""
        return [f"status {result.status.value}{error}"]
    if result.broken_images:
        return [broken_reason(result)]
    if result.images_per_s is None:
        return ["no throughput measured"]
    reasons = []
    if budget.max_latency_s is not None:
        latency = budget_latency(result)
        if latency.value is None:
            reasons.append("latency budget cannot be checked: no per-call times and"
                           f" {latency.n} calls, too few for {LATENCY_STAT}")
        elif latency.value > budget.max_latency_s:
            reasons.append(f"latency {latency.label} {latency.value:.3g} s"
                           f" > {budget.max_latency_s:g} s"
                           + ("" if latency.on_tail else f" ({_too_few(latency.n)})"))
    if budget.max_memory_gib is not None:
        memory = result.budget_memory()
        if memory is None:
            reasons.append("no memory measured")
        elif memory[1] / GIB > budget.max_memory_gib:
            reasons.append(
                f"peak memory ({memory[0]}) {memory[1] / GIB:.3g} GiB"
                f" > {budget.max_memory_gib:g} GiB"
            )
    return reasons


def broken_reason(result: ConfigResult) -> str:
    """Why a config whose images came out NaN or black is no candidate, however fast."""
    of = f" of {result.images_per_call}" if result.images_per_call else ""
    return (f"broken images: {broken_text(result)}{of} in the last call: its output is unusable,"
            " whatever its speed (a float16 VAE without upcast is the usual cause)")


def _too_few(n: int) -> str:
    return f"{n} calls: too few for {LATENCY_STAT}, which needs {min_samples_for(LATENCY_Q)}"


def _latency_note(results: Sequence[ConfigResult]) -> str:
    """What the latency budget was judged on, naming the configs that fell back."""
    ok = [r for r in results if r.ok]
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
    names = ", ".join(f"{r.config_id} (n={budget_latency(r).n})" for r in short)
    return (f"Latency is judged on {LATENCY_STAT} only where a config has at least {need} timed"
            f" calls; {names} had fewer, so their budget was checked on the upper end of the"
            f" median's confidence interval: for them {advice}")


def _budget_text(budget: Budget, results: Sequence[ConfigResult] = ()) -> str:
    parts = []
    if budget.max_latency_s is not None:
        on_tail = all(budget_latency(r).on_tail for r in results if r.ok)
        stat = LATENCY_STAT if on_tail else f"{LATENCY_STAT} (or median upper bound)"
        parts.append(f"latency {stat} <= {budget.max_latency_s:g} s")
    if budget.max_memory_gib is not None:
        parts.append(f"peak memory <= {budget.max_memory_gib:g} GiB")
    return " and ".join(parts) if parts else "status ok with usable images (no budget given)"


def recommend(results: Sequence[ConfigResult], budget: Budget) -> Recommendation:
    """The config with the most images/s meeting the budget, and why each other lost.
    """
    typed = list(results)
    rejected: list[tuple[int, str]] = []  # (index, reason)
    feasible: list[int] = []
    note = _latency_note(typed) if budget.max_latency_s is not None else None
    for index, result in enumerate(typed):
        reasons = _violations(result, budget)
        if reasons:
            rejected.append((index, "; ".join(reasons)))
        else:
            feasible.append(index)
    if not feasible:
        if not results:
            why = "the run has no config records"
        else:
            why = f"no config meets {_budget_text(budget, typed)}"
        return Recommendation(best=None, why=why,
                              rejected=tuple(Rejection(results[i], r) for i, r in rejected),
                              latency_note=note)
    best = max(feasible, key=lambda i: float(typed[i].images_per_s))
    leader = typed[best]
    tied = [i for i in feasible if i != best and _overlaps(typed[i], leader)]
    for index in feasible:
        if index == best:
            continue
        figures = f"{float(typed[index].images_per_s):.3g} vs {float(leader.images_per_s):.3g}"
        if index in tied:
            rejected.append((index, f"tied with the leader (images/s {figures}:"
                                    " intervals overlap)"))
        else:
            rejected.append((index, f"fewer images/s ({figures})"))
    why = (
        f"most images/s ({float(leader.images_per_s):.3g}) of the"
        f" {len(feasible)} config(s) meeting {_budget_text(budget, typed)}"
    )
    if tied:
        names = ", ".join(str(typed[i].config_id) for i in tied)
        why += (f", but tied with {names}: their images/s intervals overlap, so the"
                " measurements cannot tell them apart (measure more calls or runs)")
    rejected.sort(key=lambda rejection: rejection[0])
    return Recommendation(best=results[best], why=why,
                          rejected=tuple(Rejection(results[i], r) for i, r in rejected),
                          tied=tuple(results[i] for i in tied), latency_note=note)
