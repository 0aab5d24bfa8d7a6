"""Gate verdicts in words: the sentence of every reason code, the verdict table of
``gate``, ``ab`` and ``gate --history``, and their headings.

``bench.analyse.gate`` decides and says why with codes and numbers; this module is the
one place that turns them into English, so the wording can change without touching a
rule, and a rule without touching the wording.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from bench.analyse.gate import (
    OUTCOMES,
    Code,
    Effect,
    Outcome,
    Reason,
    Samples,
    Thresholds,
    Verdict,
    exit_code,
)
from bench.analyse.gate.reasons import (
    ArgumentReason,
    CountReason,
    ImagesReason,
    LatencyReason,
    MemoryReason,
    OutlyingRuns,
    PowerReason,
    ReachReason,
    SeriesReason,
    SideStatus,
    StatusReason,
    WindowDrift,
    WindowStep,
)
from bench.analyse.memory import DEVICE_VIEW, MemoryChange, noise_percent
from bench.present.tables import markdown_table, memory_cell, percent_change
from bench.store.history import Machine, ResultRow
from bench.store.result_files import ResultSet
from bench.units import GIB


class Sides(NamedTuple):
    """What a gate calls its two sides."""

    baseline: str
    candidate: str


SIDES = Sides("baseline", "candidate")
AB_SIDES = Sides("A (baseline)", "B (candidate)")

WITHIN_RUN_NOTE = (
    "one run per side: per-call times are the samples, and calls inside one process share"
    " its drift, so they understate the noise between runs; gate several runs per side"
    " or use `sdxl-bench ab` for verdicts you can trust on a shared machine"
)
COMPARE_NOTE = (
    "'significant' here is a Mann-Whitney test over the per-call times of one run per side:"
    " calls inside one process share its drift, so they understate the noise between runs,"
    " and a difference of a few percent can be drift alone; for a verdict, gate several"
    " runs per side or use `sdxl-bench ab`"
)
MEMORY_NOTE = (
    "memory: the view that grew most, as the change of the typical peak (median over runs)"
    " ± the noise it is weighed against (the widest spread of per-call peaks within a run"
    " or of run peaks within a side); it fails only beyond both --max-memory-increase and"
    " that noise (docs/statistics.md)"
)

# --- effects -----------------------------------------------------------------------------

_SAMPLES = {
    Samples.PER_CALL: "per-call times of one run",
    Samples.PER_RUN: "per-run medians",
    Samples.PER_ROUND: "per-round medians",
    Samples.PAIRED: "per-pair median ratios",
}
# What "need >= N ..." counts when a kind of samples is too few.
_UNITS = {Samples.PAIRED: "pairs", Samples.PER_RUN: "runs per side",
          Samples.PER_ROUND: "rounds per side (--rounds)"}


def samples_text(effect: Effect) -> str:
    """'per-run medians', 'history runs (t, df 4)'."""
    if effect.samples is Samples.HISTORY:
        return f"history runs (t, df {effect.df:.3g})"
    return _SAMPLES[effect.samples]


def sizes_text(effect: Effect) -> str:
    """'6 vs 6', or '8 pairs'."""
    if effect.samples is Samples.PAIRED:
        return f"{effect.n_cand} pairs"
    return f"{effect.n_base} vs {effect.n_cand}"


def interval_text(effect: Effect) -> str | None:
    """The interval of the change, '[+1.2%, +8.9%]' (None: too few samples for one)."""
    if effect.low is None or effect.high is None:
        return None
    return f"[{effect.low - 1:+.1%}, {effect.high - 1:+.1%}]"


# Which test judged the latency, and why these samples (the history heading says its own).
_TESTS = {
    Samples.PER_CALL: ("exact one-sided Mann-Whitney on the per-call times: one run per side,"
                       " so its calls are the only samples (see the note on drift below)"),
    Samples.PER_RUN: ("exact one-sided Mann-Whitney on per-run medians: a side has several"
                      " runs, and the calls of one run share its drift, so each run is one"
                      " sample on both sides (its calls are not pooled)"),
    Samples.PER_ROUND: ("exact one-sided Mann-Whitney on per-round medians: every run was made"
                        " with --rounds, each round in a fresh process, so each round is one"
                        " sample"),
    Samples.PAIRED: ("exact one-sided Wilcoxon signed-rank on the log ratio of each A/B pair:"
                     " drift the two runs of a pair share cancels in their ratio"),
}


def test_lines(verdicts: Sequence[Verdict]) -> list[str]:
    """'test: …' once per kind of samples the verdicts used, with the configs it judged
    when the kinds differ between configs."""
    kinds: dict[Samples, list[str]] = {}
    for verdict in verdicts:
        if verdict.effect is not None and verdict.effect.samples in _TESTS:
            kinds.setdefault(verdict.effect.samples, []).append(verdict.key)
    if len(kinds) == 1:
        return [f"test: {_TESTS[next(iter(kinds))]}; Holm over the configs judged"]
    return [f"test for {', '.join(keys)}: {_TESTS[kind]}" for kind, keys in kinds.items()]


def latency_text(effect: Effect) -> str:
    """'latency +10.0%, 99% CI [+8.1%, +11.9%]'."""
    interval = interval_text(effect)
    ci = f", {effect.confidence:.0%} CI {interval}" if interval else ""
    return f"latency {effect.ratio - 1:+.1%}{ci}"


# --- memory ------------------------------------------------------------------------------


def memory_values_text(change: MemoryChange) -> str:
    return f"{change.base / GIB:.3f} -> {change.cand / GIB:.3f} GiB"


def memory_noise_text(change: MemoryChange) -> str:
    """'noise ±0.9% (per-call spread)', or that no noise is known."""
    if change.noise_source is None:
        return "noise unknown: no per-call peaks"
    return f"noise {noise_percent(change.relative_noise)} ({change.noise_source})"


def memory_text(change: MemoryChange) -> str:
    """'process_rss +1.3% (0.812 -> 0.823 GiB, noise ±0.9% (per-call spread))'."""
    return (f"{change.view} {change.increase:+.1%} ({memory_values_text(change)},"
            f" {memory_noise_text(change)})")


def _memory(reason: MemoryReason) -> str:
    c = reason.change
    change = f"{c.view} memory {c.increase:+.1%} ({memory_values_text(c)}"
    if reason.code is Code.MEMORY_WITHIN_NOISE:
        return (f"note: {change}) is above {c.limit:.1%} but within the"
                f" {memory_noise_text(c)}: not counted")
    if c.noise_source is None:
        return f"{change}; > {c.limit:.1%}; {memory_noise_text(c)})"
    return f"{change}; > {c.limit:.1%} and beyond the {memory_noise_text(c)})"


# --- reasons -----------------------------------------------------------------------------


def _side(side: SideStatus) -> str:
    if side.failing == side.runs:
        return side.status.value
    return f"{side.status.value} in {side.failing} of {side.runs} runs"


def _status(reason: StatusReason) -> str:
    if reason.code is Code.STATUS_FAILED:
        return f"status ok -> {_side(reason.cand)}"
    if reason.code is Code.STATUS_RECOVERED:
        return f"status {_side(reason.base)} -> ok"
    return f"not measured on either side ({_side(reason.base)} / {_side(reason.cand)})"


def _images(reason: ImagesReason) -> str:
    counts = ", ".join(f"{n} {kind}" for n, kind in ((reason.nan, "NaN"), (reason.black, "black"))
                       if n)
    runs = f" in {reason.runs} of {reason.of} runs" if reason.of > 1 else ""
    return (f"images broken in the candidate ({counts}{runs}; none in the baseline): its"
            " output is unusable, whatever its speed")


def _latency(reason: LatencyReason) -> str:
    latency = latency_text(reason.effect)
    code = reason.code
    if code is Code.LATENCY:
        return latency
    if code is Code.SLOWER:
        return f"{latency}: slower beyond {reason.limit:.1%} (Holm p={reason.p:.2g})"
    if code is Code.FASTER:
        text = f"{latency}: faster beyond {reason.limit:.1%} (Holm p={reason.p:.2g})"
        return text + ("; update the baseline" if reason.fail_on_speedup else "")
    if code is Code.WITHIN_LIMIT:
        return f"{latency}: significant (Holm p={reason.p:.2g}) but within {reason.limit:.1%}"
    if code is Code.NOT_SIGNIFICANT:
        return f"{latency}: not significant (Holm p={reason.p:.2g})"
    if code is Code.WITHIN_DRIFT:
        return (f"{latency}: within what drift between two runs explains (one run per side,"
                f" run CV {reason.run_cv:.0%} assumed: only changes beyond"
                f" {reason.drift - 1:+.0%} count); gate several runs per side or use sdxl-bench ab")
    sides = " / ".join(f"{side}: {'; '.join(why)}" for side, why in reason.unstable)
    return (f"{latency}: not judged: the measurement was unstable ({sides}); one run"
            " per side cannot tell this change from the noise that made it unstable: rerun"
            " on a quiet machine, or use --rounds or sdxl-bench ab")


def _power(reason: PowerReason) -> str:
    effect = reason.effect
    unit = _UNITS.get(effect.samples, "calls per side")
    return (f"too few samples: {sizes_text(effect)} ({samples_text(effect)}) can give one-sided"
            f" p >= {effect.min_p:.2g}, above alpha/{reason.configs} = {reason.level:.2g}"
            f" (Holm over {reason.configs} config(s)); need >= {reason.needed} {unit}")


def _window(reason: WindowStep) -> str:
    return (f"note: the baseline window holds a step of {reason.step.change:+.1%} at"
            f" {reason.at.revision}: it mixes two levels; --last {reason.after} gates"
            " against the runs after it")


def _drift(reason: WindowDrift) -> str:
    drift = reason.drift
    return (f"note: the history drifts {drift.rate - 1:+.2%}/run since {reason.since.revision}"
            f" ({drift.change:+.1%} over {drift.runs} runs, {reason.inside} of them in the"
            " window): a slow change, not this candidate's step; the window's mean lags the"
            " level (sdxl-bench history show)")


def _outlying(reason: OutlyingRuns) -> str:
    runs = ", ".join(f"{run.revision} {ratio - 1:+.0%}" for run, ratio in
                     zip(reason.runs, reason.ratios, strict=True))
    return (f"note: left out {len(reason.runs)} outlying run(s) of {reason.window} ({runs}):"
            f" each far outside the other runs' spread (two-sided, alpha {reason.alpha:g}"
            " over the window)")


def _reach(reason: ReachReason) -> str:
    if reason.code is Code.REACH:
        return (f"at this noise the gate flags slowdowns beyond"
                f" {max(reason.reach, 1 + reason.limit) - 1:+.1%}")
    return (f"the runs spread so widely that even a {reason.ratio:g}x slowdown would pass"
            f" (only slowdowns beyond {reason.reach - 1:+.0%} are flagged): add runs to the"
            " history (--last), measure the candidate more than once, or use a quieter machine")


def _few_runs(reason: CountReason) -> str:
    return (f"{reason.count} baseline run(s) of this config on this machine: the spread"
            f" between runs needs >= {reason.needed}; add more runs to the history")


# Reasons without numbers.
_PLAIN = {
    Code.NO_RAW_DATA: "no raw data: significance cannot be tested",
    Code.NO_LATENCY: "no latency on one side",
    Code.MIXED_SAMPLES: ("one side has per-round medians (--rounds), the other per-call"
                         " times: measure both sides with --rounds"),
    Code.NO_PAIR: "no pair of runs measured this config on both sides",
    Code.NO_CANDIDATE_LATENCY: "no latency in the candidate",
    Code.NO_SPREAD: "no spread to estimate (identical values, no per-call times)",
    Code.DEVICE_WIDE_MEMORY: (f"note: memory judged on {DEVICE_VIEW}, the whole GPU (other"
                              " processes count too): no per-process view was measured on"
                              " both sides"),
    Code.NOT_IN_HISTORY: "not in the history of this machine",
}
_WRITERS: dict[type, Callable] = {
    LatencyReason: _latency, PowerReason: _power, StatusReason: _status,
    MemoryReason: _memory, WindowStep: _window, ReachReason: _reach, CountReason: _few_runs,
    ImagesReason: _images,
    ArgumentReason: lambda r: f"note: {r.name} {r.base} -> {r.cand}",
    OutlyingRuns: _outlying, WindowDrift: _drift,
    SeriesReason: lambda r: (f"not in the history of this machine with {r.candidate}"
                             f" (stored: {'; '.join(r.stored)})"),
}


def reason_text(reason: Reason, sides: Sides = SIDES) -> str:
    """The sentence of one reason."""
    if reason.code is Code.MISSING_IN_BASELINE:
        return f"missing in {sides.baseline}"
    if reason.code is Code.MISSING_IN_CANDIDATE:
        return f"missing in {sides.candidate}"
    writer = _WRITERS.get(type(reason))
    return writer(reason) if writer else _PLAIN[reason.code]


def reason_texts(verdict: Verdict, sides: Sides = SIDES) -> list[str]:
    """Every reason of a verdict in words, in its order."""
    return [reason_text(r, sides) for r in verdict.reasons]


# --- the verdict table -------------------------------------------------------------------

DETAIL_WIDTH = 100  # the reasons under the table are wrapped to this many columns


def why_cell(verdict: Verdict) -> str:
    """The table's short 'why': each kind of reason once ('within drift; memory grew');
    the bare latency change the row shows already is left out."""
    return "; ".join(dict.fromkeys(reason.code.value for reason in verdict.reasons
                                   if reason.code is not Code.LATENCY))


def wrapped(text: str, width: int = DETAIL_WIDTH, indent: str = "  ") -> str:
    """A long line of prose folded for a terminal, continuation lines indented."""
    return "\n".join(textwrap.wrap(text, width, subsequent_indent=indent,
                                   break_on_hyphens=False, break_long_words=False))


def verdict_row(verdict: Verdict, thresholds: Thresholds, sides: Sides = SIDES) -> list:
    """One row: verdict, latency change with its interval, samples, p, memory, and why in
    a few words (the sentences are listed under the table: ``detail_lines``)."""
    effect = verdict.effect
    latency = None
    if effect is not None:
        latency = percent_change(effect.ratio)
    elif verdict.change is not None:
        latency = percent_change(verdict.change.latency_ratio)
    missing = verdict.outcome is Outcome.MISSING
    return [
        verdict.key,
        verdict.outcome.value + (" (fails)" if verdict.fails(thresholds) else ""),
        latency,
        None if effect is None else interval_text(effect),
        None if effect is None else f"{sizes_text(effect)} {samples_text(effect)}",
        None if verdict.p_adjusted is None else f"{verdict.p_adjusted:.2g}",
        memory_cell(verdict.memory),
        "; ".join(reason_texts(verdict, sides)) if missing else why_cell(verdict),
    ]


def detail_lines(verdicts: Sequence[Verdict], sides: Sides = SIDES,
                 width: int = DETAIL_WIDTH) -> list[str]:
    """Every compared config's reasons in full, one wrapped item each, under its name."""
    lines = []
    for verdict in verdicts:
        if verdict.outcome is Outcome.MISSING or not verdict.reasons:
            continue
        lines.append(f"{verdict.key} ({verdict.outcome.value}):")
        for text in reason_texts(verdict, sides):
            lines.extend(textwrap.wrap(text, width, initial_indent="  - ",
                                       subsequent_indent="    ", break_on_hyphens=False))
    return lines


def _not_compared(verdicts: Sequence[Verdict], thresholds: Thresholds, sides: Sides) -> str:
    """'; not compared: a, b (missing in candidate, fails)' — empty when every config was."""
    groups: dict[str, list[str]] = {}
    for verdict in verdicts:
        if verdict.outcome is Outcome.MISSING:
            why = "; ".join(reason_texts(verdict, sides))
            groups.setdefault(why + (", fails" if verdict.fails(thresholds) else ""),
                              []).append(verdict.key)
    return "".join(f"; not compared: {', '.join(keys)} ({why})" for why, keys in groups.items())


def verdict_line(verdicts: Sequence[Verdict], thresholds: Thresholds,
                 sides: Sides = SIDES) -> str:
    """PASS or FAIL, the outcomes counted, the failing configs named once, and what was
    asked for but not compared (a missing config is never passed over in silence)."""
    counts = ", ".join(f"{sum(v.outcome is o for v in verdicts)} {o.value}" for o in OUTCOMES
                       if any(v.outcome is o for v in verdicts))
    compared = sum(v.outcome is not Outcome.MISSING for v in verdicts)
    scope = (f"{len(verdicts)} config(s)" if compared == len(verdicts)
             else f"{compared} of the {len(verdicts)} config(s) asked for")
    gap = _not_compared(verdicts, thresholds, sides)
    failed = [v for v in verdicts if v.fails(thresholds)]
    if exit_code(verdicts, thresholds):
        names = ", ".join(f"{v.key} ({v.outcome.value})" for v in failed
                          if v.outcome is not Outcome.MISSING)
        return wrapped(f"FAIL: {len(failed)} of {len(verdicts)} config(s) failed ({counts})"
                       + (f": {names}" if names else "") + gap)
    return wrapped(f"PASS: no regression in {scope} ({counts}){gap}")


def verdict_report(verdicts: Sequence[Verdict], thresholds: Thresholds, heading: str,
                   sides: Sides = SIDES) -> str:
    """The verdict table (one row per config, why in a few words), every config's reasons
    in full beneath it, the notes it needs, and the PASS or FAIL line: what ``gate``,
    ``ab`` and ``gate --history`` print."""
    headers = ["config", "verdict", "latency change", f"{thresholds.confidence:.0%} CI",
               "samples", "Holm p", "memory change ± noise", "why"]
    lines = [heading, markdown_table(headers, [verdict_row(v, thresholds, sides)
                                               for v in verdicts])]
    details = detail_lines(verdicts, sides)
    if details:
        lines.append("\n" + "\n".join(details))
    for test in test_lines(verdicts):
        lines.append("\n" + wrapped(test))
    if any(v.effect is not None and v.effect.samples is Samples.PER_CALL for v in verdicts):
        lines.append("\n" + wrapped(f"note: {WITHIN_RUN_NOTE}"))
    if any(v.memory for v in verdicts):
        lines.append("\n" + wrapped(MEMORY_NOTE))
    lines.append("\n" + verdict_line(verdicts, thresholds, sides))
    failed = [v for v in verdicts if v.fails(thresholds)]
    if any(v.outcome is Outcome.INCONCLUSIVE for v in failed):
        lines.append(wrapped("inconclusive configs fail: add runs, rounds (run --rounds) or"
                             " calls, or pass --allow-inconclusive"))
    if any(v.outcome is Outcome.MISSING and not thresholds.require_all for v in failed):
        lines.append(wrapped("missing configs fail: measure them in the candidate, or pass"
                             " --allow-missing when it measured a subset on purpose"))
    return "\n".join(lines)


# --- headings ----------------------------------------------------------------------------


def _limits(thresholds: Thresholds) -> str:
    return (f"max slowdown {thresholds.max_slowdown:.1%}, max memory increase"
            f" {thresholds.max_memory_increase:.1%}, alpha {thresholds.alpha:g}")


def runs_heading(baseline: Sequence[ResultSet], candidate: Sequence[ResultSet],
                 thresholds: Thresholds) -> str:
    def side(sets: Sequence[ResultSet]) -> str:
        kinds = sorted({s.kind for s in sets})
        return f"{', '.join(str(s.path) for s in sets)} ({', '.join(kinds)})"

    return (f"gate: baseline {side(baseline)} -> candidate {side(candidate)};"
            f" {len(baseline)} vs {len(candidate)} run(s), {_limits(thresholds)}"
            " (one-sided, Holm over configs)")


def pairs_heading(out: Path, pairs: int, thresholds: Thresholds) -> str:
    return (f"ab: {pairs} pair(s) of runs in {out} (A = baseline, B = candidate);"
            f" {_limits(thresholds)} (one-sided, Holm over configs)")


def history_heading(store: Path | str, machine: Machine, last: int,
                    baseline: Sequence[ResultRow], ignored: int, candidates: Sequence[Path | str],
                    thresholds: Thresholds) -> str:
    """Which history the candidate was judged against: machine, window, runs, revisions."""
    revisions = {r.run.revision for r in baseline}
    span = "no runs"
    if baseline:
        first, final = baseline[0].run, baseline[-1].run
        span = (f"{len({r.run.id for r in baseline})} run(s), {first.started_at[:10]} to"
                f" {final.started_at[:10]}, {first.revision} .. {final.revision}")
    heading = (
        f"gate: history {store} (machine {machine.name} [{machine.id}], last {last}"
        f" runs per config: {span}; {len(revisions)} revision(s)) -> candidate"
        f" {', '.join(str(p) for p in candidates)}; {_limits(thresholds)}"
        f" (one-sided t on run medians, between-run spread from the history, Holm over configs)"
    )
    if ignored:
        heading += f"\n({ignored} stored workload(s) not in the candidate: not judged)"
    return heading
