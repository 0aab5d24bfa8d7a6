"""CI performance gate: per config, did the candidate get slower, faster, or neither?

One skeleton for every baseline (docs/statistics.md, docs/history.md):

- ``thresholds``: ``Thresholds``, what a gate tolerates;
- ``effects``: the latency effect — two-sample (runs), paired (``ab``), history
  (Student's t on run medians) — with its interval and one-sided p-values;
- ``baselines``: what the candidate is judged against — ``RunsBaseline``,
  ``PairsBaseline``, ``HistoryBaseline`` (and the rules that choose the history window) —
  and the three gates ``gate``, ``ab_gate``, ``gate_history``;
- ``judge``: ``judge()``, the skeleton (status, memory, the baseline's effect, then Holm
  and the verdict rules over every config together), ``Verdict`` and ``exit_code``;
- ``reasons``: ``Outcome`` and the ``Code``-and-numbers reasons a verdict carries.

The sentences are ``bench.present.verdicts``'s; flags are parsed in
``bench.commands.threshold_options``.
"""

from bench.analyse.gate.baselines import (
    HistoryBaseline,
    HistoryVerdicts,
    PairsBaseline,
    RunsBaseline,
    ab_gate,
    candidate_machine,
    gate,
    gate_history,
    history_before,
    window,
)
from bench.analyse.gate.effects import (
    MIN_BASELINE_RUNS,
    Effect,
    Samples,
    difference_variance,
    drift_bound,
    history_effect,
    paired_effect,
    run_median,
    two_sample_effect,
)
from bench.analyse.gate.judge import (
    BLIND_RATIO,
    Comparison,
    Verdict,
    decide,
    exit_code,
    judge,
    power_shortfall,
)
from bench.analyse.gate.reasons import OUTCOMES, Code, Outcome, Reason
from bench.analyse.gate.thresholds import Thresholds

# Short names for the outcomes and kinds of samples.
REGRESSED, IMPROVED, UNCHANGED = Outcome.REGRESSED, Outcome.IMPROVED, Outcome.UNCHANGED
INCONCLUSIVE, MISSING = Outcome.INCONCLUSIVE, Outcome.MISSING
PER_CALL, PER_RUN, PER_ROUND = Samples.PER_CALL, Samples.PER_RUN, Samples.PER_ROUND
PAIRED, HISTORY = Samples.PAIRED, Samples.HISTORY

__all__ = [
    "BLIND_RATIO", "HISTORY", "IMPROVED", "INCONCLUSIVE", "MIN_BASELINE_RUNS",
    "MISSING", "OUTCOMES", "PAIRED", "PER_CALL", "PER_ROUND", "PER_RUN", "REGRESSED",
    "UNCHANGED", "Code", "Comparison", "Effect", "HistoryBaseline", "HistoryVerdicts",
    "Outcome", "PairsBaseline", "Reason", "RunsBaseline", "Samples", "Thresholds", "Verdict",
    "ab_gate", "candidate_machine", "decide", "difference_variance", "drift_bound",
    "exit_code", "gate", "gate_history", "history_before", "history_effect", "judge",
    "paired_effect", "power_shortfall", "run_median", "two_sample_effect", "window",
]
