"""Harness overhead: a bare loop of pipeline calls against the harness measuring the same
config, interleaved in one run, reporting the ratio of medians.

The harness side wraps every call in all default trackers (memory sampler, energy,
stage hooks and callbacks, latency) plus one extra latency tracker placed outermost, whose
clock therefore includes every other tracker's per-call work.

    python benchmarks/overhead.py [--model tiny] [--batch-size 2] [--steps 4] [--rounds 8]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.assemble.pipelines import load_pipelines, quiet_libraries
from bench.measure.config import default_trackers, prepare_call, run_timed_calls
from bench.measure.device import resolve_device, synchronize
from bench.measure.nvml import NvmlDevice
from bench.measure.trackers.latency import LatencyTracker
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-size", default="2")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds")
    parser.add_argument("--calls", type=int, default=5, help="calls per side per round")
    args = parser.parse_args()

    quiet_libraries()
    device = resolve_device(args.device)
    model = resolve_model(args.model)
    plan = make_plan(load_scenario("t2i-prompts"), model, SweepOptions(
        batch_sizes=args.batch_size, steps=args.steps, height=args.size, width=args.size,
        dtype=args.dtype, device=device, warmup=0, repeats=args.calls))
    config = plan.configs[0]
    call = prepare_call(load_pipelines(model, device, args.dtype), config, plan.prompts, ())
    nvml_device = NvmlDevice.open(device)
    for _ in range(2):  # warm-up both paths
        call(call.fresh_generators())

    bare: list[float] = []
    harness: list[float] = []
    reported: list[float] = []
    for _ in range(args.rounds):
        for _ in range(args.calls):
            generators = call.fresh_generators()
            synchronize(device)
            start = time.perf_counter()
            call(generators)
            synchronize(device)
            bare.append(time.perf_counter() - start)
        outer = LatencyTracker(device)
        trackers = [outer, *default_trackers(config, nvml_device)]
        run_timed_calls(call, trackers)
        harness.extend(outer.values)
        reported.extend(trackers[-1].values)

    bare_median = statistics.median(bare)
    harness_median = statistics.median(harness)
    print(f"config: {config.config_id} model={args.model} device={device} dtype={args.dtype}"
          f" steps={config.num_inference_steps} size={config.height} calls/side={len(bare)}")
    print(f"bare loop median           {bare_median * 1e3:10.3f} ms")
    print(f"harness (all trackers)     {harness_median * 1e3:10.3f} ms")
    print(f"harness-reported latency   {statistics.median(reported) * 1e3:10.3f} ms")
    print(f"ratio of medians (harness / bare): {harness_median / bare_median:.4f}"
          f"  → overhead {100 * (harness_median / bare_median - 1):+.2f}%")


if __name__ == "__main__":
    main()
