"""The scale-out flags of ``run``: launching ranks through torchrun, scaling sweeps.

Kept apart from the sweep flags: they say *how many processes* measure, not *what*.
"""

from __future__ import annotations

import argparse
import math
import os

from bench.errors import UsageError
from bench.plan.sweep import parse_int_list


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "scale-out (data parallel through torch.distributed.run; see docs/scale-out.md)")
    group.add_argument("--nproc", type=int, default=None, metavar="N",
                       help="start N ranks on this node with torchrun; each measures its share"
                       " of every call's prompts (one GPU per rank, or the CPU)")
    group.add_argument("--nnodes", type=int, default=1, metavar="M",
                       help="nodes taking part (multi-node: run the same command on every node"
                       " with its --node-rank; default: 1)")
    group.add_argument("--node-rank", type=int, default=0, metavar="R",
                       help="this node's rank, 0 … M-1; node 0 hosts rank 0, which writes the"
                       " run file (default: 0)")
    group.add_argument("--rdzv-endpoint", default=None, metavar="HOST:PORT",
                       help="address of node 0 that every node can reach (multi-node)")
    group.add_argument("--scaling", nargs="?", const="all", default=None, metavar="LIST",
                       help="measure the same sweep at 1, 2, … N processes (or the given comma"
                       " list) and record the scaling efficiency")
    group.add_argument("--dist-timeout", type=float, default=900.0, metavar="SECONDS",
                       help="process-group timeout: how long a rank waits for a stuck peer"
                       " (default: %(default)s)")


def scaling_sizes(args: argparse.Namespace) -> tuple[int, ...]:
    """The world sizes of a ``--scaling`` sweep, ascending; 1 always first."""
    if args.scaling == "all":
        return tuple(range(1, args.nproc + 1))
    sizes = parse_int_list(args.scaling, "--scaling")
    if max(sizes) > args.nproc:
        raise UsageError(f"--scaling {args.scaling!r}: sizes must not exceed --nproc {args.nproc}")
    return tuple(sorted(set(sizes) | {1}))


def check_distributed_arguments(args: argparse.Namespace, under_torchrun: bool) -> None:
    """Refuse flag combinations that cannot work, before anything is loaded."""
    if not math.isfinite(args.dist_timeout) or args.dist_timeout <= 0:
        raise UsageError(f"--dist-timeout {args.dist_timeout}: must be a positive number of seconds")
    if under_torchrun or args.nproc is not None:
        for flag in ("isolate", "resume", "memory_budget", "min_time", "max_time",
                     "target_uncertainty", "max_repeats"):
            if getattr(args, flag, None):
                raise UsageError(f"--{flag.replace('_', '-')} is not available with --nproc or under"
                                 " torchrun (ranks measure in process, in step); drop it")
        if getattr(args, "rounds", 1) > 1:
            raise UsageError("--rounds is not available with --nproc or under torchrun (each"
                             " round is a fresh single process); drop it")
    if under_torchrun:
        if os.environ.get("SDXL_BENCH_LAUNCH") is None and args.nproc is not None:
            raise UsageError("--nproc starts torchrun; this process already runs under torchrun:"
                             " drop --nproc (and --nnodes, --node-rank, --rdzv-endpoint, --scaling)")
        return
    if args.nproc is None:
        for flag in ("scaling", "rdzv_endpoint"):
            if getattr(args, flag) is not None:
                raise UsageError(f"--{flag.replace('_', '-')} needs --nproc N"
                                 " (use --nproc 1 for a single rank)")
        if args.nnodes != 1 or args.node_rank != 0:
            raise UsageError("--nnodes/--node-rank need --nproc N (ranks per node)")
        return
    if args.nproc < 1:
        raise UsageError(f"--nproc {args.nproc}: must be a positive integer")
    if args.device.startswith("cuda:") and args.nproc > 1:
        raise UsageError(f"--device {args.device!r} would put every rank on one GPU; use --device"
                         " cuda (rank i takes cuda:LOCAL_RANK)")
    if args.nnodes < 1:
        raise UsageError(f"--nnodes {args.nnodes}: must be a positive integer")
    if not 0 <= args.node_rank < args.nnodes:
        raise UsageError(f"--node-rank {args.node_rank}: must be in 0 … {args.nnodes - 1}"
                         f" for --nnodes {args.nnodes}")
    if args.nnodes > 1:
        endpoint = args.rdzv_endpoint or ""
        host, _, port = endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--rdzv-endpoint {args.rdzv_endpoint!r}: multi-node needs HOST:PORT"
                             " of node 0")
    if args.scaling is not None:
        if args.nnodes > 1:
            raise UsageError("--scaling runs on one node; drop --nnodes (compare multi-node run"
                             " files instead)")
        scaling_sizes(args)


def launch_spec(args: argparse.Namespace):
    """The launcher flags as ``bench.execute.distributed.launch.Launch`` (checked already)."""
    from bench.execute.distributed.launch import Launch

    return Launch(nproc=args.nproc, device=args.device, nnodes=args.nnodes,
                  node_rank=args.node_rank, rdzv_endpoint=args.rdzv_endpoint,
                  scaling=scaling_sizes(args) if args.scaling is not None else None)
