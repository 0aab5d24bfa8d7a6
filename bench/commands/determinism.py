"""``sdxl-bench determinism``: check that seeds reproduce images, or compare two run files.

With no run files it runs the checks on the sweep given by the shared sweep flags and
writes ``"type": "determinism"`` records to a run file; with two run files it says which
images match across them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.commands.sweep_options import add_sweep_arguments, plan_from_args
from bench.errors import UsageError


def register(subparsers) -> argparse.ArgumentParser:
    from bench.determinism.pixels import TOLERANCE_HELP

    parser = subparsers.add_parser(
        "determinism",
        help="check repeatability and batch invariance of seeded images; compare two runs",
        description="Run the determinism checks (repeatability, batch invariance, the shared-"
        "generator pitfall, generator device and count, NaN/black images) on every config of a"
        " sweep, or with two run files A B: say which images matched exactly, which within"
        " the tolerance, and which did not. --warmup and --repeats are not used here.",
    )
    parser.add_argument("runs", nargs="*", metavar="RUN_FILE",
                        help="two run files to compare image by image (no checks are run)")
    add_sweep_arguments(parser)
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

    plan_from_args(args, device=args.device)  # validate every flag before importing torch
    if args.strict and not strict.in_strict_child():
        return strict.relaunch(sys.argv[1:])
    return run_checks(args)


def compare_runs(args: argparse.Namespace) -> int:
    from bench.determinism.crossrun import compare, match_table, summary
    from bench.present.console import console
    from bench.store.run_file import read_run

    first, second = (read_run(path) for path in args.runs)
    result = compare(first, second, args.tolerance)
    out = console()
    out.print(match_table(result, title=f"images of {first.path} vs {second.path}"))
    for line in summary(result):
        out.print(line)
    return 1 if result.mismatched else 0


def run_checks(args: argparse.Namespace) -> int:
    from bench.commands.run import check_writable, default_out
    from bench.determinism import strict

    settings = strict.apply() if strict.in_strict_child() else None
    from bench.build.pipeline_groups import PipelineGroups
    from bench.build.pipelines import quiet_libraries
    from bench.determinism.checks import CheckSession
    from bench.determinism.manifest import ImageSaver, check_images_dir
    from bench.determinism.pixels import DEFAULT_TOLERANCES
    from bench.determinism.verdicts import (
        ERROR,
        CheckResult,
        explanations,
        run_wide_lines,
        summary_line,
        verdict_table,
    )
    from bench.execute.sweep import header_record, now_iso
    from bench.measure import environment
    from bench.measure.device import resolve_device
    from bench.measure.inputs import load_images
    from bench.measure.oom import release_memory
    from bench.present.console import console, progress_bar
    from bench.store.run_file import RunWriter

    device = resolve_device(args.device)
    plan = plan_from_args(args, device=device)
    first = plan.configs[0]
    out = Path(args.out) if args.out else default_out(
        f"determinism_{plan.scenario.name}", plan.model.name, device)
    check_writable(out)
    images_dir = check_images_dir(args.save_images) if args.save_images else None
    inputs = ()
    if plan.scenario.task == "img2img":
        inputs = load_images(plan.images, plan.scenario.num_default_images, first.height, first.width)
    quiet_libraries()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = settings or strict.settings()
    pipes = PipelineGroups(plan.model, device)
    pipes.for_config(first)  # a model that cannot load is a one-line error before any check
    env = environment.collect(device)
    header = header_record(plan, ["sdxl-bench", *sys.argv[1:]], env)
    header.update({"mode": "determinism", "tolerance": args.tolerance,
                   "default_tolerances": DEFAULT_TOLERANCES, "determinism": settings,
                   "images_dir": str(images_dir) if images_dir else None})
    saver = None
    if images_dir:
        saver = ImageSaver(images_dir, plan.model.name, plan.prompts, plan.images,
                           plan.scenario.num_default_images, header["run_id"], header["command"])
    session = CheckSession(pipes, plan.prompts, inputs, args.tolerance,
                           on_images=saver.record_fields if saver else None)
    results = []
    started = time.perf_counter()
    status = "interrupted"
    with RunWriter(out) as writer:
        writer.write(header)
        try:
            with progress_bar(len(plan.configs)) if not args.quiet else _NoProgress() as progress:
                task = progress.add_task(f"determinism · {plan.scenario.name} on {device}",
                                         total=len(plan.configs))
                run_wide = True
                for config in plan.configs:
                    try:
                        config_results = session.check_config(config, run_wide=run_wide)
                        run_wide = False
                    except Exception as exc:  # one failing config must not lose the others
                        config_results = [CheckResult("run", ERROR, f"{type(exc).__name__}: {exc}",
                                                      config)]
                        release_memory(config.device)
                    for result in config_results:
                        writer.write(result.record(strict=settings["strict"]))
                        results.append(result)
                    progress.advance(task)
            status = "complete"
        finally:
            writer.write({
                "type": "footer", "status": status, "finished_at": now_iso(),
                "duration_s": time.perf_counter() - started, "configs": len(plan.configs),
                "checks": len(results), "failed": sum(r.failed for r in results),
            })
    out_console = console()
    mode = " · strict" if settings["strict"] else ""
    dtypes = ", ".join(dict.fromkeys(c.dtype for c in plan.configs))
    out_console.print(verdict_table(results, title=f"determinism · {plan.scenario.name} ·"
                                    f" {plan.model.name} · {env['device_name']} · {dtypes}{mode}"))
    for line in run_wide_lines(results):
        out_console.print(line)
    for line in explanations(results):
        out_console.print(line, markup=False)
    out_console.print(summary_line(results))
    if images_dir:
        out_console.print(f"images: {images_dir} (manifest.json)")
    out_console.print(f"run file: {out}")
    return 1 if any(r.failed for r in results) else 0


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    def add_task(self, *args, **kwargs):
        return 0

    def advance(self, task):
        return None
