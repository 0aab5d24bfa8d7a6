"""``sdxl-bench gate BASELINE CANDIDATE``: exit 1 when a workload regressed, for CI."""

from __future__ import annotations

import argparse
import sys

HELP = "fail (exit 1) when the candidate regressed against the baseline"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gate",
        help=HELP,
        description=(
            "Compare a candidate run with a baseline run (sdxl-bench run files or"
            " pytest-benchmark JSON). A slowdown counts only when it is statistically"
            " significant (Mann-Whitney U on the raw per-call times) and larger than"
            " --max-slowdown. Exit 0: nothing regressed; 1: regression; 2: usage error."
        ),
    )
    parser.add_argument("baseline", help="baseline run file or pytest-benchmark JSON")
    parser.add_argument("candidate", help="candidate run file or pytest-benchmark JSON")
    parser.add_argument(
        "--max-slowdown", default="5%", help="median latency increase allowed (default 5%%)"
    )
    parser.add_argument(
        "--max-memory-increase",
        default="10%",
        help="peak memory increase allowed, any view (default 10%%)",
    )
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="two-sided significance level (default 0.05)"
    )
    parser.add_argument(
        "--fail-on-speedup",
        action="store_true",
        help="also fail on a significant speedup beyond --max-slowdown (stale baseline)",
    )
    parser.add_argument(
        "--require-all",
        action="store_true",
        help="fail when a workload is missing on one side or cannot be tested",
    )
    return parser


def main(args: argparse.Namespace) -> int:
    from bench.analyse.gate import REGRESSED, Thresholds, exit_code, gate, parse_percent
    from bench.errors import UsageError
    from bench.present.tables import markdown_table, percent_change
    from bench.store.result_files import load_results

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    thresholds = Thresholds(
        max_slowdown=parse_percent(args.max_slowdown, "--max-slowdown"),
        max_memory_increase=parse_percent(args.max_memory_increase, "--max-memory-increase"),
        alpha=args.alpha,
        fail_on_speedup=args.fail_on_speedup,
        require_all=args.require_all,
    )
    baseline = load_results(args.baseline)
    candidate = load_results(args.candidate)
    for note in (*baseline.notes, *candidate.notes):
        print(f"note: {note}", file=sys.stderr)
    verdicts = gate(baseline, candidate, thresholds)

    def row(verdict):
        change = verdict.change
        p_value = None if change is None or change.test is None else f"{change.test.p_value:.2g}"
        memory = None
        if change is not None and change.memory_ratio:
            memory = percent_change(max(change.memory_ratio.values()))
        return [
            verdict.key,
            verdict.outcome + (" (fails)" if verdict.fails(thresholds) else ""),
            None if change is None else percent_change(change.latency_ratio),
            p_value,
            memory,
            "; ".join(verdict.reasons),
        ]

    headers = ["config", "verdict", "latency", "p", "memory (max)", "details"]
    print(
        f"gate: baseline {baseline.path} ({baseline.kind}) -> candidate {candidate.path}"
        f" ({candidate.kind}); max slowdown {thresholds.max_slowdown:.1%},"
        f" max memory increase {thresholds.max_memory_increase:.1%}, alpha {thresholds.alpha:g}"
    )
    print(markdown_table(headers, [row(v) for v in verdicts]))
    code = exit_code(verdicts, thresholds)
    failed = [v for v in verdicts if v.fails(thresholds)]
    if code:
        regressed = sum(v.outcome == REGRESSED for v in failed)
        print(f"\nFAIL: {len(failed)} of {len(verdicts)} config(s) failed ({regressed} regressed):")
        print(markdown_table(headers, [row(v) for v in failed]))
    else:
        print(f"\nPASS: no regression in {len(verdicts)} config(s)")
    return code
