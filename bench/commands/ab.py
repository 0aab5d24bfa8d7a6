"""``sdxl-bench ab``: baseline and candidate runs interleaved on one machine, judged on
the ratio within each pair — the gate for shared CI runners, whose load drifts between
runs more than calls vary inside one. The runs are ``bench.execute.ab``'s, the verdicts
``bench.analyse.gate.ab_gate``'s."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from bench.commands.threshold_options import add_threshold_flags, thresholds_from

HELP = "A/B gate: interleaved baseline and candidate runs, judged on paired ratios"
DEFAULT_PAIRS = 15


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "ab",
        help=HELP,
        description=(
            "Run `sdxl-bench run` for side A (baseline) and side B (candidate), each in a"
            " fresh process, interleaved A B, B A, A B, ... for --pairs pairs, writing every"
            " run file into --out. Per config, the ratio B/A of the two runs' medians in each"
            " pair is one sample: drift shared by neighbouring runs cancels. Verdicts as"
            " `gate` (exact one-sided Wilcoxon signed-rank on log ratios, Holm over configs,"
            " Hodges-Lehmann ratio with its interval); peak memory as `gate`, its noise"
            " including the spread across the A runs and across the B runs. Sweep flags"
            " after `--` go to every"
            " run. Exit 0: nothing failed; 1: regression or too few pairs; 2: usage error."
        ),
    )
    parser.add_argument("--a-model", metavar="MODEL", help="model (preset, hub id or folder) of side A")
    parser.add_argument("--b-model", metavar="MODEL", help="model of side B")
    parser.add_argument(
        "--a-command",
        metavar="CMD",
        help="command that runs sdxl-bench for side A, e.g. '../base/.venv/bin/sdxl-bench';"
        " `run --out FILE ...` is appended (default: this interpreter's `python -m bench`)",
    )
    parser.add_argument("--b-command", metavar="CMD", help="the same for side B")
    parser.add_argument(
        "--pairs", type=int, default=None,
        help=f"A/B pairs of runs (default {DEFAULT_PAIRS}; with --judge-only: every complete pair"
        " in --out)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the run files (new or empty)")
    parser.add_argument(
        "--judge-only", action="store_true",
        help="run nothing: judge the pair files already in --out (e.g. of an interrupted ab)",
    )
    add_threshold_flags(parser)
    parser.add_argument("sweep", nargs=argparse.REMAINDER, help="-- then sweep flags for every run")
    return parser


def _sweep(args: argparse.Namespace) -> list[str]:
    from bench.errors import UsageError

    sweep = list(args.sweep)
    if sweep and sweep[0] == "--":
        sweep = sweep[1:]
    elif sweep:
        raise UsageError(f"unknown ab argument {sweep[0]!r}: put sweep flags after `--`")
    for flag in ("--out", "--resume"):
        if any(item == flag or item.startswith(flag + "=") for item in sweep):
            raise UsageError(f"{flag} after `--` is not allowed: ab names every run file itself")
    if (args.a_model or args.b_model) and any(i == "--model" or i.startswith("--model=") for i in sweep):
        raise UsageError("--model after `--` clashes with --a-model/--b-model")
    return sweep


def _prefix(command: str | None, flag: str) -> list[str]:
    from bench.errors import UsageError

    if command is None:
        return [sys.executable, "-m", "bench"]
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"{flag} {command!r} cannot be split into words: {exc}") from None
    if not argv:
        raise UsageError(f"{flag} is empty")
    return argv


def _pairs_to_judge(args: argparse.Namespace) -> int:
    """--pairs, or every complete pair in --out (saying so when a pair is half done)."""
    from bench.errors import UsageError
    from bench.execute.ab import complete_pairs, half_pair, run_file

    if args.pairs:
        return args.pairs
    pairs = complete_pairs(args.out)
    if pairs == 0:
        raise UsageError(f"--out {args.out}: no complete pair of runs to judge (looked for"
                         f" {run_file(args.out, 1, 'a').name} and"
                         f" {run_file(args.out, 1, 'b').name})")
    if half_pair(args.out, pairs):
        print(f"note: pair {pairs + 1} has one side only (an interrupted ab?); judging pairs"
              f" 1–{pairs}", file=sys.stderr)
    return pairs


def _judge(out: Path, pairs: int, thresholds) -> int:
    from bench.analyse.gate import ab_gate, exit_code
    from bench.execute.ab import pair_files
    from bench.present.verdicts import AB_SIDES, pairs_heading, verdict_report
    from bench.store.result_files import load_results

    loaded = [(load_results(a), load_results(b)) for a, b in pair_files(out, pairs)]
    for note in (n for a, b in loaded for n in (*a.notes, *b.notes)):
        print(f"note: {note}", file=sys.stderr)
    verdicts = ab_gate(loaded, thresholds)
    print(verdict_report(verdicts, thresholds, pairs_heading(out, pairs, thresholds), AB_SIDES))
    return exit_code(verdicts, thresholds)


def _announce(index: int, total: int, pair: int, side: str, argv: list[str]) -> None:
    print(f"[{index}/{total}] pair {pair} side {side.upper()}: {shlex.join(argv)}", flush=True)


def main(args: argparse.Namespace) -> int:
    from bench.errors import UsageError
    from bench.execute.ab import run_pairs

    thresholds = thresholds_from(args)
    if args.pairs is not None and args.pairs < 1:
        raise UsageError(f"--pairs must be at least 1, got {args.pairs}")
    sweep = _sweep(args)
    out: Path = args.out
    if args.judge_only:
        return _judge(out, _pairs_to_judge(args), thresholds)
    pairs = args.pairs or DEFAULT_PAIRS
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out} exists and is not an empty folder: runs are never overwritten")
    commands = {"a": _prefix(args.a_command, "--a-command"),
                "b": _prefix(args.b_command, "--b-command")}
    run_pairs(out, pairs, commands, {"a": args.a_model, "b": args.b_model}, sweep, _announce)
    return _judge(out, pairs, thresholds)
