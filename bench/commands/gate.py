"""``sdxl-bench gate BASELINE CANDIDATE``: exit 1 when a config regressed, for CI."""

from __future__ import annotations

import argparse
import sys

HELP = "fail (exit 1) when the candidate regressed against the baseline"


def add_threshold_flags(parser: argparse.ArgumentParser) -> None:
    """The verdict flags ``gate`` and ``ab`` share."""
    parser.add_argument(
        "--max-slowdown", default="5%", help="typical latency increase allowed (default 5%%)"
    )
    parser.add_argument(
        "--max-memory-increase",
        default="10%",
        help="peak memory increase allowed, per view of the process's own memory; it must"
        " also exceed the noise identical measurements show (default 10%%)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.01,
        help="chance of any false alarm over all configs (Holm), one-sided (default 0.01)",
    )
    parser.add_argument(
        "--run-cv",
        default="10%",
        help="run-to-run variation assumed when each side is one run (the data cannot show"
        " it): only changes beyond what it explains count, and none from a run its stability check"
        " marked unstable (default 10%%; 0 trusts the calls)",
    )
    parser.add_argument(
        "--fail-on-speedup",
        action="store_true",
        help="also fail on a significant speedup beyond --max-slowdown (stale baseline)",
    )
    parser.add_argument(
        "--require-all",
        action="store_true",
        help="fail when a config is missing on one side",
    )
    parser.add_argument(
        "--allow-inconclusive",
        action="store_true",
        help="pass configs the samples are too few to judge (default: they fail)",
    )


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gate",
        help=HELP,
        description=(
            "Compare candidate runs with baseline runs (sdxl-bench run files or"
            " pytest-benchmark JSON): per config regressed, improved, unchanged or"
            " inconclusive. Regressed = significantly slower (one-sided exact Mann-Whitney,"
            " Holm-corrected over the configs) and the estimated slowdown beyond"
            " --max-slowdown. With several runs per side (--baseline A B C --candidate X Y"
            " Z) each run's median is one sample. Exit 0: nothing failed; 1: regression,"
            " or too few samples to judge (unless --allow-inconclusive); 2: usage error."
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
                        help="with --history: baseline runs per config (default 10)")
    parser.add_argument("--machine", metavar="NAME", help="with --history: the machine name"
                        " given to `history add --machine` (default: the fingerprint)")
    add_threshold_flags(parser)
    return parser


def thresholds_from(args: argparse.Namespace):
    from bench.analyse.gate import Thresholds, parse_percent
    from bench.errors import UsageError

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    return Thresholds(
        max_slowdown=parse_percent(args.max_slowdown, "--max-slowdown"),
        max_memory_increase=parse_percent(args.max_memory_increase, "--max-memory-increase"),
        alpha=args.alpha,
        run_cv=parse_percent(args.run_cv, "--run-cv"),
        fail_on_speedup=args.fail_on_speedup,
        require_all=args.require_all,
        allow_inconclusive=args.allow_inconclusive,
    )


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


def print_verdicts(verdicts, thresholds, heading: str) -> int:
    """The verdict table, the failing configs again, and the exit code."""
    from bench.analyse.gate import (
        MEMORY_NOTE,
        OUTCOMES,
        WITHIN_RUN_NOTE,
        exit_code,
        uses_within_run_samples,
    )
    from bench.present.tables import effect_row, markdown_table

    headers = ["config", "verdict", "latency change", f"{1 - thresholds.alpha:.0%} CI",
               "samples", "Holm p", "memory change ± noise", "details"]
    rows = [effect_row(v, thresholds) for v in verdicts]
    print(heading)
    print(markdown_table(headers, rows))
    if uses_within_run_samples(verdicts):
        print(f"\nnote: {WITHIN_RUN_NOTE}")
    if any(v.memory for v in verdicts):
        print(f"\n{MEMORY_NOTE}")
    counts = ", ".join(
        f"{sum(v.outcome == o for v in verdicts)} {o}" for o in OUTCOMES
        if any(v.outcome == o for v in verdicts)
    )
    code = exit_code(verdicts, thresholds)
    failed = [v for v in verdicts if v.fails(thresholds)]
    if code:
        print(f"\nFAIL: {len(failed)} of {len(verdicts)} config(s) failed ({counts}):")
        print(markdown_table(headers, [effect_row(v, thresholds) for v in failed]))
        if any(v.outcome == "inconclusive" for v in failed):
            print("inconclusive configs fail: add runs, rounds (run --rounds) or calls, or pass"
                  " --allow-inconclusive")
    else:
        print(f"\nPASS: no regression in {len(verdicts)} config(s) ({counts})")
    return code


def main(args: argparse.Namespace) -> int:
    from bench.analyse.gate import gate
    from bench.store.result_files import load_results

    thresholds = thresholds_from(args)
    if args.history or args.last is not None or args.machine:
        from bench.commands.history import gate_against_history

        return gate_against_history(args, thresholds)
    base_paths, cand_paths = _sides(args)
    baseline = [load_results(path) for path in base_paths]
    candidate = [load_results(path) for path in cand_paths]
    for note in (note for result in (*baseline, *candidate) for note in result.notes):
        print(f"note: {note}", file=sys.stderr)
    verdicts = gate(baseline, candidate, thresholds)

    def side(sets):
        kinds = sorted({s.kind for s in sets})
        return f"{', '.join(str(s.path) for s in sets)} ({', '.join(kinds)})"

    heading = (
        f"gate: baseline {side(baseline)} -> candidate {side(candidate)};"
        f" {len(baseline)} vs {len(candidate)} run(s), max slowdown {thresholds.max_slowdown:.1%},"
        f" max memory increase {thresholds.max_memory_increase:.1%}, alpha {thresholds.alpha:g}"
        f" (one-sided, Holm over configs)"
    )
    return print_verdicts(verdicts, thresholds, heading)
