"""``sdxl-bench list``: the scenarios and model presets available."""

from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    return subparsers.add_parser("list", help="list scenarios and model presets",
                                 description="List built-in scenarios and model presets.")


def main(args: argparse.Namespace) -> int:
    from bench.plan.models import PRESETS
    from bench.plan.scenario import builtin_names, load_scenario
    from bench.present.console import results_console

    out = results_console()
    out.print("[bold]Scenarios[/bold] (--scenario NAME, or a path to your own .py file)")
    for name in builtin_names():
        scenario = load_scenario(name)
        out.print(f"  {name:24} {scenario.task:9} sweeps {', '.join(scenario.axes):38}"
                  f" {scenario.description}")
    out.print("\n[bold]Model presets[/bold] (--model NAME, or a hub id / local diffusers folder)")
    for name, preset in PRESETS.items():
        out.print(f"  {name:12} {preset['default_size']}px, {preset['default_steps']} steps"
                  f" by default  {preset['description']}")
    return 0
