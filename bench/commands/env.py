"""``sdxl-bench env``: devices, NVML status and library versions, as the run header records them."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("env", help="show devices, NVML and versions",
                                   description="Show the environment a run would record.")
    parser.add_argument("--device", default="auto", help="device to describe (default: auto)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--probe", action="store_true",
                        help="measure a large matmul's TFLOP/s on the device (a measured peak for"
                        " --peak-tflops) and show the datasheet peak")
    parser.add_argument("--probe-dtype", default=None, metavar="LIST",
                        help="dtypes to probe (default: float32 on CPU; float32,float16,bfloat16"
                        " on CUDA)")
    return parser


def main(args: argparse.Namespace) -> int:
    from bench.measure import environment
    from bench.measure.device import resolve_device
    from bench.present.console import results_console

    device = resolve_device(args.device)
    env = environment.collect(device)
    if args.probe:
        from bench.measure.matmul_probe import probe_fields

        env.update(probe_fields(device, env["device_name"], args.probe_dtype))
    if args.json:
        print(json.dumps(env, indent=2))
        return 0
    out = results_console()
    for key, value in env.items():
        if key == "nvml":
            value = "available" if value["available"] else f"unavailable: {value['reason']}"
        out.print(f"{key:20} {value}")
    return 0
