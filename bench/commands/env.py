"""``sdxl-bench env``: devices, NVML status and library versions, as the run header records them."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("env", help="show devices, NVML and versions",
                                   description="Show the environment a run would record.")
    parser.add_argument("--device", default="auto", help="device to describe (default: auto)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(args: argparse.Namespace) -> int:
    from bench import environment
    from bench.console import console
    from bench.device import resolve_device

    env = environment.collect(resolve_device(args.device))
    if args.json:
        print(json.dumps(env, indent=2))
        return 0
    out = console()
    for key, value in env.items():
        if key == "nvml":
            value = "available" if value["available"] else f"unavailable: {value['reason']}"
        out.print(f"{key:20} {value}")
    return 0
