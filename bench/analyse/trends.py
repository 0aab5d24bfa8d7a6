"""Stored results as series: per workload and machine, the runs in order, their intervals,
the change points of latency and memory, and the latest result of every machine.

``history show`` and ``history report`` present these; nothing here draws or prints.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bench.errors import UsageError
from bench.stats.changepoint import NOISE_FLOOR, Detection, Step, detect
from bench.stats.distributions import median_variance
from bench.stats.intervals import Interval, median_uncertainty, throughput_interval
from bench.stats.ranks import shift_interval
from bench.stats.summary import variance
from bench.store.history import VERSION_FIELDS, Machine, ResultRow, short_commit

LATENCY = "latency"
MEMORY = "memory"
MEMORY_NOISE_FLOOR = 0.01  # peak memory barely varies: steps under a few % are not reported


@dataclass(frozen=True)
class Point:
    """One ok run of a series with the intervals of its headline figures."""

    row: ResultRow
    latency: Interval | None  # median latency (order statistics; the range for few calls)
    throughput: Interval | None  # images/s, from the latency interval


@dataclass(frozen=True)
class StepEvent:
    """A change point of one series, placed between two runs."""

    workload: str
    machine: Machine
    metric: str  # LATENCY or MEMORY
    step: Step
    before: ResultRow  # the last run before the step
    after: ResultRow  # the first run after it
    library_changes: tuple[str, ...]  # versions that differ between those two runs

    @property
    def worse(self) -> bool:
        """Slower, or more memory."""
        return self.step.ratio > 1

    @property
    def commits(self) -> str:
        """'a1b2c3..d4e5f6': the last commit before and the first after the step."""
        return f"{short_commit(self.before.commit) or '?'}..{short_commit(self.after.commit) or '?'}"

    def describe(self) -> str:
        if self.metric == LATENCY:
            what = "slower" if self.worse else "faster"
            return f"latency {self.step.change:+.1%} {self.step.interval_text()} ({what})"
        what = "more" if self.worse else "less"
        return f"peak memory {self.step.change:+.1%} {self.step.interval_text()} ({what})"


@dataclass(frozen=True)
class Series:
    workload: str
    machine: Machine
    rows: tuple[ResultRow, ...]  # every stored result, oldest first (any status)
    points: tuple[Point, ...]  # the ok ones, oldest first
    latency: Detection | None  # change points of the median latency over ``points``
    memory: Detection | None  # of the peak memory (the most common view)
    events: tuple[StepEvent, ...]

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None


def within_run_floor(rows: Sequence[ResultRow]) -> float:
    """The typical sampling error of a run's log median from its own per-call times: run
    medians cannot vary less than this from run to run, so the change-point detector
    never assumes less noise (a short series can show a deceptively small spread)."""
    errors = []
    for row in rows:
        if len(row.latencies) >= 2:
            logs = [math.log(v) for v in row.latencies]
            errors.append(math.sqrt(variance(logs) * median_variance(len(logs))))
    if not errors:
        return NOISE_FLOOR
    errors.sort()
    return max(NOISE_FLOOR, errors[len(errors) // 2])


def _point(row: ResultRow) -> Point:
    latency = median_uncertainty(row.latencies) if row.latencies else None
    return Point(row, latency, throughput_interval(latency, row.images_per_call or 1))


def library_changes(before: ResultRow, after: ResultRow) -> tuple[str, ...]:
    return tuple(f"{name} {before.versions.get(name)} -> {after.versions.get(name)}"
                 for name in VERSION_FIELDS
                 if before.versions.get(name) != after.versions.get(name))


def _events(metric: str, detection: Detection, rows: Sequence[ResultRow], workload: str,
            machine: Machine) -> list[StepEvent]:
    return [StepEvent(workload, machine, metric, step, rows[step.index - 1], rows[step.index],
                      library_changes(rows[step.index - 1], rows[step.index]))
            for step in detection.steps]


def _workload_order(row: ResultRow) -> tuple:
    return (row.scenario or "", row.model or "", row.dtype or "", row.num_inference_steps or 0,
            row.height or 0, row.width or 0, row.optimizations, row.world_size,
            row.batch_size or 0, row.num_images_per_prompt or 0, row.workload)


def build_series(rows: Sequence[ResultRow]) -> list[Series]:
    """One series per (workload, machine), in workload order then machine name."""
    groups: dict[tuple[str, str], list[ResultRow]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.started_at, r.run)):
        groups[(row.workload, row.machine.id)].append(row)
    series = []
    for (workload, _), members in groups.items():
        machine = members[0].machine
        ok = [r for r in members if r.ok]
        points = tuple(_point(r) for r in ok)
        events: list[StepEvent] = []
        latency = None
        if ok:
            latency = detect([r.median_s for r in ok], noise_floor=within_run_floor(ok))
            events += _events(LATENCY, latency, ok, workload, machine)
        memory = None
        views = Counter(r.memory_view for r in ok if r.memory_view and (r.memory_bytes or 0) > 0)
        if views:
            view = views.most_common(1)[0][0]
            measured = [r for r in ok if r.memory_view == view and (r.memory_bytes or 0) > 0]
            memory = detect([float(r.memory_bytes) for r in measured], noise_floor=MEMORY_NOISE_FLOOR)
            events += _events(MEMORY, memory, measured, workload, machine)
        series.append(Series(workload, machine, tuple(members), points, latency, memory,
                             tuple(events)))
    return sorted(series, key=lambda s: (_workload_order(s.rows[0]), s.machine.name))


def feed(series: Sequence[Series]) -> list[StepEvent]:
    """Every change point, newest first (by the first run after it); worse before better
    at the same time."""
    events = [e for s in series for e in s.events]
    return sorted(events, key=lambda e: (e.after.started_at, e.worse, e.after.run), reverse=True)


@dataclass(frozen=True)
class Cell:
    """The latest result of one workload on one machine, against the reference machine."""

    row: ResultRow
    throughput: Interval | None
    ratio: float | None  # images/s over the reference's (> 1: faster than the reference)
    low: float | None  # interval of the ratio from both runs' per-call times
    high: float | None


@dataclass(frozen=True)
class HardwareTable:
    reference: Machine
    machines: tuple[Machine, ...]  # the reference first
    rows: tuple[tuple[str, dict[str, Cell]], ...]  # (workload, machine id -> cell)


def choose_reference(machines: Sequence[Machine], counts: dict[str, int],
                     wanted: str | None) -> Machine:
    """``wanted`` (a substring of a machine's id or name), else the machine with the most
    results."""
    if wanted:
        found = [m for m in machines if wanted.lower() in f"{m.id} {m.name}".lower()]
        if len(found) != 1:
            listed = "; ".join(f"{m.name} [{m.id}]" for m in machines)
            raise UsageError(f"--reference {wanted!r} matches {len(found)} machines; the"
                             f" machines are: {listed}")
        return found[0]
    return min(machines, key=lambda m: (-counts.get(m.id, 0), m.name))


def _ratio(row: ResultRow, reference: ResultRow,
           confidence: float) -> tuple[float | None, float | None, float | None]:
    if not (row.ok and reference.ok and row.images_per_s and reference.images_per_s):
        return None, None, None
    ratio = row.images_per_s / reference.images_per_s
    if len(row.latencies) < 2 or len(reference.latencies) < 2:
        return ratio, None, None
    # images/s ratio = reference latency / this latency for the same workload
    shift = shift_interval([math.log(v) for v in reference.latencies],
                           [math.log(v) for v in row.latencies], confidence)
    if shift.low is None:
        return ratio, None, None
    return ratio, math.exp(shift.low), math.exp(shift.high)


def hardware_table(series: Sequence[Series], reference: str | None = None,
                   confidence: float = 0.95) -> HardwareTable | None:
    """The latest ok result of every workload on every machine, with the ratio of its
    images/s to the reference machine's; None when no series has an ok result."""
    latest = [s for s in series if s.latest is not None]
    if not latest:
        return None
    machines = {s.machine.id: s.machine for s in latest}
    counts = Counter(s.machine.id for s in latest for _ in s.points)
    chosen = choose_reference(list(machines.values()), counts, reference)
    order = [chosen, *sorted((m for m in machines.values() if m.id != chosen.id),
                             key=lambda m: m.name)]
    table: dict[str, dict[str, Cell]] = {}
    for s in latest:
        table.setdefault(s.workload, {})
    by_key = {(s.workload, s.machine.id): s.latest for s in latest}
    for workload, cells in table.items():
        ref_point = by_key.get((workload, chosen.id))
        for machine in order:
            point = by_key.get((workload, machine.id))
            if point is None:
                continue
            ratio = low = high = None
            if ref_point is not None and machine.id != chosen.id:
                ratio, low, high = _ratio(point.row, ref_point.row, confidence)
            cells[machine.id] = Cell(point.row, point.throughput, ratio, low, high)
    return HardwareTable(chosen, tuple(order), tuple(table.items()))
