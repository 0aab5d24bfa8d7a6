"""What a gate tolerates: the thresholds every verdict rule reads (parsed from flags by
``bench.commands.threshold_options``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    max_slowdown: float = 0.05  # fraction: 0.05 = 5 % slower typical latency
    max_memory_increase: float = 0.10
    alpha: float = 0.01  # chance of any false alarm over the configs judged (Holm), per direction
    fail_on_speedup: bool = False
    require_all: bool = False  # configs missing on either side fail
    allow_missing: bool = False  # configs the candidate lacks pass (by default they fail)
    allow_inconclusive: bool = False  # inconclusive configs pass
    # Assumed coefficient of variation of a whole run's typical latency from run to run on
    # one machine: with one run per side the data cannot show it, and calls inside one
    # run share its drift. Only used for per-call samples.
    run_cv: float = 0.10

    @property
    def faster_ratio(self) -> float:
        """Ratio below which a change counts as a speedup: symmetric on the log scale."""
        return 1.0 / (1.0 + self.max_slowdown)

    @property
    def confidence(self) -> float:
        """Of the intervals verdicts state: two-sided 1 - alpha."""
        return 1 - self.alpha
