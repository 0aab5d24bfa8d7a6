"""``sdxl-bench max-batch``: the largest batch that fits in memory for a scenario."""

from __future__ import annotations

import argparse
import json
import sys

from bench.commands.reliability_options import check_reliability_args
from bench.commands.sweep_options import add_sweep_arguments, request_from_args
from bench.errors import UsageError
from bench.plan.sweep import SweepOptions, parse_int_list

AXIS_FLAGS = {"batch_size": "--batch-sizes", "num_images_per_prompt": "--images-per-prompt"}
PROBE_DEFAULTS = SweepOptions(warmup=0, repeats=1)  # each probe: one timed call, no warm-up


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "max-batch",
        help="find the largest batch size that fits in memory",
        description="Grow the batch (1, 2, 4, …) until a call runs out of memory, then bisect;"
        " report the largest size that fits and the memory each image adds (the slope of peak"
        " memory over the probes that fit; the fixed part is the weights and context). Each"
        " probe is one timed call (--warmup 0 --repeats 1 unless given).",
    )
    add_sweep_arguments(parser, PROBE_DEFAULTS, grows_batch=True)
    group = parser.add_argument_group("search")
    group.add_argument("--axis", choices=tuple(AXIS_FLAGS), default=None,
                       help="which batch axis to grow (default: the scenario's first axis)")
    group.add_argument("--limit", type=int, default=64,
                       help="largest size to try (default: %(default)s)")
    group.add_argument("--isolate", action="store_true",
                       help="probe each size in a fresh worker process (a real out-of-memory"
                       " error can leave a process in a bad state)")
    group.add_argument("--memory-budget", type=float, default=None, metavar="GIB",
                       help="fail a probe as out of memory past this many GiB (see run --help)")
    group.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    return parser


def _check_axis(args: argparse.Namespace, scenario) -> str:
    axis = args.axis or scenario.axes[0]
    if axis not in scenario.axes:
        raise UsageError(f"--axis {axis}: scenario {scenario.name!r} sweeps only"
                         f" {', '.join(scenario.axes)}")
    given = getattr(args, AXIS_FLAGS[axis][2:].replace("-", "_"))
    if given is not None:
        raise UsageError(f"{AXIS_FLAGS[axis]} {given!r}: max-batch chooses the {axis} itself;"
                         f" drop {AXIS_FLAGS[axis]}")
    for other, flag in AXIS_FLAGS.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if other != axis and value is not None and len(parse_int_list(value, flag)) != 1:
            raise UsageError(f"{flag} {value!r}: max-batch grows {axis}; give one {other} value")
    if args.limit < 1:
        raise UsageError(f"--limit {args.limit}: must be a positive integer")
    return axis


def _summary(best: int | None, probes: list, axis: str) -> dict:
    """The result: the largest size, the probes, and memory per image as the slope of peak
    memory over the fitting probes (``bench.analyse.memory_per_image``), with the
    whole-process peak per image (weights included) beside it."""
    from bench.analyse.memory_per_image import fit_memory_line

    def peak(probe) -> tuple[str | None, int | None]:
        return probe.result.budget_memory() or (None, None)

    fitting = sorted((p for p in probes if p.fits), key=lambda p: p.size)
    result: dict = {"axis": axis, "max_size": best, "probes": [
        {"size": p.size, "status": p.result.status.value,
         "images_per_call": p.result.images_per_call,
         "peak_memory_bytes": peak(p)[1], "error": p.result.error}
        for p in probes]}
    if best is not None:
        top = next(p for p in fitting if p.size == best)
        view, top_peak = peak(top)
        images = top.result.images_per_call
        peaks = [(p.result.images_per_call, *peak(p)) for p in fitting]
        line = fit_memory_line([(n, b) for n, v, b in peaks if v == view and b is not None])
        result.update(
            peak_memory_view=view, peak_memory_bytes=top_peak,
            marginal_bytes_per_image=line.marginal_bytes_per_image,
            fixed_bytes=line.fixed_bytes, memory_fit_probes=line.points,
            memory_fit_max_residual_bytes=line.max_residual_bytes,
            whole_peak_bytes_per_image=top_peak / images if top_peak is not None else None,
            images_per_s=top.result.images_per_s)
    return result


def _hold_other_axis(request, args: argparse.Namespace, draft, axis: str):
    """The scenario's other batch axis, when the user left it at the scenario's several
    defaults (the default sweep's ``--images-per-prompt 1,2``), held at its smallest value,
    and the words that say so."""
    for other, flag in AXIS_FLAGS.items():
        name = flag[2:].replace("-", "_")
        values = sorted({getattr(c, other) for c in draft.configs})
        if other != axis and getattr(args, name) is None and len(values) > 1:
            return (request.replace_options(**{name: (values[0],)}),
                    f"  {other} held at {values[0]} (the scenario's smallest; {flag} chooses)")
    return request, ""


def _swept(configs) -> str:
    """What varies across the configs, as the flags that set it (with the scenario's
    defaults a user may not know they asked for: ``--images-per-prompt 1,2``)."""
    batch = [f"{flag} {','.join(str(v) for v in sorted({getattr(c, axis) for c in configs}))}"
             for axis, flag in AXIS_FLAGS.items()
             if len({getattr(c, axis) for c in configs}) > 1]
    others = [f"--{axis.replace('_', '-')}" for axis in configs[0].id_axes]
    return ", ".join(batch + others) or "several values"


def main(args: argparse.Namespace) -> int:
    from bench.execute.session import prepare_plan

    check_reliability_args(args)
    request = request_from_args(args)
    draft = prepare_plan(request)
    axis = _check_axis(args, draft.scenario)
    option = AXIS_FLAGS[axis][2:].replace("-", "_")
    request, held = _hold_other_axis(request, args, draft, axis)
    largest = prepare_plan(request.replace_options(**{option: (args.limit,)}))
    if len(largest.configs) != 1:
        raise UsageError(f"max-batch probes one config per size, but the flags sweep"
                         f" {_swept(largest.configs)}; give one value each")
    from bench.execute.executors import InProcess
    from bench.execute.interrupts import Interrupted, InterruptGuard
    from bench.execute.isolate import Isolated
    from bench.execute.max_batch import Probe, ProbeFailed, find_max_batch
    from bench.execute.session import open_session
    from bench.measure.device import resolve_device
    from bench.present.console import console, one_line
    from bench.present.max_batch import max_batch_text
    from bench.result import Status

    device = resolve_device(request.options.device)
    request = request.replace_options(device=device)
    session = open_session(prepare_plan(request), request, load=not args.isolate)
    if args.isolate:
        execute = Isolated(request, args.memory_budget)
    else:  # dtype and optimizations of the flags
        execute = InProcess(session.pipes, session.images, None, args.memory_budget)
    out = console(stderr=args.json)

    def probe(size: int) -> Probe:
        plan = prepare_plan(request.replace_options(**{option: (size,)}))
        with guard.interruptible():
            result = execute(plan, plan.configs[0])
        found = Probe(size, result.ok, result)
        out.print(f"  {axis} {size:4d}: {result.status}")
        if result.status not in (Status.OK, Status.OOM, Status.CRASHED):
            raise ProbeFailed(found)
        return found

    out.print(f"max-batch: growing {axis} of {draft.scenario.name} on {device} (limit {args.limit})")
    if held:
        out.print(held)
    with InterruptGuard() as guard:
        try:
            best, probes = find_max_batch(probe, args.limit)
        except Interrupted as stop:
            print(f"sdxl-bench: interrupted ({stop})", file=sys.stderr)
            return stop.exit_code
        except ProbeFailed as exc:
            print(f"sdxl-bench: max-batch stopped: probe of {axis} {exc}", file=sys.stderr)
            return 1
    summary = _summary(best, probes, axis)
    if args.json:
        print(json.dumps(summary))
    if best is None:  # no answer: a script must not read "max_size": null as success
        budget = (f" within --memory-budget {args.memory_budget:g} GiB"
                  if args.memory_budget else "")
        first = probes[0].result
        print(f"sdxl-bench: max-batch found no {axis} that fits{budget}: even {axis} 1 did"
              f" not ({first.status.value}: {one_line(first.error or 'no error recorded')})",
              file=sys.stderr)
        return 1
    if not args.json:
        out.print(max_batch_text(summary, args.limit))
    return 0
