"""Peak-memory changes judged against their own noise (the rule: docs/statistics.md).

A config's peak memory is nearly, not exactly, deterministic: allocator growth, page
granularity, what earlier configs left in the process and the load on the machine move it
by a few percent between identical runs. A change counts only when it is both larger than
the user's threshold and larger than the widest spread that identical measurements of
this config showed: the per-call peaks inside any run, and the run peaks of a side that
has several runs.

Judged on the process's own views; the device-wide NVML figure, which other processes on
the GPU move, only when no per-process view was measured on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.result import ConfigResult
from bench.stats.summary import median

# The process's own memory, in the order verdicts list them: device memory of this process
# (CUDA context included), torch's reservation and live tensors, then host RSS.
PROCESS_VIEWS = ("nvml_process_used", "torch_reserved", "torch_allocated", "process_rss")
DEVICE_VIEW = "nvml_device_used"  # the whole GPU: other processes count too

PER_CALL_SPREAD = "per-call spread"
RUN_SPREAD = "spread across runs"


def noise_percent(fraction: float) -> str:
    """'±0.9%', with one more digit below 0.1 % (per-call spreads of a few hundred KiB in
    a GiB are common and should not print as ±0.0%). (Presentation: kept here while
    ``bench.present.tables`` imports it from here.)"""
    return f"±{fraction:.2%}" if fraction < 0.001 else f"±{fraction:.1%}"


@dataclass(frozen=True)
class MemoryChange:
    """One view's peak-memory change of one config, with the noise it is weighed against."""

    view: str
    base: float  # typical peak of the baseline: the median of its runs' peaks (bytes)
    cand: float
    noise: float  # bytes: the widest spread of identical measurements (0: none measured)
    noise_source: str | None  # PER_CALL_SPREAD, RUN_SPREAD, or None when no spread is known
    runs: tuple[int, int]  # runs on each side
    limit: float  # the --max-memory-increase threshold, a fraction

    @property
    def increase(self) -> float:
        """Relative increase of the typical peak (0.1 = +10 %)."""
        return self.cand / self.base - 1

    @property
    def relative_noise(self) -> float:
        return self.noise / self.base

    @property
    def above_limit(self) -> bool:
        return self.increase > self.limit

    @property
    def beyond_noise(self) -> bool:
        return self.cand - self.base > self.noise

    @property
    def regressed(self) -> bool:
        """Larger than the threshold and than every spread identical measurements showed."""
        return self.above_limit and self.beyond_noise


def _spread(values: Sequence[float]) -> float:
    return max(values) - min(values) if len(values) > 1 else 0.0


def memory_noise(view: str, base: Sequence[ConfigResult], cand: Sequence[ConfigResult]
                 ) -> tuple[float, str | None]:
    """(bytes, source) of the widest spread identical measurements of ``view`` showed:
    per-call peaks within any run of either side, and run peaks within either side."""
    calls = [r.memory_per_call().get(view, ()) for r in (*base, *cand)]
    per_call = [_spread(values) for values in calls if len(values) > 1]
    across = [_spread([r.memory_bytes()[view] for r in side]) for side in (base, cand)
              if len(side) > 1]
    within, between = max(per_call, default=None), max(across, default=None)
    if within is None and between is None:
        return 0.0, None
    if between is not None and between > (within or 0):
        return between, RUN_SPREAD
    return within or 0.0, PER_CALL_SPREAD


def judged_views(base: Sequence[ConfigResult], cand: Sequence[ConfigResult]
                 ) -> tuple[list[str], bool]:
    """The views measured in every run of both sides, the process's own ones only when
    there are any; the bool says the device-wide view stands in for them."""
    def measured(view: str) -> bool:
        return all((r.memory_bytes()[view] or 0) > 0 for r in (*base, *cand))

    own = [view for view in PROCESS_VIEWS if measured(view)]
    if own:
        return own, False
    return ([DEVICE_VIEW], True) if measured(DEVICE_VIEW) else ([], False)


def memory_changes(base: Sequence[ConfigResult], cand: Sequence[ConfigResult], limit: float
                   ) -> tuple[list[MemoryChange], bool]:
    """Every judged view's change of one config, and whether the device-wide view stood
    in for the process's own (other processes on the GPU count too)."""
    views, device_wide = judged_views(base, cand)
    changes = []
    for view in views:
        noise, source = memory_noise(view, base, cand)
        changes.append(MemoryChange(
            view=view,
            base=median([r.memory_bytes()[view] for r in base]),
            cand=median([r.memory_bytes()[view] for r in cand]),
            noise=noise,
            noise_source=source,
            runs=(len(base), len(cand)),
            limit=limit,
        ))
    return changes, device_wide
