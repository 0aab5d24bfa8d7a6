"""The sweep flags shared by every command that measures (``run``, ``determinism``, …).

Their defaults are ``SweepRequest``'s and ``SweepOptions``' (one source): argparse takes
them from there, and so does each help text's "(default: …)".
"""

from __future__ import annotations

import argparse
import dataclasses

from bench.plan.models import PRESETS, PRETRAINED_DEFAULTS
from bench.plan.request import SweepRequest
from bench.plan.sweep import (
    DEFAULT_BATCH_SIZES,
    DEFAULT_IMAGES_PER_PROMPT,
    DEFAULT_MAX_REPEATS,
    DTYPES,
    Plan,
    SweepOptions,
)

DEFAULTS = SweepRequest()
# Flags whose destination is not the option's name.
DESTS = {"prompts": "prompt", "images": "image", "sizes": "size", "min_time_s": "min_time",
         "max_time_s": "max_time"}


def shown(value: object) -> str:
    """A default as typed on the command line: a tuple as a comma list."""
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


def by_model(key: str, folder: str | None = None) -> str:
    """A model-dependent default (``default_steps``, ``default_size``) in words; ``folder``:
    how a local folder's differs."""
    parts = [f"{spec[key]} for {name}" for name, spec in PRESETS.items()
             if spec[key] != PRETRAINED_DEFAULTS[key]]
    parts += [f"a local folder: {folder}"] if folder else []
    return "; ".join(parts + [f"{PRETRAINED_DEFAULTS[key]} otherwise"])


def add_sweep_arguments(parser: argparse.ArgumentParser, defaults: SweepOptions = DEFAULTS.options,
                        *, timed: bool = True, grows_batch: bool = False) -> None:
    """The sweep flags, with ``defaults`` for the timing flags (``max-batch`` probes with its
    own). ``timed=False``: no ``--warmup``/``--repeats`` (``determinism`` times nothing);
    ``grows_batch``: the command chooses the batch axis it grows (``max-batch``)."""
    group = parser.add_argument_group("sweep")
    group.add_argument("--scenario", default=DEFAULTS.scenario,
                       help="built-in scenario name or path to a scenario .py file"
                       " (default: %(default)s; see `sdxl-bench list`)")
    group.add_argument("--model", default=DEFAULTS.model,
                       help="preset (tiny, sdxl-arch), hub id or local diffusers folder"
                       " (default: %(default)s)")
    group.add_argument("--variant", default=DEFAULTS.variant, help="weights variant for hub/folder"
                       " models, e.g. fp16")
    if grows_batch:
        batch = (": one value, given only when --axis grows the other"
                 " (default: grown when it is --axis, else 1)")
        batch_help = ("prompts per call" + batch, "num_images_per_prompt" + batch)
    else:
        batch_help = (f"prompts per call, comma list (default: {shown(DEFAULT_BATCH_SIZES)})",
                      "num_images_per_prompt values, comma list"
                      f" (default: {shown(DEFAULT_IMAGES_PER_PROMPT)})")
    group.add_argument("--batch-sizes", default=None, metavar="LIST", help=batch_help[0])
    group.add_argument("--images-per-prompt", default=None, metavar="LIST", help=batch_help[1])
    group.add_argument("--steps", default=None, metavar="LIST",
                       help=f"denoising steps, comma list (default: {by_model('default_steps')})")
    group.add_argument("--height", type=int, default=None,
                       help="image height in pixels (default: "
                       f"{by_model('default_size', 'its UNet sample size × VAE scale')})")
    group.add_argument("--width", type=int, default=None, help="image width (as --height)")
    group.add_argument("--dtype", default=shown(defaults.dtype), metavar="LIST",
                       help=f"comma list of {', '.join(DTYPES)} (default: %(default)s)")
    group.add_argument("--device", default=defaults.device,
                       help="auto (cuda if available, else cpu), cpu, cuda, cuda:N"
                       " (default: %(default)s)")
    group.add_argument("--seed", type=int, default=defaults.seed,
                       help="base seed: image i of a call gets seed + i (default: %(default)s)")
    group.add_argument("--generator-device", default=defaults.generator_device,
                       choices=("cpu", "device"), help="where generators live: cpu (portable) or"
                       " the pipeline's device (default: %(default)s)")
    if timed:
        why = (", the fewest with which `gate` can reach a verdict on the default sweep"
               if defaults.repeats == DEFAULTS.options.repeats else "")
        group.add_argument("--warmup", type=int, default=defaults.warmup,
                           help="untimed calls per config (default: %(default)s)")
        group.add_argument("--repeats", type=int, default=defaults.repeats,
                           help=f"timed calls per config (default: %(default)s{why})")
    group.add_argument("--guidance-scale", type=float, default=defaults.guidance_scale,
                       help="override the scenario's guidance scale (built-ins: 5.0; 8.0 for img2img)")
    group.add_argument("--strength", type=float, default=defaults.strength,
                       help="img2img strength in (0, 1] (default: the scenario's, 0.5)")
    group.add_argument("--prompt", action="append", default=[], metavar="TEXT",
                       help="replace the scenario's prompts (repeatable)")
    group.add_argument("--image", action="append", default=[], metavar="PATH_OR_URL",
                       help="replace the scenario's input images (img2img; repeatable)")
    group.add_argument("--threads", type=int, default=DEFAULTS.threads,
                       help="torch CPU threads (default: torch's choice)")
    add_optimization_arguments(parser, defaults)


def add_repetition_arguments(parser: argparse.ArgumentParser) -> None:
    """How often and how long each config is measured (``run`` only)."""
    group = parser.add_argument_group(
        "repetition", "rounds give the noise between processes; adaptive repeats measure until"
        " the median is tight enough (docs/statistics.md)")
    group.add_argument("--rounds", type=int, default=DEFAULTS.options.rounds, metavar="K",
                       help="measure the whole sweep K times round-robin, every config in a fresh"
                       " process each round, the order rotated per round; the headline is over"
                       " the K per-round medians (default: %(default)s)")
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
                       f"--target-uncertainty (default: {DEFAULT_MAX_REPEATS})")


def add_optimization_arguments(parser: argparse.ArgumentParser,
                               defaults: SweepOptions = DEFAULTS.options) -> None:
    """Optimization axes; each switch alone means ``on``, ``off,on`` sweeps both."""
    from bench.plan.optimizations import ATTENTION

    group = parser.add_argument_group("optimization axes (crossed with the sweep)")
    group.add_argument("--size", default=None, metavar="LIST",
                       help="square image sizes, comma list, e.g. 512,768,1024 (instead of"
                       " --height/--width)")
    group.add_argument("--attention", default=shown(defaults.attention), metavar="LIST",
                       help=f"comma list of {', '.join(ATTENTION)} (default: %(default)s)")
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
    """The sweep flags as a typed request (the one place that reads them); an option whose
    flag this command lacks (``--rounds`` beyond ``run``) keeps ``SweepOptions``' default."""
    from bench.plan.optimizations import SWITCHES

    given = {}
    for option in dataclasses.fields(SweepOptions):
        dest = DESTS.get(option.name, option.name)
        if hasattr(args, dest):
            given[option.name] = getattr(args, dest)
    given["switches"] = tuple((axis, getattr(args, axis)) for axis in SWITCHES)
    return SweepRequest(scenario=args.scenario, model=args.model, variant=args.variant,
                        options=SweepOptions(**given), threads=args.threads,
                        peak_tflops=getattr(args, "peak_tflops", None))


def plan_from_args(args: argparse.Namespace, device: str | None = None) -> Plan:
    """Validate the flags and build the plan; raises ``UsageError`` before any loading."""
    from bench.execute.session import prepare_plan

    return prepare_plan(request_from_args(args), device)
