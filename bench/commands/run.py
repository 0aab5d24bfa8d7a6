"""``sdxl-bench run``: sweep a scenario over batch layouts and write a run file."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench.commands.sweep_options import add_sweep_arguments, plan_from_args
from bench.errors import UsageError


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
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
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


def main(args: argparse.Namespace) -> int:
    plan_from_args(args, device=args.device)  # validate every flag before importing torch
    from bench import environment
    from bench.console import console, progress_bar, results_table
    from bench.device import resolve_device
    from bench.hardware import parse_peak_override
    from bench.inputs import load_images
    from bench.limits import limit_fields
    from bench.models import quiet_libraries
    from bench.nvml import NvmlDevice
    from bench.optimization_table import WIDTH as TABLE_WIDTH
    from bench.optimization_table import optimization_table
    from bench.pipeline_groups import PipelineGroups
    from bench.runfile import RunWriter
    from bench.runner import header_record, run_sweep

    device = resolve_device(args.device)
    plan = plan_from_args(args, device=device)
    first = plan.configs[0]
    out = Path(args.out) if args.out else default_out(plan.scenario.name, plan.model.name, device)
    check_writable(out)
    images = ()
    if plan.scenario.task == "img2img":
        images = load_images(plan.images, plan.scenario.num_default_images, first.height,
                             first.width)
    quiet_libraries()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    pipes = PipelineGroups(plan.model, device)
    pipes.for_config(first)  # load the first group now: a model that cannot load is exit 2
    nvml_device = NvmlDevice.open(device)
    env = environment.collect(device)

    peaks = parse_peak_override(args.peak_tflops) if args.peak_tflops else None

    def annotate(config, record):
        return {**pipes.describe(config),
                **limit_fields(config, record, env["device_name"], peaks)}

    out_console = console()
    with RunWriter(out) as writer:
        writer.write(header_record(plan, ["sdxl-bench", *sys.argv[1:]], env))
        if args.quiet:
            records, code = run_sweep(plan, pipes, images, writer, nvml_device, annotate=annotate)
        else:
            with progress_bar(len(plan.configs)) as progress:
                task = progress.add_task(f"{plan.scenario.name} on {device}",
                                         total=len(plan.configs))
                records, code = run_sweep(plan, pipes, images, writer, nvml_device,
                                          on_config=lambda r: progress.advance(task),
                                          annotate=annotate)
    dtypes = ", ".join(dict.fromkeys(c.dtype for c in plan.configs))
    out_console.print(results_table(records, title=f"{plan.scenario.name} · {plan.model.name}"
                                    f" · {env['device_name']} · {dtypes}"))
    if not out_console.is_terminal:  # a file or pipe: no reason to squeeze the table into 80
        from rich.console import Console

        out_console = Console(width=max(out_console.width, TABLE_WIDTH), highlight=False)
    out_console.print(optimization_table(records))
    out_console.print(f"run file: {out}")
    if code:
        print(f"sdxl-bench: interrupted; finished configs are in {out}", file=sys.stderr)
    return code
