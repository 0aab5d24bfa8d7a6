"""Is a config's estimate trustworthy? Spread, outliers, drift across calls, machine load.

Pure functions over a record's raw latencies and its ``machine_load``: the record, the
terminal table and the report all say *unstable* in words, with the fix, instead of
printing a number that load or drift made up.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.stats.summary import mean, median, stdev

MAX_CV = 0.10  # spread of the calls beyond which the median is a poor summary
MAX_DRIFT = 0.10  # change from the first to the last third of the calls
OUTLIER_MADS = 5.0  # a call this many median absolute deviations above the median
MAX_LOAD_PER_CORE = 1.0  # load average per core beyond which other work competes


def drift(values: Sequence[float]) -> float | None:
    """Relative change of the median from the first third of the calls to the last."""
    n = len(values)
    if n < 6:
        return None
    third = n // 3
    first, last = median(values[:third]), median(values[-third:])
    return last / first - 1.0 if first > 0 else None


def outliers(values: Sequence[float]) -> int:
    """Calls far above the median (median + 5 MAD): a stall, not the config's speed."""
    if len(values) < 3:
        return 0
    centre = median(values)
    mad = median([abs(v - centre) for v in values])
    if mad == 0:
        return 0
    return sum(v > centre + OUTLIER_MADS * mad for v in values)


def assess(values: Sequence[float], load: dict | None = None, rounds: bool = False) -> dict:
    """``{"cv", "drift", "outliers", "unstable": [reasons]}`` for one config.

    ``rounds``: ``values`` are the medians of ``--rounds`` rounds (in round order), not
    calls: spread and drift are then between processes, the noise a verdict must beat."""
    reasons = []
    cv = None
    what, one = ("the rounds' medians", "round") if rounds else ("the calls", "call")
    if len(values) >= 2:
        centre = mean(values)
        cv = stdev(values) / centre if centre > 0 else None
        if cv is not None and cv > MAX_CV:
            reasons.append(f"{what} spread by {cv:.0%} (coefficient of variation)")
    change = drift(values)
    if change is not None and abs(change) > MAX_DRIFT:
        reasons.append(f"{what} drifted {change:+.0%} from the first third to the last")
    stalls = outliers(values)
    if stalls:
        reasons.append(f"{stalls} {one}(s) far slower than the rest")
    cores = (load or {}).get("cores") or 0
    busiest = max((v for v in ((load or {}).get("before"), (load or {}).get("after"))
                   if v is not None), default=None)
    if busiest is not None and cores and busiest / cores > MAX_LOAD_PER_CORE:
        reasons.append(f"the machine was busy (load {busiest:g} on {cores} cores)")
    return {"cv": cv, "drift": change, "outliers": stalls, "unstable": reasons,
            **({"over": "round medians"} if rounds else {})}


def warning(assessment: dict) -> str | None:
    """One sentence for the record's warnings: what is wrong and what to do."""
    reasons = assessment["unstable"]
    if not reasons:
        return None
    more = "--rounds" if assessment.get("over") == "round medians" else "--repeats or --rounds"
    return ("unstable estimate: " + "; ".join(reasons) + ". Measure again on a quieter"
            f" machine, with more {more}, or as interleaved runs (sdxl-bench ab)")
