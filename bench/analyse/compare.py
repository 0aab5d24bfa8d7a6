"""Match workloads across result sets and measure how each changed.

The same ``Change`` feeds the side-by-side ``compare`` table and the ``gate`` verdict, so
what the gate fails on is exactly what ``compare`` shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.analyse.memory import judged_views, memory_noise, noise_percent
from bench.result import CALLS, ConfigResult
from bench.stats import Interval, median_uncertainty, throughput_interval
from bench.stats.ranks import MannWhitney, mann_whitney_u, shift_interval
from bench.store.result_files import ResultSet
from bench.store.schema import unmatched_arguments
from bench.units import GIB, number, ratio


@dataclass(frozen=True)
class Matched:
    """One workload key and its result in every result set (None where it is missing)."""

    key: str
    results: tuple[ConfigResult | None, ...]


@dataclass(frozen=True)
class Change:
    """How a candidate result differs from a baseline result of the same workload."""

    base: ConfigResult
    cand: ConfigResult
    latency_ratio: float | None  # candidate median / baseline median; > 1 is slower
    images_per_s_ratio: float | None  # candidate / baseline; > 1 is faster
    test: MannWhitney | None  # None when either side has no raw latencies
    memory_ratio: dict[str, float]  # view -> candidate / baseline, views on both sides

    def significance(self, alpha: float) -> str:
        """'significant', 'not significant', 'too few samples' or 'no raw data'."""
        if self.test is None:
            return "no raw data"
        if not self.test.reachable(alpha):
            return "too few samples"
        return "significant" if self.test.p_value <= alpha else "not significant"

    def differing_arguments(self) -> list[str]:
        """Call arguments outside the key that differ, as 'name old -> new'."""
        return [f"{name} {old} -> {new}" for name, old, new in self.arguments()]

    def arguments(self) -> list[tuple[str, object, object]]:
        """(name, baseline value, candidate value) of the call arguments outside the key
        that differ."""
        base, cand = unmatched_arguments(self.base), unmatched_arguments(self.cand)
        return [(name, base.get(name), cand.get(name)) for name in sorted(set(base) | set(cand))
                if base.get(name) != cand.get(name)]


def match_results(sets: Sequence[ResultSet]) -> list[Matched]:
    """Every workload key of any set, in first-seen order, with its result per set.

    A key repeated within one set (a resumed run) keeps its last result.
    """
    by_set = [{entry.key: entry.result for entry in result.entries} for result in sets]
    order: dict[str, None] = {}
    for result in sets:
        for entry in result.entries:
            order.setdefault(entry.key)
    return [Matched(key, tuple(table.get(key) for table in by_set)) for key in order]


def _ratio(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old <= 0:
        return None
    return float(new) / float(old)


def compare_results(base: ConfigResult, cand: ConfigResult) -> Change:
    """Latency, throughput and memory change from ``base`` to ``cand``."""
    test = None
    if base.latency_values and cand.latency_values:
        test = mann_whitney_u(cand.latency_values, base.latency_values)
    memory_ratio = {}
    for view, old in (base.peak_memory or {}).items():
        ratio = _ratio((cand.peak_memory or {}).get(view), old)
        if ratio is not None:
            memory_ratio[view] = ratio
    return Change(
        base=base,
        cand=cand,
        latency_ratio=_ratio(cand.median_s, base.median_s),
        images_per_s_ratio=_ratio(cand.images_per_s, base.images_per_s),
        test=test,
        memory_ratio=memory_ratio,
    )


def _memory_delta(change: Change) -> str | None:
    """Change of the view the gate judges first (the process's own memory; device-wide
    only without it), in GiB and percent, named, with the noise it is weighed against:
    the wider per-call spread of peaks within the two runs."""
    views, _ = judged_views([change.base], [change.cand])
    if not views:
        return None
    view = views[0]
    old, new = change.base.memory_bytes()[view], change.cand.memory_bytes()[view]
    noise, source = memory_noise(view, [change.base], [change.cand])
    spread = noise_percent(noise / old) if source else "noise unknown"
    return f"{(new - old) / GIB:+.3f} GiB ({new / old - 1:+.1%}, {spread}) {view}"


def _interval_text(interval: Interval | None) -> str | None:
    if interval is None:
        return None
    if interval.confidence < 0.95:  # too few calls for 95 %: the range, and its coverage
        return f"{interval.text()} range, {interval.confidence:.0%}"
    return interval.text()


def headline_intervals(result: ConfigResult) -> tuple[str | None, str | None]:
    """95 % intervals of images/s and of the median latency, as text (None without raw
    times). With fewer than 6 calls the range stands in, with its lower coverage."""
    latency = median_uncertainty(result.latency_values) if result.latency_values else None
    images = None
    if result.images_per_s and result.median_s:
        images = throughput_interval(latency, round(result.images_per_s * result.median_s))
    return _interval_text(images), _interval_text(latency)


def ratio_interval(change: Change, confidence: float = 0.95) -> str | None:
    """Hodges–Lehmann interval of the latency ratio over the per-call times, as percent
    changes (None when the samples are too small for ``confidence``)."""
    base, cand = change.base.latency_values, change.cand.latency_values
    if not base or not cand or min(*base, *cand) <= 0:
        return None
    shift = shift_interval([math.log(v) for v in cand], [math.log(v) for v in base], confidence)
    if shift.low is None or shift.high is None:
        return None
    return f"[{math.exp(shift.low) - 1:+.1%}, {math.exp(shift.high) - 1:+.1%}]"


def tests_per_call(sets: Sequence[ResultSet]) -> bool:
    """Whether any significance ``side_by_side`` states is over the per-call times of one
    run each: calls inside one process share its drift, so such a test does not see the
    noise between runs (``gate`` says the same of its one-run verdicts)."""
    for matched in match_results(sets):
        base = matched.results[0]
        for result in matched.results[1:]:
            if base is not None and result is not None and base.ok and result.ok \
                    and not base.broken_images and not result.broken_images \
                    and CALLS == base.sample == result.sample \
                    and base.latency_values and result.latency_values:
                return True
    return False


def broken_text(result: ConfigResult) -> str:
    """'1 NaN, 1 black' image(s) of a result's last call."""
    return ", ".join(f"{n} {kind}" for n, kind in ((result.nan_images, "NaN"),
                                                   (result.black_images, "black")) if n)


def side_by_side(sets: Sequence[ResultSet], alpha: float) -> tuple[list[str], list[list]]:
    """Rows comparing every later set with the first, per matched workload."""
    headers = [
        "config",
        "run",
        "images/s",
        "95% CI",
        "ratio",
        "latency p50 s",
        "95% CI",
        "ratio",
        "latency change 95% CI",
        "Mann-Whitney p",
        "significance",
        "memory delta (± per-call spread)",
    ]
    rows: list[list] = []
    for matched in match_results(sets):
        base = matched.results[0]
        for index, result in enumerate(matched.results):
            label = f"{index + 1}: {sets[index].path.name}"
            if result is None:
                rows.append([matched.key, label, "missing", *[None] * 9])
                continue
            status = None if result.ok else result.status.value
            images_ci, latency_ci = headline_intervals(result) if not status else (None, None)
            head = [matched.key, label, status or number(result.images_per_s), images_ci]
            if index == 0 or base is None or status or not base.ok:
                note = "baseline" if index == 0 else None if base else "no baseline"
                if index == 0 and result.broken_images:
                    note += f"; images broken ({broken_text(result)})"
                rows.append([*head, None, number(result.median_s), latency_ci, None, None, None,
                             note, None])
                continue
            broken = [f"{side}: {broken_text(r)}" for side, r in (("baseline", base),
                                                                   ("this run", result))
                      if r.broken_images]
            if broken:  # a speed of unusable output is no win (nor a loss) to report
                rows.append([*head, None, number(result.median_s), latency_ci, None, None, None,
                             f"not compared: images broken ({'; '.join(broken)})", None])
                continue
            change = compare_results(base, result)
            rows.append(
                [
                    *head,
                    ratio(change.images_per_s_ratio),
                    number(result.median_s),
                    latency_ci,
                    ratio(change.latency_ratio),
                    ratio_interval(change),
                    None if change.test is None else f"{change.test.p_value:.2g}",
                    change.significance(alpha),
                    _memory_delta(change),
                ]
            )
    return headers, rows
