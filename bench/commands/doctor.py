"""``sdxl-bench doctor``: before GPU hours are spent, will this machine give trustworthy
numbers, and if not, why and how to fix it. Exit 1 on any FAIL, else 0."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "doctor", help="check this machine before measuring (driver, NVML, clocks, …)",
        description="Check the driver and torch's CUDA, the measuring stack's versions"
        " against what its packages declare, NVML, per-process memory, energy,"
        " clocks and power limit, persistence, other processes, MIG, the CPU governor and"
        " load, SDPA kernels for SDXL's shapes and TF32. Each line is PASS, WARN or FAIL with"
        " its fix; exit 1 on any FAIL.")
    parser.add_argument("--device", default="auto", help="device to check (default: auto)")
    parser.add_argument("--json", action="store_true", help="print facts and checks as JSON")
    return parser


def main(args: argparse.Namespace) -> int:
    from bench.errors import UsageError
    from bench.measure import doctor

    device = args.device
    if not (device in ("auto", "cpu", "cuda") or device.startswith("cuda:")
            and device[5:].isdigit()):
        raise UsageError(f"--device {device!r}: allowed values are auto, cpu, cuda, cuda:N")
    if device == "cuda":
        device = "cuda:0"
    facts = doctor.gather(device)
    checks = doctor.judge(facts)
    code = doctor.exit_code(checks)
    if args.json:
        print(json.dumps({"facts": facts.to_dict(), "checks": [c.__dict__ for c in checks],
                          "exit_code": code}, indent=2))
        return code
    for check in checks:
        line = f"{check.level:4}  {check.name:16} {check.message}"
        if check.fix and check.level != doctor.PASS:
            line += f"\n      {'':16} fix: {check.fix}"
        print(line)
    return code
