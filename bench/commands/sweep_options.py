"""The sweep flags shared by every command that measures (``run``, ``determinism``, …)."""

from __future__ import annotations

import argparse

from bench.plan.request import SweepRequest
from bench.plan.sweep import DEFAULT_BATCH_SIZES, DEFAULT_IMAGES_PER_PROMPT, DTYPES, Plan, SweepOptions


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sweep")
    group.add_argument("--scenario", default="t2i-prompts-x-images",
                       help="built-in scenario name or path to a scenario .py file"
                       " (default: %(default)s; see `sdxl-bench list`)")
    group.add_argument("--model", default="tiny",
                       help="preset (tiny, sdxl-arch), hub id or local diffusers folder"
                       " (default: %(default)s)")
    group.add_argument("--variant", default=None, help="weights variant for hub/folder models,"
                       " e.g. fp16")
    group.add_argument("--batch-sizes", default=None, metavar="LIST",
                       help=f"prompts per call, comma list (default: {DEFAULT_BATCH_SIZES})")
    group.add_argument("--images-per-prompt", default=None, metavar="LIST",
                       help="num_images_per_prompt values, comma list"
                       f" (default: {DEFAULT_IMAGES_PER_PROMPT})")
    group.add_argument("--steps", default=None, metavar="LIST",
                       help="denoising steps, comma list (default: 4 for tiny, 30 otherwise)")
    group.add_argument("--height", type=int, default=None,
                       help="image height in pixels (default: 64 for tiny; a local folder: its UNet"
                       " sample size × VAE scale; else 1024)")
    group.add_argument("--width", type=int, default=None, help="image width (as --height)")
    group.add_argument("--dtype", default="float32", metavar="LIST",
                       help=f"comma list of {', '.join(DTYPES)} (default: %(default)s)")
    group.add_argument("--device", default="auto",
                       help="auto (cuda if available, else cpu), cpu, cuda, cuda:N")
    group.add_argument("--seed", type=int, default=0,
                       help="base seed: image i of a call gets seed + i (default: 0)")
    group.add_argument("--generator-device", default="cpu", choices=("cpu", "device"),
                       help="where generators live: cpu (portable, default) or the pipeline's"
                       " device")
    group.add_argument("--warmup", type=int, default=1, help="untimed calls per config (default: 1)")
    group.add_argument("--repeats", type=int, default=6,
                       help="timed calls per config (default: 6, the fewest with which `gate`"
                       " can reach a verdict on the default sweep)")
    group.add_argument("--guidance-scale", type=float, default=None,
                       help="override the scenario's guidance scale (built-ins: 5.0; 8.0 for img2img)")
    group.add_argument("--strength", type=float, default=None,
                       help="img2img strength in (0, 1] (default: the scenario's, 0.5)")
    group.add_argument("--prompt", action="append", default=[], metavar="TEXT",
                       help="replace the scenario's prompts (repeatable)")
    group.add_argument("--image", action="append", default=[], metavar="PATH_OR_URL",
                       help="replace the scenario's input images (img2img; repeatable)")
    group.add_argument("--threads", type=int, default=None,
                       help="torch CPU threads (default: torch's choice)")
    add_optimization_arguments(parser)


def add_repetition_arguments(parser: argparse.ArgumentParser) -> None:
    """How often and how long each config is measured (``run`` only)."""
    group = parser.add_argument_group(
        "repetition", "rounds give the noise between processes; adaptive repeats measure until"
        " the median is tight enough (docs/statistics.md)")
    group.add_argument("--rounds", type=int, default=1, metavar="K",
                       help="measure the whole sweep K times round-robin, every config in a fresh"
                       " process each round, the order rotated per round; the headline is over"
                       " the K per-round medians (default: 1)")
    group.add_argument("--min-time", type=float, default=None, metavar="S", dest="min_time",
                       help="time each config for at least S seconds (more calls than --repeats"
                       " when they are quick)")
    group.add_argument("--max-time", type=float, default=None, metavar="S", dest="max_time",
                       help="stop timing a config after S seconds (past --repeats calls)")
    group.add_argument("--target-uncertainty", default=None, metavar="P%",
                       help="time each config until the 95%% interval of its median latency is"
                       " within ±P%% (e.g. 2%%), between --repeats and --max-repeats calls")
    group.add_argument("--max-repeats", type=int, default=None, metavar="N",
                       help="most timed calls per config with --min-time/--max-time/"
                       "--target-uncertainty (default: 100)")


def add_optimization_arguments(parser: argparse.ArgumentParser) -> None:
    """Optimization axes; each switch alone means ``on``, ``off,on`` sweeps both."""
    from bench.plan.optimizations import ATTENTION

    group = parser.add_argument_group("optimization axes (crossed with the sweep)")
    group.add_argument("--size", default=None, metavar="LIST",
                       help="square image sizes, comma list, e.g. 512,768,1024 (instead of"
                       " --height/--width)")
    group.add_argument("--attention", default=None, metavar="LIST",
                       help=f"comma list of {', '.join(ATTENTION)} (default: sdpa)")
    for axis, what in (("compile", "torch.compile the UNet and the VAE decoder"),
                       ("channels-last", "channels_last memory format for UNet and VAE"),
                       ("fuse-qkv", "fused QKV projections"),
                       ("vae-slicing", "decode the batch one image at a time"),
                       ("vae-tiling", "decode in overlapping tiles")):
        group.add_argument(f"--{axis}", nargs="?", const="on", default=None, metavar="on|off,on",
                           help=f"{what} (alone: on; off,on sweeps both)")
    group.add_argument("--peak-tflops", default=None, metavar="TFLOPS",
                       help="device peak for MFU, overriding the datasheet table: one number for"
                       " every dtype, or float32=X,bfloat16=Y")


def request_from_args(args: argparse.Namespace) -> SweepRequest:
    """The sweep flags as a typed request (the one place that reads them)."""
    from bench.plan.optimizations import SWITCHES

    options = SweepOptions(
        batch_sizes=args.batch_sizes,
        images_per_prompt=args.images_per_prompt,
        steps=args.steps,
        height=args.height,
        width=args.width,
        dtype=args.dtype,
        device=args.device,
        seed=args.seed,
        warmup=args.warmup,
        repeats=args.repeats,
        strength=args.strength,
        guidance_scale=args.guidance_scale,
        generator_device=args.generator_device,
        prompts=tuple(args.prompt),
        images=tuple(args.image),
        sizes=args.size,
        attention=args.attention,
        switches=tuple((axis, getattr(args, axis)) for axis in SWITCHES),
        # repetition flags exist on ``run`` only (``add_repetition_arguments``)
        rounds=getattr(args, "rounds", 1),
        min_time_s=getattr(args, "min_time", None),
        max_time_s=getattr(args, "max_time", None),
        target_uncertainty=getattr(args, "target_uncertainty", None),
        max_repeats=getattr(args, "max_repeats", None),
    )
    return SweepRequest(scenario=args.scenario, model=args.model, variant=args.variant,
                        options=options, threads=args.threads,
                        peak_tflops=getattr(args, "peak_tflops", None))


def plan_from_args(args: argparse.Namespace, device: str | None = None) -> Plan:
    """Validate the flags and build the plan; raises ``UsageError`` before any loading."""
    from bench.execute.session import prepare_plan

    return prepare_plan(request_from_args(args), device)
