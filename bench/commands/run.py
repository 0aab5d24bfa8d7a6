"""``sdxl-bench run``: sweep a scenario over batch layouts and write a run file."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from bench.commands.distributed_options import add_distributed_arguments
from bench.commands.reliability_options import add_reliability_arguments, check_reliability_args
from bench.commands.sweep_options import (
    add_repetition_arguments,
    add_sweep_arguments,
    request_from_args,
)
from bench.errors import UsageError


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run",
        help="run a sweep and write a run file",
        description="Measure images/s, latency, stage timings, peak memory and energy for"
        " every config of a sweep. With no arguments: a quick sweep on the tiny preset.",
    )
    add_sweep_arguments(parser)
    add_repetition_arguments(parser)
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="run file (default: reports/runs/<time>_<scenario>_<model>_<device>.jsonl)")
    parser.add_argument("--save-images", default=None, metavar="DIR",
                        help="save the last timed call's images of every config as PNG, with a"
                        " manifest.json of prompts and seeds (written after timing); with --nproc,"
                        " rank 0 gathers every rank's share and saves them under the same names")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --out file (by default it is refused)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_reliability_arguments(parser, resume=True)
    add_distributed_arguments(parser)
    parser.set_defaults(option_strings=[o for a in parser._actions for o in a.option_strings])
    return parser


# Flags that say how this invocation behaves, not what the run measures: a resumed run
# takes everything else from the command recorded in its header.
INVOCATION_FLAGS = {"resume", "out", "force", "quiet", "debug", "handler", "option_strings",
                    "command", "parser"}


def with_recorded_flags(args: argparse.Namespace) -> argparse.Namespace:
    """``--resume FILE`` alone continues the run as it was started: its flags come from the
    file's header. Flags given now are allowed only where they agree with it."""
    from bench.execute.resume import refuse_other_kinds
    from bench.store.run_file import read_run

    with warnings.catch_warnings():  # a partial file is expected; bad files fail here
        warnings.simplefilter("ignore")
        header = read_run(args.resume).header
    refuse_other_kinds(args.resume, header)
    command = header.get("command") or []
    if not isinstance(command, list) or not all(isinstance(part, str) for part in command):
        raise UsageError(f"--resume {args.resume!r}: its recorded command is not a list of"
                         " arguments: the file is malformed; start a new run")
    parser = args.parser
    try:
        recorded = parser.parse_args(command[1:])
    except SystemExit:
        raise UsageError(f"--resume {args.resume!r}: its recorded command cannot be read"
                         f" ({' '.join(command)})") from None
    defaults = parser.parse_args(["run"])
    merged = argparse.Namespace(**vars(args))
    for name, value in vars(recorded).items():
        if name in INVOCATION_FLAGS:
            continue
        given = getattr(args, name, None)
        if given != getattr(defaults, name, None) and given != value:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"--resume {args.resume!r}: {flag} {given!r} differs from the run's"
                             f" {value!r}; drop {flag} (a resumed run keeps its flags)")
        setattr(merged, name, value)
    return merged


def main(args: argparse.Namespace) -> int:
    from bench.commands.distributed_options import check_distributed_arguments
    from bench.execute.distributed.world import world_from_env
    from bench.execute.output import check_out, check_writable
    from bench.execute.session import prepare_plan

    check_reliability_args(args)
    if args.resume:
        if args.force:
            raise UsageError("--force replaces a run file; --resume continues one: drop one")
        check_writable(Path(args.resume))
        args = with_recorded_flags(args)
        if args.rounds > 1:
            raise UsageError(f"--resume {args.resume!r}: a --rounds run cannot be resumed (its"
                             " rounds would not be alike); start it again")
        from bench.execute.resume import finished_note

        note = finished_note(args.resume)
        if note:  # resuming would only rewrite its footer, and make it another run
            print(f"sdxl-bench: {note}", file=sys.stderr)
            return 0
    if args.save_images is not None and not args.save_images.strip():
        raise UsageError("--save-images '': give a folder, or leave --save-images out")
    if args.save_images and (args.isolate or args.rounds > 1):
        flag = "--isolate" if args.isolate else "--rounds"
        raise UsageError(f"--save-images cannot be combined with {flag} (each worker would"
                         " start its own manifest); drop one of them")
    request = request_from_args(args)
    draft = prepare_plan(request)  # validate every flag before loading anything
    world = world_from_env()  # started by torchrun (directly, or by --nproc below)
    check_distributed_arguments(args, under_torchrun=world is not None)
    if world is not None:
        from bench.execute.distributed.ranks import rank_main

        out = Path(args.out) if args.out else None
        if world.is_main and not launched_for(out):  # plain torchrun: refuse like a run
            check_out(args.out, force=args.force)
        code, outcome = rank_main(request, world, out, args.save_images, args.dist_timeout,
                                  args.skip_after_oom)
        if outcome is not None:
            _show_ranks(outcome, world.world_size)
        return code
    out = check_out(args.out, force=args.force)
    if args.nproc is not None:
        return launch_ranks(args, draft, out)
    return run_sweep_command(args, request, out)


def launched_for(out: Path | None) -> bool:
    """Whether an ``--nproc`` launcher started this rank for ``out`` (and holds its lock)."""
    import os

    from bench.store.run_file import LOCK_HELD_ENV

    return out is not None and os.environ.get(LOCK_HELD_ENV) == str(out.resolve())


def launch_ranks(args: argparse.Namespace, draft, out: Path | None) -> int:
    """``--nproc``: the launcher holds the run file's lock while its ranks write it."""
    import os

    from bench.commands.distributed_options import launch_spec
    from bench.execute.distributed.launch import launch
    from bench.execute.output import check_writable, default_out
    from bench.store.run_file import LOCK_HELD_ENV, RunFileLock

    out = out or default_out(draft.scenario.name, draft.model.name,
                             f"{args.device}-x{args.nproc * args.nnodes}")
    check_writable(out)
    if args.save_images:
        from bench.determinism.manifest import check_images_dir

        check_images_dir(args.save_images)
    with RunFileLock(out):
        os.environ[LOCK_HELD_ENV] = str(out.resolve())
        code, scaling = launch(launch_spec(args), sys.argv[1:], out, args.option_strings)
    if args.scaling is not None:
        from bench.present.scaling import show_scaling

        show_scaling(scaling, out)
    return code


def run_sweep_command(args: argparse.Namespace, request, out: Path | None) -> int:
    """One process (or one worker per config with ``--isolate``): measure, store, print."""
    from bench.determinism.manifest import check_images_dir
    from bench.execute.executors import InProcess
    from bench.execute.isolate import Isolated
    from bench.execute.job import RunJob, run_job
    from bench.execute.output import check_writable, default_out
    from bench.execute.session import load_inputs, open_session, prepare_plan
    from bench.measure.device import resolve_device
    from bench.present.console import progress_bar

    device = resolve_device(request.options.device)
    plan = prepare_plan(request, device)
    out = Path(args.resume) if args.resume else out or default_out(
        plan.scenario.name, plan.model.name, device)
    check_writable(out)
    images = load_inputs(plan)  # unreadable images are refused before any file is made
    images_dir = check_images_dir(args.save_images) if args.save_images else None
    isolate = args.isolate or plan.rounds > 1  # each round's configs in fresh processes
    options = {"isolate": isolate, "memory_budget_gib": args.memory_budget,
               "skip_after_oom": args.skip_after_oom,
               **({"rounds": plan.rounds} if plan.rounds > 1 else {})}
    job = RunJob(plan, out, ["sdxl-bench", *sys.argv[1:]], header={"options": options},
                 images_dir=images_dir, resume=Path(args.resume) if args.resume else None,
                 skip_after_oom=args.skip_after_oom)

    def executor(session, saver):
        if isolate:
            return Isolated(request, args.memory_budget)
        return InProcess(session.pipes, session.images, session.nvml_device,
                         args.memory_budget, saver.record_fields if saver else None)

    def session():
        return open_session(plan, request, load=not isolate, images=images)

    if args.quiet:
        outcome = run_job(job, session, executor)
    else:
        steps = len(plan.configs) * plan.rounds
        with progress_bar(steps) as progress:
            task = progress.add_task(f"{plan.scenario.name} on {device}", total=steps)
            outcome = run_job(job, session, executor,
                              on_start=lambda done: progress.update(task, completed=done),
                              on_result=lambda r: progress.advance(task))
    _show(outcome, plan, out)
    return outcome.code


def _show_ranks(outcome, world_size: int) -> None:
    """Rank 0's table: images/s over all ranks."""
    from bench.present.console import results_console, results_table

    plan = outcome.session.plan
    out_console = results_console()
    out_console.print(results_table(
        outcome.results, title=f"{plan.scenario.name} · {plan.model.name} · {world_size}"
        f" rank{'s' if world_size != 1 else ''} · {outcome.session.env['device_name']}"
        f" · {plan.configs[0].dtype} (images/s: all ranks)"))
    out_console.print(f"run file: {outcome.path}")


def _show(outcome, plan, out: Path) -> None:
    """The results table, the optimization table, the cold start, where the file is, and
    how to continue an interrupted run."""
    from bench.present.cold_start import cold_start_line
    from bench.present.console import results_console, results_table
    from bench.present.optimization_table import optimization_table

    shown = outcome.results
    dtypes = ", ".join(dict.fromkeys(c.dtype for c in plan.configs))
    sizes = ", ".join(dict.fromkeys(f"{c.height}×{c.width}" for c in plan.configs))
    out_console = results_console()
    out_console.print(results_table(shown, title=f"{plan.scenario.name} · {plan.model.name}"
                                    f" · {outcome.session.env['device_name']} · {dtypes} · {sizes}"))
    out_console.print(optimization_table(shown))
    cold = cold_start_line(shown)
    if cold:
        out_console.print(cold, highlight=False)
    out_console.print(f"run file: {out}")
    if outcome.code and plan.rounds > 1:
        print(f"sdxl-bench: interrupted; the finished rounds are merged in {out} (a --rounds"
              " run cannot be resumed: run it again for all rounds)", file=sys.stderr)
    elif outcome.code:
        print(f"sdxl-bench: interrupted; finished configs are in {out}; continue with"
              f" sdxl-bench run --resume {out}", file=sys.stderr)
