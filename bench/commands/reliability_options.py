"""Flags for surviving a long sweep: isolation, a memory budget, skipping after OOM."""

from __future__ import annotations

import argparse
import math

from bench.errors import UsageError


def add_reliability_arguments(parser: argparse.ArgumentParser, resume: bool = False) -> None:
    group = parser.add_argument_group("reliability")
    group.add_argument("--isolate", action="store_true",
                       help="measure each config in a fresh worker process: an out-of-memory"
                       " error, a segfault or a killed worker cannot touch the other configs")
    group.add_argument("--memory-budget", type=float, default=None, metavar="GIB",
                       help="pretend the device has this much memory: a config whose tracked"
                       " memory (torch allocated on CUDA, RSS growth on CPU) passes it fails"
                       " with a real torch.OutOfMemoryError")
    group.add_argument("--no-skip-after-oom", dest="skip_after_oom", action="store_false",
                       help="run configs larger than one that ran out of memory anyway")
    if resume:
        group.add_argument("--resume", default=None, metavar="RUN_FILE",
                           help="continue a partial run: same flags, configs already finished"
                           " (ok, oom, skipped) are not run again")


def check_reliability_args(args: argparse.Namespace) -> None:
    """Refuse bad values and conflicting options before anything is loaded."""
    budget = args.memory_budget
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise UsageError(f"--memory-budget {budget:g}: must be a positive number of GiB")
    resume, out = getattr(args, "resume", None), getattr(args, "out", None)
    if resume and out and out != resume:
        raise UsageError(
            f"--resume {resume!r} with --out {out!r}: a resumed run is written to the file"
            " it resumes; drop --out"
        )
