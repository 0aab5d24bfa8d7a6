"""``sdxl-bench determinism``: check that seeds reproduce images, or compare two run files.

With no run files it runs the checks on the sweep given by the shared sweep flags and
writes ``"type": "determinism"`` records to a run file; with two run files it says which
images match across them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.commands.sweep_options import add_sweep_arguments, request_from_args
from bench.errors import UsageError


def register(subparsers) -> argparse.ArgumentParser:
    from bench.determinism.pixels import TOLERANCE_HELP

    parser = subparsers.add_parser(
        "determinism",
        help="check repeatability and batch invariance of seeded images; compare two runs",
        description="Run the determinism checks (repeatability, batch invariance, the shared-"
        "generator pitfall, generator device and count, NaN/black images) on every config of a"
        " sweep, or with two run files A B: say which images matched exactly, which within"
        " the tolerance, and which did not. Each check makes the calls it needs, so --warmup"
        " and --repeats are not flags here.",
    )
    parser.add_argument("runs", nargs="*", metavar="RUN_FILE",
                        help="two run files to compare image by image (no checks are run)")
    add_sweep_arguments(parser, timed=False)
    parser.add_argument("--tolerance", type=float, default=None, metavar="X",
                        help=TOLERANCE_HELP + "; for batch invariance and within-tolerance matches")
    parser.add_argument("--strict", action="store_true",
                        help="run the checks in a fresh process with deterministic algorithms"
                        " (CUBLAS_WORKSPACE_CONFIG, torch.use_deterministic_algorithms, cudnn)")
    parser.add_argument("--save-images", default=None, metavar="DIR",
                        help="save every checked config's images as PNG with a manifest.json")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="run file (default: reports/runs/<time>_determinism-<scenario>_"
                        "<model>_<device>.jsonl)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --out file (by default it is refused)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _check_tolerance(tolerance: float | None) -> None:
    if tolerance is not None and not 0.0 <= tolerance <= 1.0:
        raise UsageError(f"--tolerance {tolerance}: must be between 0 and 1 (full scale)")


def main(args: argparse.Namespace) -> int:
    _check_tolerance(args.tolerance)
    if args.runs:
        if len(args.runs) != 2:
            raise UsageError(f"determinism takes two run files to compare, got {len(args.runs)}:"
                             f" {' '.join(args.runs)}")
        return compare_runs(args)
    from bench.determinism import strict
    from bench.execute.output import check_out
    from bench.execute.session import prepare_plan

    request = request_from_args(args)
    prepare_plan(request)  # validate every flag before loading anything
    if args.save_images is not None and not args.save_images.strip():
        raise UsageError("--save-images '': give a folder, or leave --save-images out")
    check_out(args.out, force=args.force, resumable=False)
    if args.strict and not strict.in_strict_child():
        return strict.relaunch(sys.argv[1:])
    return run_checks(args, request)


def compare_runs(args: argparse.Namespace) -> int:
    from bench.determinism.crossrun import compare
    from bench.present.console import results_console
    from bench.present.determinism import match_summary, match_table
    from bench.store.run_file import read_run

    first, second = (read_run(path) for path in args.runs)
    result = compare(first, second, args.tolerance)
    out = results_console()
    out.print(match_table(result, title=f"images of {first.path} vs {second.path}"))
    for line in match_summary(result):
        out.print(line)
    return 1 if result.mismatched else 0


def run_checks(args: argparse.Namespace, request) -> int:
    from bench.determinism import strict

    settings = strict.apply() if strict.in_strict_child() else None
    from bench.execute.output import check_writable, default_out
    from bench.execute.session import load_inputs, prepare_plan
    from bench.measure.device import resolve_device

    device = resolve_device(request.options.device)
    plan = prepare_plan(request, device)
    out = Path(args.out) if args.out else default_out(
        f"determinism_{plan.scenario.name}", plan.model.name, device)
    check_writable(out)
    images = load_inputs(plan)  # unreadable images are refused before any file is made
    return _check(args, request, plan, out, settings, images)


def _check(args: argparse.Namespace, request, plan, out: Path, settings: dict | None,
           images: tuple) -> int:
    """The checks, written to the run file, then their table."""
    from bench.determinism import strict
    from bench.determinism.checks import CheckExecutor, CheckSession
    from bench.determinism.manifest import check_images_dir
    from bench.determinism.pixels import DEFAULT_TOLERANCES
    from bench.execute.job import RunJob, run_job
    from bench.execute.session import open_session
    from bench.present.console import progress_bar, results_console
    from bench.present.determinism import explanations, run_wide_lines, summary_line, verdict_table

    device = plan.configs[0].device
    images_dir = check_images_dir(args.save_images) if args.save_images else None
    settings = settings or strict.settings()
    checks: list = []  # the executor, once made: its results are the checks' outcomes

    def executor(session, saver):
        checks.append(CheckExecutor(
            CheckSession(session.pipes, plan.prompts, session.images, args.tolerance,
                         on_images=saver.record_fields if saver else None),
            strict=settings["strict"]))
        return checks[0]

    def footer(written: list) -> dict:
        return {"checks": len(checks[0].results), "failed": sum(r.failed for r in checks[0].results)}

    job = RunJob(plan, out, ["sdxl-bench", *sys.argv[1:]],
                 header={"mode": "determinism", "tolerance": args.tolerance,
                         "default_tolerances": DEFAULT_TOLERANCES, "determinism": settings,
                         "images_dir": None},
                 images_dir=images_dir, footer=footer, skip_after_oom=False, annotate=False)

    def session():
        return open_session(plan, request, images=images)

    def per_config(item) -> bool:  # one step per config: its first check, or its failure
        return not isinstance(item, dict) or item.get("check") in ("run", "repeatability")

    if args.quiet:
        outcome = run_job(job, session, executor)
    else:
        with progress_bar(len(plan.configs)) as progress:
            task = progress.add_task(f"determinism · {plan.scenario.name} on {device}",
                                     total=len(plan.configs))
            outcome = run_job(job, session, executor,
                              on_result=lambda item: progress.advance(task) if per_config(item)
                              else None)
    results = checks[0].results
    out_console = results_console()
    mode = " · strict" if settings["strict"] else ""
    dtypes = ", ".join(dict.fromkeys(c.dtype for c in plan.configs))
    out_console.print(verdict_table(results, title=f"determinism · {plan.scenario.name} ·"
                                    f" {plan.model.name} · {outcome.session.env['device_name']}"
                                    f" · {dtypes}{mode}"))
    for line in run_wide_lines(results):
        out_console.print(line)
    for line in explanations(results):
        out_console.print(line, markup=False)
    out_console.print(summary_line(results))
    if images_dir:
        out_console.print(f"images: {images_dir} (manifest.json)")
    out_console.print(f"run file: {out}")
    if outcome.code:
        print(f"sdxl-bench: interrupted; the checks finished so far are in {out}", file=sys.stderr)
        return outcome.code
    return 1 if any(r.failed for r in results) else 0
