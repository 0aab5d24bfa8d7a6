"""CI performance gate: which workloads regressed between a baseline and a candidate.

A slowdown counts only when it is both statistically significant (Mann–Whitney U on the
raw per-call times) and larger than the threshold, so noise on a busy CI machine does not
raise false alarms and a tiny but real change does not either. Memory is deterministic
enough to be judged on its threshold alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.analyse.compare import Change, compare_entries, match_results
from bench.errors import UsageError
from bench.store.result_files import ResultSet

PASS = "pass"
REGRESSED = "regressed"
MISSING = "missing"
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Thresholds:
    max_slowdown: float = 0.05  # fraction: 0.05 = 5 % slower median latency
    max_memory_increase: float = 0.10
    alpha: float = 0.05
    fail_on_speedup: bool = False
    require_all: bool = False


@dataclass(frozen=True)
class Verdict:
    key: str
    outcome: str  # PASS, REGRESSED, MISSING or INCONCLUSIVE
    reasons: tuple[str, ...]
    change: Change | None = None

    def fails(self, thresholds: Thresholds) -> bool:
        if self.outcome == REGRESSED:
            return True
        return thresholds.require_all and self.outcome in (MISSING, INCONCLUSIVE)


def parse_percent(text: str, flag: str) -> float:
    """'5%' or '5' -> 0.05; a ``UsageError`` naming the flag otherwise."""
    raw = text.strip().removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{flag} expects a percentage like 5%, got {text!r}") from None
    if not 0 <= value < 1e6 or value != value:
        raise UsageError(f"{flag} must be a non-negative percentage, got {text!r}")
    return value / 100


def judge(change: Change, thresholds: Thresholds) -> Verdict:
    """Verdict for one workload present on both sides."""
    base, cand = change.base, change.cand
    if base.status != "ok" or cand.status != "ok":
        if base.status == "ok":
            return Verdict(change.key, REGRESSED, (f"status ok -> {cand.status}",), change)
        if cand.status == "ok":
            return Verdict(change.key, PASS, (f"status {base.status} -> ok",), change)
        return Verdict(
            change.key,
            INCONCLUSIVE,
            (f"not measured on either side ({base.status} / {cand.status})",),
            change,
        )
    regressions: list[str] = []
    notes: list[str] = []
    significance = change.significance(thresholds.alpha)
    ratio = change.latency_ratio
    if ratio is not None:
        slower = ratio - 1
        faster = 1 / ratio - 1 if ratio > 0 else float("inf")  # speedup, as a fraction
        p_text = "" if change.test is None else f", p={change.test.p_value:.2g}"
        if significance == "significant":
            if slower > thresholds.max_slowdown:
                regressions.append(f"latency +{slower:.1%} (> {thresholds.max_slowdown:.1%}{p_text})")
            elif thresholds.fail_on_speedup and faster > thresholds.max_slowdown:
                regressions.append(
                    f"latency -{1 - ratio:.1%}: faster than the baseline by more than"
                    f" {thresholds.max_slowdown:.1%}{p_text} (update the baseline)"
                )
            else:
                notes.append(f"latency {ratio - 1:+.1%} (significant{p_text}, within threshold)")
        elif significance == "not significant":
            notes.append(f"latency {ratio - 1:+.1%} (not significant{p_text})")
        else:
            notes.append(f"latency {ratio - 1:+.1%} ({significance}: significance untested)")
    else:
        notes.append("no latency on one side")
    for view, memory_ratio in change.memory_ratio.items():
        if memory_ratio - 1 > thresholds.max_memory_increase:
            regressions.append(
                f"{view} memory +{memory_ratio - 1:.1%} (> {thresholds.max_memory_increase:.1%})"
            )
    differing = [f"note: {difference}" for difference in change.differing_arguments()]
    if regressions:
        return Verdict(change.key, REGRESSED, (*regressions, *differing), change)
    if significance in ("too few samples", "no raw data"):
        return Verdict(change.key, INCONCLUSIVE, (*notes, *differing), change)
    return Verdict(change.key, PASS, (*notes, *differing), change)


def gate(baseline: ResultSet, candidate: ResultSet, thresholds: Thresholds) -> list[Verdict]:
    """One verdict per workload found in either file, baseline order first."""
    verdicts = []
    for matched in match_results([baseline, candidate]):
        base, cand = matched.entries
        if base is None:
            verdicts.append(Verdict(matched.key, MISSING, ("missing in baseline",)))
        elif cand is None:
            verdicts.append(Verdict(matched.key, MISSING, ("missing in candidate",)))
        else:
            verdicts.append(judge(compare_entries(base, cand), thresholds))
    return verdicts


def exit_code(verdicts: Sequence[Verdict], thresholds: Thresholds) -> int:
    """0 when nothing failed, 1 otherwise."""
    return 1 if any(v.fails(thresholds) for v in verdicts) else 0
