"""``sdxl-bench report RUN_FILE...``: Markdown and self-contained HTML reports."""

from __future__ import annotations

import argparse
import sys

HELP = "write Markdown/HTML reports with tables, plots and a recommendation"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        help=HELP,
        description=(
            "Summarize run files: a table per config, plots (throughput, latency, memory,"
            " Pareto frontier, stages), the environment of each run and a recommendation"
            " for the given latency/memory budget. The HTML embeds its plots."
        ),
    )
    parser.add_argument("runs", nargs="+", metavar="RUN_FILE", help="sdxl-bench run file(s)")
    parser.add_argument(
        "--out", default="reports", help="output folder (default reports)"
    )
    parser.add_argument(
        "--format", default="md,html", help="comma list of md, html (default md,html)"
    )
    parser.add_argument(
        "--max-latency",
        type=float,
        metavar="SECONDS",
        help="latency budget per call (p90) for the recommendation",
    )
    parser.add_argument(
        "--max-memory", type=float, metavar="GIB", help="peak memory budget for the recommendation"
    )
    parser.add_argument("--title", default="sdxl-bench report", help="report title")
    return parser


def main(args: argparse.Namespace) -> int:
    import warnings

    from bench.analyse.recommend import Budget
    from bench.errors import UsageError
    from bench.present import document
    from bench.present.report import report_blocks
    from bench.store.run_file import read_run

    formats = document.parse_formats(args.format)
    out = document.out_folder(args.out)
    for flag, value in (("--max-latency", args.max_latency), ("--max-memory", args.max_memory)):
        if value is not None and not value > 0:
            raise UsageError(f"{flag} must be a positive number, got {value}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # read_run keeps its notes on Run.warnings
        runs = [read_run(path) for path in args.runs]
    for run in runs:  # the report carries them too; a terminal user must see them now
        for note in run.warnings:
            print(f"sdxl-bench: warning: {note}", file=sys.stderr)
    blocks = report_blocks(runs, Budget(args.max_latency, args.max_memory))
    for path in document.write(out, "report", args.title, blocks, formats):
        if path.suffix != ".png":
            print(path)
    return 0
