"""Per-tracker overhead: each default tracker alone around the same calls, against a bare loop.

For every tracker of ``default_trackers`` (memory sampler, energy, clocks, compile
events, stage hooks, latency), the config's timed calls run with that tracker only,
inside an outer clock that therefore includes the tracker's per-call work; rounds are
interleaved with bare calls so drift affects every side alike. Prints the ratio of
medians per tracker.

    python benchmarks/tracker_overhead.py [--model tiny] [--batch-size 1] [--rounds 5] [--calls 3]
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


def bare_calls(call, device: str, count: int) -> list[float]:
    values = []
    for _ in range(count):
        generators = call.fresh_generators()
        synchronize(device)
        start = time.perf_counter()
        call(generators)
        synchronize(device)
        values.append(time.perf_counter() - start)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-size", default="1")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--calls", type=int, default=3, help="calls per side per round")
    args = parser.parse_args()

    quiet_libraries()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    model = resolve_model(args.model)
    plan = make_plan(load_scenario("t2i-prompts"), model, SweepOptions(
        batch_sizes=args.batch_size, steps=args.steps, height=args.size, width=args.size,
        dtype=args.dtype, device=device, warmup=0, repeats=args.calls))
    config = plan.configs[0]
    call = prepare_call(load_pipelines(model, device, args.dtype), config, plan.prompts, ())
    nvml_device = NvmlDevice.open(device)
    bare_calls(call, device, 2)  # warm-up

    names = [type(t).__name__ for t in default_trackers(config, nvml_device)]
    bare: list[float] = []
    wrapped: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.rounds):
        bare.extend(bare_calls(call, device, args.calls))
        for index, name in enumerate(names):
            outer = LatencyTracker(device)
            tracker = default_trackers(config, nvml_device)[index]  # fresh state each round
            run_timed_calls(call, [outer, tracker])
            wrapped[name].extend(outer.values)

    base = statistics.median(bare)
    print(f"config: {config.config_id} model={args.model} device={device} dtype={args.dtype}"
          f" steps={config.num_inference_steps} size={config.height} calls/side={len(bare)}")
    print(f"{'bare loop':16} median {base * 1e3:10.3f} ms")
    for name, values in wrapped.items():
        median = statistics.median(values)
        print(f"{name:16} median {median * 1e3:10.3f} ms  ratio {median / base:.4f}"
              f"  ({100 * (median / base - 1):+.2f}%)")


if __name__ == "__main__":
    main()
