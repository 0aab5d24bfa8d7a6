"""CI performance gate: per config, did the candidate get slower, faster, or neither?

The verdict vocabulary and its rules (docs/statistics.md has the reasoning):

- **regressed**: significantly slower (one-sided test, Holm-corrected over the configs
  judged together, p <= alpha) *and* the estimated slowdown (Hodges–Lehmann ratio of
  typical latencies) beyond ``max_slowdown``; or a peak-memory view of the process grew
  beyond ``max_memory_increase`` and beyond its own noise (``analyse.memory``); or the
  config went from ok to oom/error.
- **improved**: significantly faster and the speedup beyond the same threshold.
- **unchanged**: neither, by a test that *could* have fired at these sample sizes.
- **inconclusive**: the test could not fire (even perfectly separated samples of these
  sizes give a corrected p above alpha), or there are no raw times to test. It fails
  the gate unless ``allow_inconclusive``: a gate that cannot fail is no gate.

Samples, best first: the per-round medians of ``--rounds`` runs (each round a fresh
process, so they carry the noise between runs; pooled over the runs of a side); with
several runs per side, one value per run (its median latency) — calls inside one process
share that process's drift and are not independent samples; with one run per side, the
per-call times, with a note that they understate the noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bench.analyse.compare import Change, compare_results
from bench.analyse.memory import MemoryChange, memory_changes
from bench.errors import UsageError
from bench.stats.distributions import normal_quantile
from bench.stats.multiple import holm
from bench.stats.ranks import (
    mann_whitney_u,
    min_p_value,
    min_p_value_paired,
    paired_shift_interval,
    shift_interval,
    wilcoxon_signed_rank,
)
from bench.stats.summary import median
from bench.store.result import ROUND_MEDIANS, ConfigResult
from bench.store.result_files import Entry, ResultSet

REGRESSED = "regressed"
IMPROVED = "improved"
UNCHANGED = "unchanged"
INCONCLUSIVE = "inconclusive"
MISSING = "missing"
OUTCOMES = (REGRESSED, IMPROVED, UNCHANGED, INCONCLUSIVE, MISSING)

PER_CALL = "per-call times of one run"
PER_RUN = "per-run medians"
PER_ROUND = "per-round medians"
PAIRED = "per-pair median ratios"
WITHIN_RUN_NOTE = (
    "one run per side: per-call times are the samples, and calls inside one process share"
    " its drift, so they understate the noise between runs; gate several runs per side"
    " or use `sdxl-bench ab` for verdicts you can trust on a shared machine"
)
MEMORY_NOTE = (
    "memory: the view that grew most, as the change of the typical peak (median over runs)"
    " ± the noise it is weighed against (the widest spread of per-call peaks within a run"
    " or of run peaks within a side); it fails only beyond both --max-memory-increase and"
    " that noise (docs/statistics.md)"
)


@dataclass(frozen=True)
class Thresholds:
    max_slowdown: float = 0.05  # fraction: 0.05 = 5 % slower typical latency
    max_memory_increase: float = 0.10
    alpha: float = 0.01  # chance of any false alarm over the configs judged (Holm), per direction
    fail_on_speedup: bool = False
    require_all: bool = False  # missing configs fail
    allow_inconclusive: bool = False  # inconclusive configs pass
    # Assumed coefficient of variation of a whole run's typical latency from run to run on
    # one machine: with one run per side the data cannot show it, and calls inside one
    # run share its drift. Only used for per-call samples.
    run_cv: float = 0.10

    @property
    def faster_ratio(self) -> float:
        """Ratio below which a change counts as a speedup: symmetric on the log scale."""
        return 1.0 / (1.0 + self.max_slowdown)


@dataclass(frozen=True)
class Effect:
    """The latency change of one config: candidate / baseline, > 1 is slower."""

    ratio: float  # Hodges–Lehmann estimate of the ratio of typical latencies
    low: float | None  # confidence interval of the ratio (None: too few samples)
    high: float | None
    confidence: float
    p_slower: float  # one-sided, before correction
    p_faster: float
    min_p: float  # the smallest one-sided p these sample sizes can give
    samples: str  # PER_CALL, PER_RUN or PAIRED
    n_base: int
    n_cand: int

    def interval_text(self) -> str | None:
        if self.low is None or self.high is None:
            return None
        return f"[{self.low - 1:+.1%}, {self.high - 1:+.1%}]"

    def sizes_text(self) -> str:
        if self.samples == PAIRED:
            return f"{self.n_cand} pairs"
        return f"{self.n_base} vs {self.n_cand}"


def _logs(values: Sequence[float]) -> list[float]:
    if any(not v > 0 for v in values):
        raise UsageError(f"latencies must be positive to take ratios, got {min(values)!r}")
    return [math.log(v) for v in values]


def two_sample_effect(
    base: Sequence[float], cand: Sequence[float], confidence: float = 0.95, samples: str = PER_RUN
) -> Effect:
    """Effect of ``cand`` over ``base`` from two independent samples of latencies.

    Exact one-sided Mann–Whitney p-values in both directions, and the Hodges–Lehmann
    ratio with its Moses interval, all on log latencies (ranks do not change under log;
    the shift of logs is the ratio of typical times).
    """
    log_base, log_cand = _logs(base), _logs(cand)
    shift = shift_interval(log_cand, log_base, confidence)
    return Effect(
        ratio=math.exp(shift.estimate),
        low=None if shift.low is None else math.exp(shift.low),
        high=None if shift.high is None else math.exp(shift.high),
        confidence=confidence,
        p_slower=mann_whitney_u(log_cand, log_base, "greater").p_value,
        p_faster=mann_whitney_u(log_cand, log_base, "less").p_value,
        min_p=min_p_value(len(base), len(cand), "greater"),
        samples=samples,
        n_base=len(base),
        n_cand=len(cand),
    )


def paired_effect(ratios: Sequence[float], confidence: float = 0.95) -> Effect:
    """Effect from paired runs: one candidate/baseline ratio of medians per pair.

    Exact one-sided Wilcoxon signed-rank p-values on the log ratios, and the
    Hodges–Lehmann centre of the log ratios (median of Walsh averages) with its interval.
    Pairing cancels the drift that two neighbouring runs share.
    """
    logs = _logs(ratios)
    shift = paired_shift_interval(logs, confidence)
    return Effect(
        ratio=math.exp(shift.estimate),
        low=None if shift.low is None else math.exp(shift.low),
        high=None if shift.high is None else math.exp(shift.high),
        confidence=confidence,
        p_slower=wilcoxon_signed_rank(logs, "greater").p_value,
        p_faster=wilcoxon_signed_rank(logs, "less").p_value,
        min_p=min_p_value_paired(len(logs), "greater"),
        samples=PAIRED,
        n_base=len(logs),
        n_cand=len(logs),
    )


@dataclass(frozen=True)
class Comparison:
    """One config found on both sides, before the verdicts are drawn jointly."""

    key: str
    effect: Effect | None = None  # None: nothing to test (no raw times, or status)
    failures: tuple[str, ...] = ()  # regressions decided without statistics (memory, status)
    notes: tuple[str, ...] = ()
    untestable: str | None = None  # why there is no effect, when that makes it inconclusive
    speedup: str | None = None  # a status that went from failing to ok
    change: Change | None = None
    memory: tuple[MemoryChange, ...] = ()  # every judged memory view, regressed or not
    unstable: str | None = None  # a side's stability check distrusts its per-call times


@dataclass(frozen=True)
class Verdict:
    key: str
    outcome: str  # one of OUTCOMES
    reasons: tuple[str, ...]
    change: Change | None = None
    effect: Effect | None = None
    p_adjusted: float | None = None  # Holm-adjusted one-sided p in the verdict's direction
    extra: dict = field(default_factory=dict)
    memory: tuple[MemoryChange, ...] = ()  # the memory views judged, with their noise

    def fails(self, thresholds: Thresholds) -> bool:
        if self.outcome == REGRESSED:
            return True
        if self.outcome == IMPROVED:
            return thresholds.fail_on_speedup
        if self.outcome == INCONCLUSIVE:
            return not thresholds.allow_inconclusive
        if self.outcome == MISSING:
            return thresholds.require_all
        return False


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


def power_shortfall(effect: Effect, alpha: float, m: int) -> str | None:
    """Why these samples can never be significant, or None when they can.

    Holm's first step compares the smallest p with alpha / m; if even perfectly separated
    samples cannot get below it, no verdict other than "unchanged" is possible.
    """
    level = alpha / max(m, 1)
    if effect.min_p <= level:
        return None
    unit = {PAIRED: "pairs", PER_RUN: "runs per side",
            PER_ROUND: "rounds per side (--rounds)"}.get(effect.samples, "calls per side")
    need = _samples_needed(effect.samples, level)
    return (
        f"too few samples: {effect.sizes_text()} ({effect.samples}) can give one-sided"
        f" p >= {effect.min_p:.2g}, above alpha/{m} = {level:.2g} (Holm over {m} config(s));"
        f" need >= {need} {unit}"
    )


def _samples_needed(samples: str, level: float) -> int:
    for n in range(1, 200):
        p = min_p_value_paired(n, "greater") if samples == PAIRED else min_p_value(n, n, "greater")
        if p <= level:
            return n
    return 200


def decide(comparisons: Sequence[Comparison], thresholds: Thresholds) -> list[Verdict]:
    """Verdicts for configs judged together: Holm over the tested ones, then the rules."""
    tested = [c for c in comparisons if c.effect is not None]
    m = len(tested)
    slower = holm([c.effect.p_slower for c in tested])
    faster = holm([c.effect.p_faster for c in tested])
    adjusted = {c.key: (s, f) for c, s, f in zip(tested, slower, faster, strict=True)}
    verdicts = []
    for c in comparisons:
        verdicts.append(replace(_verdict(c, adjusted.get(c.key), m, thresholds), memory=c.memory))
    return verdicts


def drift_bound(thresholds: Thresholds, m: int) -> float:
    """The largest ratio two runs of identical code reach by run-to-run drift alone, at
    ``alpha`` over ``m`` configs (Bonferroni), for a drift of ``run_cv`` per run:
    exp(z · √2 · σ) with σ² = ln(1 + run_cv²). One run per side cannot tell a change
    smaller than this from drift, however many calls it timed."""
    if thresholds.run_cv <= 0:
        return 1.0
    sigma = math.sqrt(math.log1p(thresholds.run_cv**2))
    z = normal_quantile(1 - thresholds.alpha / max(m, 1))
    return math.exp(z * math.sqrt(2) * sigma)


def _verdict(
    c: Comparison, adjusted: tuple[float, float] | None, m: int, thresholds: Thresholds
) -> Verdict:
    notes = list(c.notes)
    effect = c.effect
    if effect is None:
        if c.failures:
            return Verdict(c.key, REGRESSED, (*c.failures, *notes), c.change)
        if c.speedup:
            return Verdict(c.key, IMPROVED, (c.speedup, *notes), c.change)
        if c.untestable:
            return Verdict(c.key, INCONCLUSIVE, (c.untestable, *notes), c.change)
        return Verdict(c.key, UNCHANGED, tuple(notes), c.change)
    p_slower, p_faster = adjusted
    interval = effect.interval_text()
    ci = f", {effect.confidence:.0%} CI {interval}" if interval else ""
    alpha, limit = thresholds.alpha, thresholds.max_slowdown
    latency = f"latency {effect.ratio - 1:+.1%}{ci}"
    shortfall = power_shortfall(effect, alpha, m)
    drift = drift_bound(thresholds, m) if effect.samples == PER_CALL else 1.0
    distrusted = effect.samples == PER_CALL and thresholds.run_cv > 0 and c.unstable
    fires = (p_slower <= alpha and effect.ratio > 1 + limit and effect.ratio > drift) or (
        p_faster <= alpha and effect.ratio < thresholds.faster_ratio and effect.ratio < 1 / drift)
    if distrusted and fires:
        why = (f"{latency}: not judged: the measurement was unstable ({c.unstable}); one run"
               " per side cannot tell this change from the noise that made it unstable: rerun"
               " on a quiet machine, or use --rounds or sdxl-bench ab")
        outcome = REGRESSED if c.failures else INCONCLUSIVE
        return Verdict(c.key, outcome, (*c.failures, why, *notes), c.change, effect,
                       min(p_slower, p_faster))
    if p_slower <= alpha and effect.ratio > 1 + limit and effect.ratio > drift:
        reasons = (f"{latency}: slower beyond {limit:.1%} (Holm p={p_slower:.2g})",)
        return Verdict(c.key, REGRESSED, (*reasons, *c.failures, *notes), c.change, effect, p_slower)
    if p_slower <= alpha and effect.ratio > 1 + limit:
        why = (f"{latency}: within what drift between two runs explains (one run per side,"
               f" run CV {thresholds.run_cv:.0%} assumed: only changes beyond"
               f" {drift - 1:+.0%} count); gate several runs per side or use sdxl-bench ab")
        return Verdict(c.key, UNCHANGED, (why, *c.failures, *notes), c.change, effect, p_slower)
    if c.failures:
        return Verdict(c.key, REGRESSED, (*c.failures, latency, *notes), c.change, effect, p_slower)
    if p_faster <= alpha and effect.ratio < thresholds.faster_ratio and effect.ratio < 1 / drift:
        reason = f"{latency}: faster beyond {limit:.1%} (Holm p={p_faster:.2g})"
        if thresholds.fail_on_speedup:
            reason += "; update the baseline"
        return Verdict(c.key, IMPROVED, (reason, *notes), c.change, effect, p_faster)
    if shortfall:
        return Verdict(c.key, INCONCLUSIVE, (latency, shortfall, *notes), c.change, effect,
                       min(p_slower, p_faster))
    if p_slower <= alpha or p_faster <= alpha:
        why = f"significant (Holm p={min(p_slower, p_faster):.2g}) but within {limit:.1%}"
    else:
        why = f"not significant (Holm p={min(p_slower, p_faster):.2g})"
    return Verdict(c.key, UNCHANGED, (f"{latency}: {why}", *notes), c.change, effect,
                   min(p_slower, p_faster))


def _side(results: Sequence[ConfigResult]) -> tuple[bool, str]:
    bad = [r.status.value for r in results if not r.ok]
    if not bad:
        return True, "ok"
    return False, bad[0] if len(bad) == len(results) else f"{bad[0]} in {len(bad)} of {len(results)} runs"


def run_median(result: ConfigResult) -> float | None:
    """A run's median latency: of its per-call times when it has them, else as stored."""
    return median(result.latency_values) if result.latency_values else result.median_s


def _memory_verdicts(
    base: Sequence[ConfigResult], cand: Sequence[ConfigResult], limit: float
) -> tuple[tuple[MemoryChange, ...], tuple[str, ...], tuple[str, ...]]:
    """(changes, failures, notes) of the memory views: a failure needs the increase beyond
    ``limit`` and beyond the noise identical measurements showed (``analyse.memory``)."""
    changes, notes = memory_changes(base, cand, limit)
    failures = tuple(c.reason() for c in changes if c.regressed)
    notes += [c.reason() for c in changes if c.above_limit and not c.regressed]
    return tuple(changes), failures, tuple(notes)


def compare_runs(
    key: str, base: Sequence[ConfigResult], cand: Sequence[ConfigResult], thresholds: Thresholds
) -> Comparison:
    """One config's comparison from its results in every baseline and candidate run."""
    change = compare_results(base[-1], cand[-1])
    differing = tuple(f"note: {d}" for d in change.differing_arguments())
    base_ok, base_status = _side(base)
    cand_ok, cand_status = _side(cand)
    if not base_ok or not cand_ok:
        if base_ok:
            return Comparison(key, failures=(f"status ok -> {cand_status}",), change=change)
        if cand_ok:
            return Comparison(key, speedup=f"status {base_status} -> ok", change=change)
        return Comparison(key, notes=(f"not measured on either side ({base_status} / {cand_status})",),
                          change=change)
    memory, failures, memory_notes = _memory_verdicts(base, cand, thresholds.max_memory_increase)
    differing += memory_notes
    confidence = 1 - thresholds.alpha
    rounds = [r.sample == ROUND_MEDIANS and len(r.latency_values) >= 2 for r in (*base, *cand)]
    if all(rounds):  # between-process samples already: no drift bound needed
        old = [v for r in base for v in r.latency_values]
        new = [v for r in cand for v in r.latency_values]
        effect = two_sample_effect(old, new, confidence, PER_ROUND)
        return Comparison(key, effect, failures, differing, change=change)
    if any(rounds) and not (len(base) >= 2 and len(cand) >= 2):
        return Comparison(key, failures=failures, change=change, notes=differing,
                          untestable="one side has per-round medians (--rounds), the other"
                          " per-call times: measure both sides with --rounds")
    if len(base) >= 2 and len(cand) >= 2:
        old = [run_median(e) for e in base]
        new = [run_median(e) for e in cand]
        if None in old or None in new:
            return Comparison(key, failures=failures, untestable="no latency on one side",
                              notes=differing, change=change, memory=memory)
        effect = two_sample_effect(old, new, confidence, PER_RUN)
        return Comparison(key, effect, failures, differing, change=change, memory=memory)
    old = [v for r in base for v in r.latency_values]
    new = [v for r in cand for v in r.latency_values]
    if not old or not new:
        return Comparison(key, failures=failures, change=change, notes=differing,
                          untestable="no raw data: significance cannot be tested", memory=memory)
    effect = two_sample_effect(old, new, confidence, PER_CALL)
    return Comparison(key, effect, failures, differing, change=change, memory=memory,
                      unstable=_unstable_sides(base, cand))


def _unstable_sides(base: Sequence[ConfigResult], cand: Sequence[ConfigResult]) -> str | None:
    """Which side's run its own stability check distrusts, and why, in words."""
    sides = [f"{name}: {'; '.join(results[-1].unstable)}"
             for name, results in (("baseline", base), ("candidate", cand)) if results[-1].unstable]
    return " / ".join(sides) or None


def _as_sets(sets: ResultSet | Sequence[ResultSet]) -> list[ResultSet]:
    return [sets] if isinstance(sets, ResultSet) else list(sets)


def _key(entry: Entry, any_model: bool) -> str:
    return (entry.key_any_model or entry.key) if any_model else entry.key


def _keys(sets: Sequence[ResultSet], any_model: bool = False) -> dict[str, list[ConfigResult]]:
    """key -> its result in each set that has it (a resumed run's repeat keeps the last)."""
    found: dict[str, list[ConfigResult]] = {}
    for result_set in sets:
        for key, entry in {_key(e, any_model): e for e in result_set.entries}.items():
            found.setdefault(key, []).append(entry.result)
    return found


def _names(sets: Sequence[ResultSet]) -> str:
    return ", ".join(str(s.path) for s in sets)


def nothing_shared(base: dict, cand: dict, base_sets, cand_sets) -> str:
    def some(keys):
        listed = ", ".join(list(keys)[:3])
        return f"{listed}, ..." if len(keys) > 3 else listed or "none"

    return (
        f"nothing to compare: the baseline ({_names(base_sets)}) and the candidate"
        f" ({_names(cand_sets)}) share no config (baseline has {some(base)};"
        f" candidate has {some(cand)})"
    )


def gate(
    baseline: ResultSet | Sequence[ResultSet],
    candidate: ResultSet | Sequence[ResultSet],
    thresholds: Thresholds,
) -> list[Verdict]:
    """One verdict per config found on either side, baseline order first.

    Several result sets per side are several runs: each contributes its median per
    config. ``UsageError`` when the sides share no config at all.
    """
    base_sets, cand_sets = _as_sets(baseline), _as_sets(candidate)
    base, cand = _keys(base_sets), _keys(cand_sets)
    if not set(base) & set(cand):
        raise UsageError(nothing_shared(base, cand, base_sets, cand_sets))
    comparisons: list[Comparison] = []
    order = [*base, *(k for k in cand if k not in base)]
    missing: dict[str, str] = {}
    for key in order:
        if key not in cand:
            missing[key] = "missing in candidate"
        elif key not in base:
            missing[key] = "missing in baseline"
        else:
            comparisons.append(compare_runs(key, base[key], cand[key], thresholds))
    decided = {v.key: v for v in decide(comparisons, thresholds)}
    return [decided[k] if k in decided else Verdict(k, MISSING, (missing[k],)) for k in order]


def ab_gate(
    pairs: Sequence[tuple[ResultSet, ResultSet]], thresholds: Thresholds
) -> list[Verdict]:
    """Verdicts from interleaved A/B runs: per config, one ratio of medians per pair.

    A config is judged on the pairs where both runs measured it; one missing from every
    pair is MISSING. Memory and status are judged over all runs of each side. When the
    sides ran different models (``--a-model``/``--b-model``) and so share no key, configs
    match with the model left out (shown as "A/B").
    """
    if not pairs:
        raise UsageError("ab needs at least one pair of runs")
    base_sets = [a for a, _ in pairs]
    cand_sets = [b for _, b in pairs]
    base, cand = _keys(base_sets), _keys(cand_sets)
    any_model = not set(base) & set(cand)
    if any_model:
        base, cand = _keys(base_sets, True), _keys(cand_sets, True)
    if not set(base) & set(cand):
        raise UsageError(nothing_shared(base, cand, base_sets, cand_sets))
    order = [*base, *(k for k in cand if k not in base)]
    comparisons: list[Comparison] = []
    missing: dict[str, str] = {}
    for key in order:
        if key not in cand or key not in base:
            missing[key] = "missing in " + ("B (candidate)" if key not in cand else "A (baseline)")
            continue
        plain = compare_runs(key, base[key], cand[key], thresholds)
        if plain.effect is None:
            comparisons.append(plain)
            continue
        ratios = []
        for a, b in pairs:
            ea = {_key(e, any_model): e.result for e in a.entries}.get(key)
            eb = {_key(e, any_model): e.result for e in b.entries}.get(key)
            if ea is None or eb is None:
                continue
            ma, mb = run_median(ea), run_median(eb)
            if ma and mb:
                ratios.append(mb / ma)
        effect = paired_effect(ratios, 1 - thresholds.alpha)
        comparisons.append(Comparison(key, effect, plain.failures, plain.notes, change=plain.change,
                                      memory=plain.memory))
    decided = {v.key: v for v in decide(comparisons, thresholds)}
    return [decided[k] if k in decided else Verdict(k, MISSING, (missing[k],)) for k in order]


def exit_code(verdicts: Sequence[Verdict], thresholds: Thresholds) -> int:
    """0 when nothing failed, 1 otherwise."""
    return 1 if any(v.fails(thresholds) for v in verdicts) else 0


def uses_within_run_samples(verdicts: Sequence[Verdict]) -> bool:
    return any(v.effect is not None and v.effect.samples == PER_CALL for v in verdicts)
