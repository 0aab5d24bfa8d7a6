"""Stored results as series: per workload and machine, the runs in order, their intervals,
the change points of latency and memory, and the latest result of every machine.

``history show`` and ``history report`` present these; nothing here draws or prints.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bench.stats.changepoint import DEFAULT, NOISE_FLOOR, Detection, Drift, Setting, Step, detect
from bench.stats.distributions import median_variance
from bench.stats.intervals import Interval, median_uncertainty, throughput_interval
from bench.stats.ranks import shift_interval
from bench.stats.summary import variance
from bench.store.history import (
    VERSION_FIELDS,
    Arguments,
    Machine,
    ResultRow,
    series_label,
    series_marks,
    short_commit,
)

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
    mark: str = ""  # the call arguments that set the series apart ('guidance_scale 1.0')

    @property
    def label(self) -> str:
        """The series' workload as tables show it (with its mark)."""
        return series_label(self.workload, self.mark)

    @property
    def worse(self) -> bool:
        """Slower, or more memory."""
        return self.step.ratio > 1

    @property
    def commits(self) -> str:
        """'a1b2c3..d4e5f6': the last commit before and the first after the step."""
        return (f"{short_commit(self.before.run.commit) or '?'}.."
                f"{short_commit(self.after.run.commit) or '?'}")

    @property
    def when(self) -> ResultRow:
        """The run that dates the event in the feed: the first run after the step."""
        return self.after


@dataclass(frozen=True)
class DriftEvent:
    """A slow change of one series: the level moved a little with every run, from
    ``first`` to ``last`` (one drift, not a staircase of steps)."""

    workload: str
    machine: Machine
    metric: str  # LATENCY or MEMORY
    drift: Drift
    first: ResultRow  # the first run of the drift
    last: ResultRow  # its last run
    library_changes: tuple[str, ...]  # versions that differ between those two runs
    mark: str = ""

    @property
    def label(self) -> str:
        return series_label(self.workload, self.mark)

    @property
    def worse(self) -> bool:
        """Getting slower, or needing more memory."""
        return self.drift.rate > 1

    @property
    def commits(self) -> str:
        """'a1b2c3..d4e5f6': the first and the last commit of the drift."""
        return (f"{short_commit(self.first.run.commit) or '?'}.."
                f"{short_commit(self.last.run.commit) or '?'}")

    @property
    def when(self) -> ResultRow:
        """The run that dates the event in the feed: the last run of the drift."""
        return self.last


Event = StepEvent | DriftEvent


@dataclass(frozen=True)
class Series:
    """The runs of one workload with one set of call arguments on one machine."""

    workload: str
    machine: Machine
    rows: tuple[ResultRow, ...]  # every stored result, oldest first (any status)
    points: tuple[Point, ...]  # the ok ones, oldest first
    latency: Detection | None  # change points of the median latency over ``points``
    memory: Detection | None  # of the peak memory (the most common view)
    events: tuple[Event, ...]  # steps and drifts of both
    arguments: Arguments = ()  # the call arguments outside the key (``series_arguments``)
    mark: str = ""  # those that differ from the workload's other series, in words

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None

    @property
    def label(self) -> str:
        """The workload, with its mark when the workload has several series."""
        return series_label(self.workload, self.mark)


def within_run_floor(rows: Sequence[ResultRow]) -> float:
    """The typical sampling error of a run's log median from its own per-call times: run
    medians cannot vary less than this from run to run, so the change-point detector
    never assumes less noise (a short series can show a deceptively small spread)."""
    errors = []
    for row in rows:
        if len(row.result.latency_values) >= 2:
            logs = [math.log(v) for v in row.result.latency_values]
            errors.append(math.sqrt(variance(logs) * median_variance(len(logs))))
    if not errors:
        return NOISE_FLOOR
    errors.sort()  # the upper median: one of the runs' own errors, never between two
    return max(NOISE_FLOOR, errors[len(errors) // 2])


def _point(row: ResultRow) -> Point:
    values = row.result.latency_values
    latency = median_uncertainty(values) if values else None
    return Point(row, latency, throughput_interval(latency, row.result.images_per_call or 1))


def library_changes(before: ResultRow, after: ResultRow) -> tuple[str, ...]:
    old, new = before.run.versions, after.run.versions
    return tuple(f"{name} {old.get(name)} -> {new.get(name)}" for name in VERSION_FIELDS
                 if old.get(name) != new.get(name))


def _events(metric: str, detection: Detection, rows: Sequence[ResultRow], workload: str,
            machine: Machine, mark: str) -> list[Event]:
    events: list[Event] = [
        StepEvent(workload, machine, metric, step, rows[step.index - 1], rows[step.index],
                  library_changes(rows[step.index - 1], rows[step.index]), mark)
        for step in detection.steps]
    events += [DriftEvent(workload, machine, metric, drift, rows[drift.start], rows[drift.end - 1],
                          library_changes(rows[drift.start], rows[drift.end - 1]), mark)
               for drift in detection.drifts]
    return events


def _workload_order(row: ResultRow) -> tuple:
    r = row.result
    return (r.scenario or "", r.model or "", r.dtype or "", r.num_inference_steps or 0,
            r.height or 0, r.width or 0, row.optimizations, r.world_size,
            r.batch_size or 0, r.num_images_per_prompt or 0, row.workload)


def _run_order(row: ResultRow) -> tuple[str, int]:
    return row.run.started_at, row.run.id


def build_series(rows: Sequence[ResultRow], setting: Setting = DEFAULT) -> list[Series]:
    """One series per (workload, call arguments, machine), in workload order, then
    arguments, then machine name. Results that differ in a call argument outside the key
    (``series_arguments``: a guidance scale of 1.0 does half the work of 5.0) are never
    one series: their levels would pass for noise or steps. ``setting``: the change-point
    detector's operating point (``bench.stats.changepoint.SETTINGS``)."""
    groups: dict[tuple[str, Arguments, str], list[ResultRow]] = defaultdict(list)
    for row in sorted(rows, key=_run_order):
        groups[(row.workload, row.arguments, row.run.machine.id)].append(row)
    marks = series_marks([(workload, arguments) for workload, arguments, _ in groups])
    series = []
    for (workload, arguments, _), members in groups.items():
        machine = members[0].run.machine
        mark = marks[(workload, arguments)]
        ok = [r for r in members if r.result.measured]
        points = tuple(_point(r) for r in ok)
        events: list[StepEvent] = []
        latency = None
        if ok:
            latency = detect([r.result.median_s for r in ok], setting,
                             noise_floor=within_run_floor(ok))
            events += _events(LATENCY, latency, ok, workload, machine, mark)
        memory = None
        budgets = {r.run.id: r.result.budget_memory() for r in ok}
        views = Counter(b[0] for b in budgets.values() if b and b[1] > 0)
        if views:
            view = views.most_common(1)[0][0]
            measured = [r for r in ok if budgets[r.run.id] and budgets[r.run.id][0] == view
                        and budgets[r.run.id][1] > 0]
            memory = detect([float(budgets[r.run.id][1]) for r in measured], setting,
                            noise_floor=MEMORY_NOISE_FLOOR)
            events += _events(MEMORY, memory, measured, workload, machine, mark)
        series.append(Series(workload, machine, tuple(members), points, latency, memory,
                             tuple(events), arguments, mark))
    return sorted(series, key=lambda s: (_workload_order(s.rows[0]), s.mark, s.machine.name))


def feed(series: Sequence[Series]) -> list[Event]:
    """Every step and drift, newest first (by the first run after a step, the last run of a
    drift); worse before better at the same time."""
    events = [e for s in series for e in s.events]
    return sorted(events, key=lambda e: (e.when.run.started_at, e.worse, e.when.run.id),
                  reverse=True)


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
    rows: tuple[tuple[str, dict[str, Cell]], ...]  # (series label, machine id -> cell)


def machines_of(series: Sequence[Series]) -> list[Machine]:
    """The machines with an ok result in any series, each once."""
    return list({s.machine.id: s.machine for s in series if s.latest is not None}.values())


def matching_machines(machines: Sequence[Machine], wanted: str) -> list[Machine]:
    """The machines whose id or name holds ``wanted`` (any case)."""
    return [m for m in machines if wanted.lower() in f"{m.id} {m.name}".lower()]


def _ratio(row: ResultRow, reference: ResultRow,
           confidence: float) -> tuple[float | None, float | None, float | None]:
    mine, ref = row.result, reference.result
    if not (mine.measured and ref.measured and mine.images_per_s and ref.images_per_s):
        return None, None, None
    ratio = mine.images_per_s / ref.images_per_s
    if len(mine.latency_values) < 2 or len(ref.latency_values) < 2:
        return ratio, None, None
    # images/s ratio = reference latency / this latency for the same workload
    shift = shift_interval([math.log(v) for v in ref.latency_values],
                           [math.log(v) for v in mine.latency_values], confidence)
    if shift.low is None:
        return ratio, None, None
    return ratio, math.exp(shift.low), math.exp(shift.high)


def hardware_table(series: Sequence[Series], reference: Machine | None = None,
                   confidence: float = 0.95) -> HardwareTable | None:
    """The latest ok result of every workload on every machine, with the ratio of its
    images/s to the reference machine's (default: the machine with the most results);
    None when no series has an ok result."""
    latest = [s for s in series if s.latest is not None]
    if not latest:
        return None
    machines = {s.machine.id: s.machine for s in latest}
    counts = Counter(s.machine.id for s in latest for _ in s.points)
    chosen = reference or min(machines.values(), key=lambda m: (-counts.get(m.id, 0), m.name))
    order = [chosen, *sorted((m for m in machines.values() if m.id != chosen.id),
                             key=lambda m: m.name)]
    table: dict[str, dict[str, Cell]] = {}
    for s in latest:
        table.setdefault(s.label, {})
    by_key = {(s.label, s.machine.id): s.latest for s in latest}
    for label, cells in table.items():
        ref_point = by_key.get((label, chosen.id))
        for machine in order:
            point = by_key.get((label, machine.id))
            if point is None:
                continue
            ratio = low = high = None
            if ref_point is not None and machine.id != chosen.id:
                ratio, low, high = _ratio(point.row, ref_point.row, confidence)
            cells[machine.id] = Cell(point.row, point.throughput, ratio, low, high)
    return HardwareTable(chosen, tuple(order), tuple(table.items()))
