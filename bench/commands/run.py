"""``sdxl-bench run``: sweep a scenario over batch layouts and write a run file."""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

from bench.commands.distributed_options import add_distributed_arguments
from bench.commands.reliability_options import add_reliability_arguments, check_reliability_args
from bench.commands.sweep_options import add_sweep_arguments, plan_from_args
from bench.errors import UsageError
from bench.execute.sweep import now_iso
from bench.measure.inputs import load_images
from bench.store.run_file import read_run


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run",
        help="run a sweep and write a run file",
        description="Measure images/s, latency, stage timings, peak memory and energy for"
        " every config of a sweep. With no arguments: a quick sweep on the tiny preset.",
    )
    add_sweep_arguments(parser)
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="run file (default: reports/runs/<time>_<scenario>_<model>_<device>.jsonl)")
    parser.add_argument("--save-images", default=None, metavar="DIR",
                        help="save the last timed call's images of every config as PNG, with a"
                        " manifest.json of prompts and seeds (written after timing); with --nproc,"
                        " rank 0 gathers them as DIR/<config>/<global index>.png")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_reliability_arguments(parser, resume=True)
    add_distributed_arguments(parser)
    parser.set_defaults(option_strings=[o for a in parser._actions for o in a.option_strings])
    return parser


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-") or "x"


def default_out(scenario: str, model: str, device: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("reports/runs") / f"{stamp}_{_slug(scenario)}_{_slug(model)}_{_slug(device)}.jsonl"


def check_writable(path: Path) -> None:
    """Fail at planning time, not after an hour of measuring, if the file cannot be written.

    Leaves nothing behind: folders and the file it had to create are removed again.
    """
    missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UsageError(f"--out {str(path)!r} cannot be written: {exc.strerror}") from None
    if not existed:
        path.unlink()
    for folder in missing:  # deepest first
        folder.rmdir()


def _worker_flags(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("handler",)}


def main(args: argparse.Namespace) -> int:
    check_reliability_args(args)
    if args.save_images and args.isolate:
        raise UsageError("--save-images cannot be combined with --isolate (each worker would"
                         " start its own manifest); drop one of them")
    draft = plan_from_args(args, device=args.device)  # validate every flag before importing torch
    from bench.commands.distributed_options import check_distributed_arguments
    from bench.execute.distributed.world import world_from_env

    world = world_from_env()  # started by torchrun (directly, or by --nproc below)
    check_distributed_arguments(args, under_torchrun=world is not None)
    if world is not None:
        from bench.execute.distributed.ranks import rank_main

        return rank_main(args, world)
    if args.nproc is not None:
        from bench.execute.distributed.launch import launch

        out = Path(args.out) if args.out else default_out(
            draft.scenario.name, draft.model.name, f"{args.device}-x{args.nproc * args.nnodes}")
        check_writable(out)
        if args.save_images:
            from bench.determinism.manifest import check_images_dir

            check_images_dir(args.save_images)
        return launch(args, sys.argv[1:], out, args.option_strings)
    if args.out:
        check_writable(Path(args.out))
    if args.resume:
        with warnings.catch_warnings():  # a partial file is expected; bad files fail here
            warnings.simplefilter("ignore")
            read_run(args.resume)
        check_writable(Path(args.resume))
    images = ()
    if draft.scenario.task == "img2img":  # unreadable images are caught before any loading
        images = load_images(draft.images, draft.scenario.num_default_images,
                             draft.configs[0].height, draft.configs[0].width)
    from bench.build.pipeline_groups import PipelineGroups
    from bench.build.pipelines import quiet_libraries
    from bench.determinism.manifest import ImageSaver, check_images_dir
    from bench.execute.executors import InProcess
    from bench.execute.isolate import Isolated
    from bench.execute.resume import load_for_resume, rewrite
    from bench.execute.sweep import header_record, run_sweep
    from bench.measure import environment
    from bench.measure.device import resolve_device
    from bench.measure.hardware import parse_peak_override
    from bench.measure.limits import limit_fields
    from bench.measure.nvml import NvmlDevice
    from bench.present.console import console, progress_bar, results_table
    from bench.present.optimization_table import WIDTH as TABLE_WIDTH
    from bench.present.optimization_table import optimization_table
    from bench.store.run_file import RunWriter

    device = resolve_device(args.device)
    plan = plan_from_args(args, device=device)
    first = plan.configs[0]
    resumed = load_for_resume(args.resume, plan) if args.resume else None
    out = Path(args.resume or args.out or default_out(plan.scenario.name, plan.model.name, device))
    check_writable(out)
    images_dir = check_images_dir(args.save_images) if args.save_images else None
    env = environment.collect(device)
    if resumed and resumed.header.get("env", {}).get("device_name") != env["device_name"]:
        raise UsageError(
            f"--resume {args.resume!r}: that run was measured on"
            f" {resumed.header['env'].get('device_name')!r}, this is {env['device_name']!r}"
        )
    options = {"isolate": args.isolate, "memory_budget_gib": args.memory_budget,
               "skip_after_oom": args.skip_after_oom}
    argv = ["sdxl-bench", *sys.argv[1:]]
    header = {**header_record(plan, argv, env), "options": options}
    if images_dir:
        header["images_dir"] = str(images_dir)
    on_images = None
    if images_dir:
        on_images = ImageSaver(images_dir, plan.model.name, plan.prompts, plan.images,
                               plan.scenario.num_default_images, header["run_id"],
                               header["command"]).record_fields
    if args.isolate:
        execute = Isolated(_worker_flags(args), args.memory_budget)
    else:
        quiet_libraries()
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        pipes = PipelineGroups(plan.model, device)
        pipes.for_config(first)  # load the first group now: a model that cannot load is exit 2
        execute = InProcess(pipes, images, NvmlDevice.open(device), args.memory_budget, on_images)

    peaks = parse_peak_override(args.peak_tflops) if args.peak_tflops else None

    def annotate(config, record):
        described = pipes.describe(config) if not args.isolate else {}
        return {**described, **limit_fields(config, record, env["device_name"], peaks)}

    if resumed:
        header = {**resumed.header, "resumed": [*resumed.header.get("resumed", []),
                                                {"at": now_iso(), "command": argv, **options}]}
        rewrite(out, header, resumed.kept)
        writer = RunWriter(out, mode="a")
    else:
        writer = RunWriter(out)
        writer.write(header)
    previous = resumed.kept if resumed else ()
    out_console = console()
    with writer:
        sweep = dict(execute=execute, skip_after_oom=args.skip_after_oom, previous=previous,
                     annotate=annotate)
        if args.quiet:
            records, code = run_sweep(plan, None, images, writer, **sweep)
        else:
            with progress_bar(len(plan.configs)) as progress:
                task = progress.add_task(f"{plan.scenario.name} on {device}",
                                         total=len(plan.configs), completed=len(previous))
                records, code = run_sweep(plan, None, images, writer,
                                          on_config=lambda r: progress.advance(task), **sweep)
    by_id = {r["config_id"]: r for r in (*previous, *records)}
    shown = [by_id[c.config_id] for c in plan.configs if c.config_id in by_id]
    dtypes = ", ".join(dict.fromkeys(c.dtype for c in plan.configs))
    out_console.print(results_table(shown, title=f"{plan.scenario.name} · {plan.model.name}"
                                    f" · {env['device_name']} · {dtypes}"))
    if not out_console.is_terminal:  # a file or pipe: no reason to squeeze the table into 80
        from rich.console import Console

        out_console = Console(width=max(out_console.width, TABLE_WIDTH), highlight=False)
    out_console.print(optimization_table(shown))
    out_console.print(f"run file: {out}")
    if code:
        print(f"sdxl-bench: interrupted; finished configs are in {out}; continue with"
              f" --resume {out} and the same flags", file=sys.stderr)
    return code
