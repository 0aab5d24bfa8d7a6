"""``sdxl-bench gate BASELINE CANDIDATE``: exit 1 when a config regressed, for CI.

With ``--history STORE`` the baseline is the candidate machine's stored runs
(``bench.analyse.gate.HistoryBaseline``); otherwise baseline and candidate run files.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bench.commands.threshold_options import add_threshold_flags, thresholds_from

if TYPE_CHECKING:
    from bench.analyse.gate import Thresholds

HELP = "fail (exit 1) when the candidate regressed against the baseline"
DEFAULT_LAST = 10  # --history: baseline runs per config


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gate",
        help=HELP,
        description=(
            "Compare candidate runs with baseline runs (sdxl-bench run files or"
            " pytest-benchmark JSON): per config regressed, improved, unchanged or"
            " inconclusive. Regressed = significantly slower (one-sided exact Mann-Whitney,"
            " Holm-corrected over the configs) and the estimated slowdown beyond"
            " --max-slowdown. With several runs on either side (--baseline A B C"
            " --candidate X Y Z, or X alone) each run's median is one sample. Exit 0:"
            " nothing failed; 1: regression, too few samples to judge (unless"
            " --allow-inconclusive), or a config of the baseline missing in the candidate"
            " (unless --allow-missing); 2: usage error."
            " With --history STORE the baseline is the machine's last --last stored runs"
            " (gate --history STORE --last K CANDIDATE...; docs/history.md)."
            " See docs/statistics.md."
        ),
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="BASELINE CANDIDATE (one run file each)"
    )
    parser.add_argument("--baseline", nargs="+", metavar="RUN", help="several baseline runs")
    parser.add_argument("--candidate", nargs="+", metavar="RUN", help="several candidate runs")
    parser.add_argument("--history", metavar="STORE", help="baseline: the last --last runs of the"
                        " candidate's machine in this history store (docs/history.md)")
    parser.add_argument("--last", type=int, metavar="K",
                        help=f"with --history: baseline runs per config (default {DEFAULT_LAST})")
    parser.add_argument("--machine", metavar="NAME", help="with --history: the machine name"
                        " given to `history add --machine` (default: the fingerprint)")
    add_threshold_flags(parser)
    return parser


def _sides(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    from bench.errors import UsageError

    if args.baseline or args.candidate:
        if args.files:
            raise UsageError(
                f"give runs either as BASELINE CANDIDATE or with --baseline/--candidate,"
                f" not both (extra: {' '.join(args.files)})"
            )
        if not args.baseline or not args.candidate:
            missing = "--candidate" if args.baseline else "--baseline"
            raise UsageError(f"{missing} is missing: gate needs runs on both sides")
        return list(args.baseline), list(args.candidate)
    if len(args.files) != 2:
        raise UsageError(
            f"gate takes BASELINE CANDIDATE (got {len(args.files)} file(s)); for several runs"
            " per side use --baseline A B C --candidate X Y Z"
        )
    return [args.files[0]], [args.files[1]]


def _load(paths: list[str]) -> list:
    """Each file read, its notes (a torn line, a missing footer) on stderr."""
    from bench.store.result_files import load_results

    sets = [load_results(path) for path in paths]
    for note in (note for result in sets for note in result.notes):
        print(f"note: {note}", file=sys.stderr)
    return sets


def main(args: argparse.Namespace) -> int:
    from bench.analyse.gate import exit_code, gate
    from bench.present.verdicts import runs_heading, verdict_report

    thresholds = thresholds_from(args)
    if args.history or args.last is not None or args.machine:
        return _gate_history(args, thresholds)
    base_paths, cand_paths = _sides(args)
    baseline, candidate = _load(base_paths), _load(cand_paths)
    verdicts = gate(baseline, candidate, thresholds)
    print(verdict_report(verdicts, thresholds, runs_heading(baseline, candidate, thresholds)))
    return exit_code(verdicts, thresholds)


def _gate_history(args: argparse.Namespace, thresholds: Thresholds) -> int:
    """``gate --history STORE --last K CANDIDATE...``."""
    from bench.analyse.gate import (
        MIN_BASELINE_RUNS,
        candidate_machine,
        exit_code,
        gate_history,
        history_before,
    )
    from bench.errors import UsageError
    from bench.present.verdicts import history_heading, verdict_report
    from bench.store.history import open_store

    if not args.history:
        raise UsageError("--last and --machine go with --history STORE")
    if args.baseline:
        raise UsageError("--history is the baseline: give only candidate runs (no --baseline)")
    last = DEFAULT_LAST if args.last is None else args.last
    if last < MIN_BASELINE_RUNS:
        raise UsageError(f"--last must be >= {MIN_BASELINE_RUNS} (the spread between runs"
                         f" needs at least two), got {last}")
    paths = [*(args.files or []), *(args.candidate or [])]
    if not paths:
        raise UsageError("gate --history needs at least one candidate run file")
    candidates = _load(paths)
    machine = candidate_machine(candidates, args.machine)
    with open_store(args.history, flag="--history") as store:
        history = history_before(store.rows(machine_id=machine.id), candidates)
        known = store.machines()
    if not history:
        listed = "; ".join(f"{m.name} [{m.id}]" for m in known) or "none"
        raise UsageError(
            f"no run of machine {machine.name} [{machine.id}] before the candidate in"
            f" {args.history} (machines stored: {listed}); add main-branch runs measured on"
            " this machine first, or name the machine with --machine as `history add"
            " --machine` did")
    result = gate_history(history, candidates, thresholds, last)
    heading = history_heading(args.history, machine, last, result.baseline, result.ignored,
                              paths, thresholds)
    print(verdict_report(result.verdicts, thresholds, heading))
    return exit_code(result.verdicts, thresholds)
