"""``sdxl-bench history add|show|report|export``: the results store (docs/history.md).

Gating against the store is ``gate --history STORE`` (bench/commands/gate.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "keep runs in a results store: add, show trends, report a dashboard, export"


def _store_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", type=Path, metavar="PATH",
        help="the SQLite store (default $SDXL_BENCH_HISTORY, else"
             " ~/.local/share/sdxl-bench/history.sqlite)")


def _filter_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="TEXT",
                        help="only workloads whose key holds every word of TEXT (e.g. 'bs2 n1';"
                             " numbers are whole: bs1 is not bs16)")
    parser.add_argument("--machine", metavar="TEXT", help="only machines whose id or name holds TEXT")
    parser.add_argument("--since", metavar="DATE", help="only runs started on or after DATE")
    parser.add_argument("--until", metavar="DATE", help="only runs started on or before DATE")


def _change_points_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--change-points", choices=("strict", "balanced", "sensitive"), default="balanced",
        help="the change-point detector's operating point (default: balanced): strict shows"
             " fewer false change points and needs larger steps, sensitive finds smaller steps"
             " and shows more false ones; docs/history.md has the measured rates of each")


def _debug(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for errors")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "history",
        help=HELP,
        description=(
            "A results store across commits and machines: one SQLite file. `add` ingests run"
            " files; `show` prints each workload's series per machine with change points;"
            " `report` writes a static HTML dashboard; `export` writes CSV or Parquet."
            " Gate against it with `sdxl-bench gate --history STORE --last K CANDIDATE`."
            " See docs/history.md."
        ),
    )
    commands = parser.add_subparsers(dest="history_command", metavar="SUBCOMMAND")

    add = commands.add_parser(
        "add", help="ingest run files (a run already stored is left alone)",
        description=(
            "Store finished run files, one transaction each: a torn, unfinished, empty or"
            " foreign file is refused with the reason and changes nothing; the others are"
            " still added. Exit 0 when every file was stored or already present, 2 when"
            " any was refused."))
    add.add_argument("runs", nargs="+", metavar="RUN_FILE", help="sdxl-bench run file(s)")
    _store_flag(add)
    add.add_argument("--commit", help="the commit measured (default: the run header's git_commit)")
    add.add_argument("--label", help="a label for these runs (a branch, a PR, a version)")
    add.add_argument("--machine", metavar="NAME",
                     help="name the machine instead of fingerprinting it (device, driver, CPU,"
                          " host): for CI runners whose host name changes every job")

    show = commands.add_parser(
        "show", help="per workload and machine, the runs newest first with change points",
        description="Per workload and machine: images/s, median latency and peak memory of"
                    " every stored run with their intervals, newest first, and the change"
                    " points found in the series.")
    _store_flag(show)
    _filter_flags(show)
    show.add_argument("--last", type=int, metavar="N", help="show the N newest runs of each series")
    _change_points_flag(show)

    report = commands.add_parser(
        "report", help="write a static, self-contained HTML dashboard",
        description="A static HTML dashboard (one file, plots embedded): regression feed,"
                    " hardware table, one trend plot per workload and machine.")
    report.add_argument("--out", type=Path, required=True, help="output folder (index.html)")
    _store_flag(report)
    _filter_flags(report)
    report.add_argument("--reference", metavar="MACHINE",
                        help="machine (id or part of its name) the hardware table divides by"
                             " (default: the one with the most results)")
    report.add_argument("--title", default="sdxl-bench performance history")
    _change_points_flag(report)

    export = commands.add_parser(
        "export", help="write the stored results as CSV or Parquet (for pandas)",
        description="One row per run and workload. The format follows --out's suffix"
                    " (.csv, .parquet) unless --format says; Parquet needs pyarrow.")
    export.add_argument("--out", type=Path, required=True, help="FILE.csv or FILE.parquet")
    export.add_argument("--format", choices=("csv", "parquet"))
    _store_flag(export)
    _filter_flags(export)
    for sub in (add, show, report, export):
        _debug(sub)
    return parser


def main(args: argparse.Namespace) -> int:
    from bench.errors import UsageError

    handlers = {"add": _add, "show": _show, "report": _report, "export": _export}
    if args.history_command not in handlers:
        raise UsageError("history needs a subcommand: add, show, report or export"
                         " (see sdxl-bench history --help)")
    return handlers[args.history_command](args)


def _query(args: argparse.Namespace):
    from bench.store.history import Query

    return Query(workload=args.config, machine=args.machine, since=args.since, until=args.until)


def _add(args: argparse.Namespace) -> int:
    """Each file read first: the store is opened (and created) only for a file it can
    take, so a mistyped path never leaves an empty store behind. A problem of the store
    itself (locked, damaged) stops the command; a problem of one file refuses that file."""
    from bench.errors import UsageError
    from bench.store.history import NotTimed, StoreError, default_store_path, open_store, read_finished_run

    refused = skipped = 0
    store = None
    try:
        for path in args.runs:
            try:
                run = read_finished_run(path)
                if store is None:
                    store = open_store(args.store, create=True)
                print(store.add_run(run, commit=args.commit, label=args.label,
                                    machine_name=args.machine).text())
            except StoreError:
                raise
            except NotTimed as exc:
                skipped += 1
                print(f"sdxl-bench: note: {exc}", file=sys.stderr)
            except UsageError as exc:
                refused += 1
                print(f"sdxl-bench: refused: {exc}", file=sys.stderr)
        total = store.run_count() if store is not None else 0
    finally:
        if store is not None:
            store.close()
    added = len(args.runs) - refused - skipped
    tail = (f", {skipped} skipped (not timed runs)" if skipped else "") + (
        f", {refused} refused (nothing of them stored)" if refused else "")
    if store is None:
        print(f"{args.store or default_store_path()}: no store created: nothing to store in"
              f" {len(args.runs)} file(s){tail}")
    else:
        print(f"{store.path}: {total} run(s) stored; {added} of {len(args.runs)} file(s) added"
              f" or already present{tail}")
    return 2 if refused else 0


def _load(args: argparse.Namespace):
    from bench.analyse.trends import build_series
    from bench.errors import UsageError
    from bench.stats.changepoint import SETTINGS
    from bench.store.history import open_store

    with open_store(args.store) as store:
        rows = store.rows(_query(args))
        runs = len({r.run.id for r in rows})
        path = store.path
    if not rows:
        raise UsageError(f"no stored result in {path} matches the filters")
    return build_series(rows, SETTINGS[args.change_points]), runs, path


def _show(args: argparse.Namespace) -> int:
    from bench.errors import UsageError
    from bench.present.history_dashboard import (
        SHOW_HEADERS,
        series_summary,
        series_title,
        setting_text,
        show_rows,
    )
    from bench.present.tables import markdown_table
    from bench.stats.changepoint import SETTINGS

    if args.last is not None and args.last < 1:
        raise UsageError(f"--last must be >= 1, got {args.last}")
    series, runs, path = _load(args)
    print(f"{path}: {runs} run(s), {len(series)} series (workload x call arguments x machine);"
          " newest first")
    print(setting_text(SETTINGS[args.change_points]))
    for s in series:
        print(f"\n## {series_title(s)}\n{series_summary(s)}")
        print(markdown_table(SHOW_HEADERS, show_rows(s, args.last)))
    return 0


def _reference(series, wanted: str | None):
    """The machine ``--reference`` names (None: the table's default)."""
    from bench.analyse.trends import machines_of, matching_machines
    from bench.errors import UsageError

    machines = machines_of(series)
    if not wanted or not machines:  # no ok result: no hardware table to refer to
        return None
    found = matching_machines(machines, wanted)
    if len(found) != 1:
        listed = "; ".join(f"{m.name} [{m.id}]" for m in machines)
        raise UsageError(f"--reference {wanted!r} matches {len(found)} machines; the"
                         f" machines are: {listed}")
    return found[0]


def _report(args: argparse.Namespace) -> int:
    from bench.analyse.trends import hardware_table
    from bench.present import document
    from bench.present.history_dashboard import dashboard_blocks
    from bench.stats.changepoint import SETTINGS

    series, runs, path = _load(args)
    hardware = hardware_table(series, _reference(series, args.reference))
    blocks = dashboard_blocks(series, hardware, path, runs, SETTINGS[args.change_points])
    print(_write_dashboard(args.out, document.to_html(args.title, blocks)))
    return 0


def _write_dashboard(folder: Path, html: str) -> Path:
    """``folder/index.html`` written whole or not at all (a full disk keeps the previous
    dashboard); a folder made here for it is removed again when the write fails."""
    from bench.errors import UsageError
    from bench.store.atomic import write_text_atomic

    out = folder / "index.html"
    made = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out, html)
    except OSError as exc:
        if made:
            try:
                folder.rmdir()
            except OSError:
                pass
        raise UsageError(f"cannot write the dashboard {out}: {exc.strerror or exc}") from None
    return out


def _export(args: argparse.Namespace) -> int:
    from bench.errors import UsageError
    from bench.store.history import open_store, write_csv, write_parquet

    kind = args.format or args.out.suffix.lower().lstrip(".")
    if kind not in ("csv", "parquet"):
        raise UsageError(f"cannot tell the format of {args.out}: name it .csv or .parquet,"
                         " or pass --format csv|parquet")
    with open_store(args.store) as store:
        rows = store.rows(_query(args))
    if kind == "parquet":
        write_parquet(rows, args.out)
    else:
        write_csv(rows, args.out)
    print(f"{args.out}: {len(rows)} row(s), one per stored run and workload")
    return 0
