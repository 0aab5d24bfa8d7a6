"""``sdxl-bench compare RUN_A RUN_B...``: matched configs side by side, with significance."""

from __future__ import annotations

import argparse

HELP = "compare runs config by config (ratios, Mann-Whitney significance, memory)"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare",
        help=HELP,
        description=(
            "Match configs across runs (same scenario, model, dtype, batch size, images per"
            " prompt, steps, height, width) and compare every run with the first."
        ),
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="two or more run files")
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="two-sided significance level (default 0.05)"
    )
    parser.add_argument("--out", help="also write a comparison report to this folder")
    parser.add_argument(
        "--format", default="md,html", help="report formats with --out (default md,html)"
    )
    return parser


def main(args: argparse.Namespace) -> int:
    import sys

    from bench.analyse.compare import side_by_side, tests_per_call
    from bench.errors import UsageError
    from bench.present import document
    from bench.present.tables import markdown_table
    from bench.present.verdicts import COMPARE_NOTE, wrapped
    from bench.store.result_files import load_results

    if len(args.runs) < 2:
        raise UsageError("compare needs at least two runs")
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.out is not None:  # a bad --out or --format fails before any reading
        document.out_folder(args.out)
        document.parse_formats(args.format)
    sets = [load_results(path) for path in args.runs]
    for note in (note for result in sets for note in result.notes):
        print(f"note: {note}", file=sys.stderr)
    for index, result in enumerate(sets):
        print(f"{index + 1}: {result.path} ({result.kind}, {result.device_name or 'unknown'})")
    headers, rows = side_by_side(sets, args.alpha)
    print(markdown_table(headers, rows))
    caveat = COMPARE_NOTE if tests_per_call(sets) else None
    if caveat:
        print(f"\n{wrapped('note: ' + caveat)}")
    if args.out is not None:
        _write_report(args, sets, headers, rows, caveat)
    return 0


def _write_report(args, sets, headers, rows, caveat: str | None) -> None:
    from bench.present import document
    from bench.present.document import Heading, Paragraph, table
    from bench.present.report import environment_table, hardware_blocks, run_label

    runs = [result.run for result in sets if result.run is not None]
    blocks = [
        Paragraph(
            f"Every run compared with run 1. Significance: two-sided Mann-Whitney U on the"
            f" raw per-call latencies, alpha {args.alpha:g}."
        ),
        table(headers, rows),
        *([Paragraph(f"Note: {caveat}.")] if caveat else []),
        *hardware_blocks(runs),
    ]
    for index, run in enumerate(runs):
        blocks += [Heading(f"Environment of {run_label(run, index)}", 3), environment_table(run)]
    formats = document.parse_formats(args.format)
    out = document.out_folder(args.out)
    for path in document.write(out, "compare", "sdxl-bench comparison", blocks, formats):
        if path.suffix != ".png":
            print(path)
