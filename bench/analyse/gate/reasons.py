"""What a verdict is and why: outcomes and reasons as codes with their numbers.

The rules (``judge``) decide with these; ``bench.present.verdicts`` writes the sentences.
A reason is a ``Code`` plus the numbers its sentence needs, so a test or another front
end can read *why* without parsing English.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bench.analyse.gate.effects import Effect
from bench.analyse.memory import MemoryChange
from bench.result import Status
from bench.stats.changepoint import Drift, Step
from bench.store.history import StoredRun


class Outcome(str, Enum):
    """A config's verdict (docs/statistics.md)."""

    REGRESSED = "regressed"  # significantly slower beyond the limit, more memory, or failing
    IMPROVED = "improved"  # significantly faster beyond the limit
    UNCHANGED = "unchanged"  # neither, by a test that could have fired
    INCONCLUSIVE = "inconclusive"  # the samples could not have shown a change
    MISSING = "missing"  # on one side only

    def __str__(self) -> str:
        return self.value


OUTCOMES = tuple(Outcome)


class Code(str, Enum):
    """Why: one code per kind of reason."""

    # the latency effect (``LatencyReason``)
    SLOWER = "slower"  # significant, beyond the limit (and beyond run-to-run drift)
    FASTER = "faster"
    LATENCY = "latency"  # the change, stated next to another reason
    WITHIN_LIMIT = "within limit"  # significant, but within the limit
    NOT_SIGNIFICANT = "not significant"
    WITHIN_DRIFT = "within drift"  # one run per side: within the assumed run-to-run drift
    UNSTABLE = "unstable"  # one run per side whose own stability check distrusts it
    TOO_FEW_SAMPLES = "too few samples"  # ``PowerReason``: the test could not have fired
    # nothing to test (``Reason``, ``CountReason``)
    NO_RAW_DATA = "no raw data"
    NO_LATENCY = "no latency"
    MIXED_SAMPLES = "mixed samples"  # per-round medians on one side, per-call on the other
    NO_PAIR = "no pair"  # no pair of runs measured the config on both sides
    NO_CANDIDATE_LATENCY = "no candidate latency"
    FEW_BASELINE_RUNS = "few baseline runs"
    NO_SPREAD = "no spread"
    # status (``StatusReason``)
    STATUS_FAILED = "status failed"
    STATUS_RECOVERED = "status recovered"
    NOT_MEASURED = "not measured"
    IMAGES_BROKEN = "images broken"  # ``ImagesReason``: NaN or black in the candidate only
    # memory (``MemoryReason``; DEVICE_WIDE_MEMORY a ``Reason``)
    MEMORY_GREW = "memory grew"
    MEMORY_WITHIN_NOISE = "memory within noise"
    DEVICE_WIDE_MEMORY = "device-wide memory"
    # notes
    ARGUMENT_DIFFERS = "argument differs"  # ``ArgumentReason``
    WINDOW_STEP = "window step"  # ``WindowStep``: the history window mixes two levels
    OUTLYING_RUNS = "outlying runs"  # ``OutlyingRuns``: runs of the window left out
    WINDOW_DRIFT = "window drift"  # ``WindowDrift``: the history drifts through the window
    REACH = "reach"  # ``ReachReason``: the smallest slowdown the history gate can flag
    BLIND = "blind"  # ``ReachReason``: not even a BLIND_RATIO slowdown could be flagged
    # missing (``Reason``)
    MISSING_IN_BASELINE = "missing in baseline"
    MISSING_IN_CANDIDATE = "missing in candidate"
    NOT_IN_HISTORY = "not in history"
    NOT_IN_SERIES = "not in series"  # ``SeriesReason``: stored, but with other call arguments

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Reason:
    """A reason without numbers (missing, nothing to test, device-wide memory)."""

    code: Code


@dataclass(frozen=True)
class LatencyReason(Reason):
    """What the latency effect showed, with what the rule compared it with."""

    effect: Effect
    p: float | None = None  # Holm-adjusted one-sided p in the reason's direction
    limit: float = 0.0  # --max-slowdown
    drift: float = 1.0  # WITHIN_DRIFT: the ratio run-to-run drift alone reaches
    run_cv: float = 0.0  # WITHIN_DRIFT: the run-to-run variation assumed
    unstable: tuple[tuple[str, tuple[str, ...]], ...] = ()  # UNSTABLE: (side, its reasons)
    fail_on_speedup: bool = False  # FASTER: the speedup fails the gate


@dataclass(frozen=True)
class PowerReason(Reason):
    """TOO_FEW_SAMPLES: even perfectly separated samples of these sizes miss Holm's first
    step alpha / configs."""

    effect: Effect
    alpha: float
    configs: int  # judged together (Holm)
    needed: int  # samples per side (or pairs) that could reach it

    @property
    def level(self) -> float:
        return self.alpha / max(self.configs, 1)


@dataclass(frozen=True)
class SideStatus:
    """How one side's runs of a config ended: the first failing status and how often."""

    status: Status
    failing: int  # runs that did not end ok
    runs: int


@dataclass(frozen=True)
class StatusReason(Reason):
    base: SideStatus
    cand: SideStatus


@dataclass(frozen=True)
class ImagesReason(Reason):
    """IMAGES_BROKEN: the candidate's images came out NaN or all black (in ``runs`` of its
    ``of`` runs) where the baseline's did not: unusable output, whatever its speed."""

    nan: int
    black: int
    runs: int
    of: int


@dataclass(frozen=True)
class MemoryReason(Reason):
    change: MemoryChange


@dataclass(frozen=True)
class ArgumentReason(Reason):
    """A call argument outside the matching key that differs between the sides."""

    name: str
    base: object
    cand: object


@dataclass(frozen=True)
class CountReason(Reason):
    """FEW_BASELINE_RUNS: ``count`` runs where ``needed`` are required."""

    count: int
    needed: int


@dataclass(frozen=True)
class WindowStep(Reason):
    """A change point inside the history window: the baseline mixes two levels."""

    step: Step
    at: StoredRun  # the first run after the step
    after: int  # runs of the window after the step


@dataclass(frozen=True)
class WindowDrift(Reason):
    """The series drifts through the history window: a slow change over many runs, which
    no one candidate's step explains; the window's mean lags the level."""

    drift: Drift
    since: StoredRun  # the first run of the drift
    inside: int  # runs of the window that drift


@dataclass(frozen=True)
class OutlyingRuns(Reason):
    """Runs of the history window whose medians lie far outside the others' spread
    (``bench.stats.outliers``): left out of the baseline, so that one bad night does not
    make every later verdict inconclusive."""

    runs: tuple[StoredRun, ...]
    ratios: tuple[float, ...]  # each one's median over the kept runs' (geometric) mean
    window: int  # runs in the window before they were left out
    alpha: float  # the level each passed (Bonferroni over the window)


@dataclass(frozen=True)
class SeriesReason(Reason):
    """NOT_IN_SERIES: the history has the workload, but only with other call arguments
    (a series of its own each: ``bench.store.history.series_arguments``)."""

    candidate: str  # the candidate's arguments that differ, in words
    stored: tuple[str, ...]  # those of each stored series, in words


@dataclass(frozen=True)
class ReachReason(Reason):
    """REACH: the smallest slowdown the gate flags at this noise; BLIND: that it is
    beyond ``ratio``, so an "unchanged" would be a claim the data cannot back."""

    reach: float  # ratio
    limit: float = 0.0  # --max-slowdown (REACH: the gate never flags less)
    ratio: float = 0.0  # BLIND: the slowdown it could not have flagged
