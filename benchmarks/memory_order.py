"""Does a config's peak memory depend on which configs ran before it in the same process?

Runs ``sdxl-bench run --batch-sizes 8,1`` ("after") and ``--batch-sizes 1`` ("alone"),
interleaved (alone, after, after, alone, ...) so drift hits both sides alike, each a
fresh process, and prints the batch-1 peak of every memory view that has values side by
side: mean and spread of each side, the difference, and the difference in units of the
spread. The done-when of issue 11: the difference is within the noise.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/memory_order.py --runs 5 [--isolate] [--checkout DIR]

``--checkout`` runs another checkout's ``bench`` (e.g. a copy of the code before a change)
with this script's logic, so before and after are measured the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20


def batch1_record(checkout: Path, batch_sizes: str, out: Path, args) -> dict:
    """The batch-1 config record of one fresh ``sdxl-bench run``."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": str(args.threads)}
    command = [sys.executable, "-m", "bench", "run", "--model", args.model,
               "--batch-sizes", batch_sizes, "--images-per-prompt", "1",
               "--repeats", str(args.repeats), "--threads", str(args.threads),
               "--out", str(out), "--quiet",  # fresh files: no --force (older checkouts lack it)
               *(["--isolate"] if args.isolate else [])]
    # From the checkout: ``python -m`` puts the working directory first on sys.path.
    done = subprocess.run(command, env=env, cwd=checkout, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    for line in out.read_text().splitlines():
        record = json.loads(line)
        if record.get("type") == "config" and record.get("batch_size") == 1:
            return record
    raise SystemExit(f"{out} has no batch-1 record")


def summary(values: list[float]) -> tuple[float, float, float, float]:
    """mean, sample standard deviation, min, max."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), sd, min(values), max(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per side (interleaved)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per config")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--before", default="8", help="batch sizes run before batch 1")
    parser.add_argument("--isolate", action="store_true",
                        help="run with --isolate: every config in a fresh worker process")
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="checkout whose bench package runs (default: this one)")
    args = parser.parse_args(argv)
    sides = {"alone": "1", "after": f"{args.before},1"}
    peaks: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    per_call_spread: dict[str, list[float]] = {side: [] for side in sides}
    files: dict[str, list[Path]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for side in order:
                out = Path(tmp) / f"{side}-{i}.jsonl"
                files[side].append(out)
                record = batch1_record(args.checkout, sides[side], out, args)
                for view, value in (record.get("peak_memory_bytes") or {}).items():
                    if value is not None:
                        peaks[side].setdefault(view, []).append(value / MIB)
                calls = ((record.get("peak_memory_per_call_bytes") or {}).get("process_rss")
                         or [])
                if len(calls) > 1:
                    per_call_spread[side].append((max(calls) - min(calls)) / MIB)
                print(f"run {i + 1} {side:>5}: process_rss"
                      f" {record['peak_memory_bytes'].get('process_rss', 0) / MIB:.1f} MiB",
                      file=sys.stderr)
        print_table(args, peaks, per_call_spread)
        print_gate(files, args.runs)  # inside the with: the run files still exist
    return 0


def print_table(args, peaks: dict, per_call_spread: dict) -> None:
    print(f"batch-1 peak memory, {args.runs} runs per side, interleaved; model {args.model},"
          f" {args.repeats} timed calls, {args.threads} thread(s),"
          f" {'--isolate' if args.isolate else 'one process'}; checkout {args.checkout}")
    print(f"{'view':<18}{'alone (bs 1) MiB':>26}{f'after bs {args.before} MiB':>26}"
          f"{'difference':>22}{'diff / noise':>14}")
    for view in peaks["alone"]:
        alone, after = peaks["alone"][view], peaks["after"].get(view)
        if not after:
            continue
        a, b = summary(alone), summary(after)
        # Noise of the difference of two means: the run-to-run spread of each side.
        noise = (a[1] ** 2 / len(alone) + b[1] ** 2 / len(after)) ** 0.5
        diff = b[0] - a[0]
        ratio = f"{diff / noise:+.1f} se" if noise else "n/a"
        print(f"{view:<18}{a[0]:>9.1f} ± {a[1]:5.1f} [{a[2]:.0f}–{a[3]:.0f}]"
              f"{b[0]:>9.1f} ± {b[1]:5.1f} [{b[2]:.0f}–{b[3]:.0f}]"
              f"{diff:>+10.1f} ({diff / a[0]:+.1%}){ratio:>14}")
    for side, spreads in per_call_spread.items():
        if spreads:
            print(f"per-call process_rss range inside one run ({side}): mean"
                  f" {statistics.fmean(spreads):.1f} MiB, max {max(spreads):.1f} MiB")
    print("mean ± sample sd [min–max] over runs; diff / noise = difference of means over its"
          " standard error (|value| < 2: within the noise)")


def print_gate(files: dict[str, list[Path]], runs: int) -> None:
    """The memory verdict this checkout's gate gives batch 1 with the runs alone as the
    baseline and the runs after the larger batch as the candidate."""
    from bench.analyse.gate import Thresholds, gate
    from bench.store.result_files import load_results

    thresholds = Thresholds(allow_inconclusive=True)
    verdicts = gate([load_results(p) for p in files["alone"]],
                    [load_results(p) for p in files["after"]], thresholds)
    for verdict in verdicts:
        if " bs1 " in f" {verdict.key} " and verdict.memory:
            print(f"gate --baseline <{runs} alone> --candidate <{runs} after>, {verdict.key}:"
                  f" {verdict.outcome}")
            for change in verdict.memory:
                print(f"  memory {change.text()}: {'regressed' if change.regressed else 'not a regression'}"
                      f" (limit {change.limit:.0%})")


if __name__ == "__main__":
    raise SystemExit(main())
