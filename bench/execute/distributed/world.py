"""Data-parallel plumbing for ranks started by ``torch.distributed.run`` (torchrun).

- world info from the environment torchrun sets (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``…);
- the device of a rank (``cuda:LOCAL_RANK``, or the CPU);
- a rank's share of a call: a contiguous slice of the call's prompt entries, so its
  images are a contiguous slice of the global image indices;
- the process group and the few collectives the measurement needs.

The process group is a *control plane* only: barriers, one reduction of latencies and
small objects gathered to rank 0. No tensors of the model ever travel, so it always
uses gloo, on CPU and GPU alike: a barrier there runs after the device is synchronised,
which is the meaning we want, and gloo notices a dead peer at once (its sockets close)
where NCCL would hang until the timeout.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from bench.errors import UsageError

BACKEND = "gloo"
ENV_KEYS = ("WORLD_SIZE", "RANK", "LOCAL_RANK")


class PeerFailure(BaseException):
    """A collective failed: another rank died or timed out; the process group is gone.

    A ``BaseException`` so that no per-config ``except Exception`` swallows it.
    """


@dataclass(frozen=True)
class World:
    """This process's place among the ranks."""

    rank: int
    local_rank: int
    world_size: int
    local_world_size: int
    hostname: str
    node_rank: int = 0  # torchrun's GROUP_RANK
    nnodes: int = 1  # torchrun's GROUP_WORLD_SIZE

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world_from_env(environ: dict | None = None) -> World | None:
    """The world torchrun describes in the environment, or ``None`` outside torchrun."""
    env = os.environ if environ is None else environ
    if not all(key in env for key in ENV_KEYS):
        return None
    try:
        rank, local_rank, size = (int(env[key]) for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))
        local_size = int(env.get("LOCAL_WORLD_SIZE", size))
        node_rank, nnodes = int(env.get("GROUP_RANK", 0)), int(env.get("GROUP_WORLD_SIZE", 1))
    except ValueError:
        raise UsageError("WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK,"
                         " GROUP_WORLD_SIZE must be integers (as torchrun sets them)") from None
    if not 0 <= rank < size or not 0 <= local_rank < local_size:
        raise UsageError(f"RANK {rank} / LOCAL_RANK {local_rank} outside WORLD_SIZE {size}")
    return World(rank, local_rank, size, local_size, socket.gethostname(), node_rank, nnodes)


def rank_device(requested: str, world: World) -> str:
    """``auto``/``cuda`` → ``cuda:LOCAL_RANK`` (CPU when ``auto`` finds no GPU); ``cpu`` stays.

    A rank that sees exactly one GPU (per-rank ``CUDA_VISIBLE_DEVICES``, as SLURM sets it)
    takes ``cuda:0`` whatever its LOCAL_RANK."""
    import torch

    if requested == "cpu":
        return "cpu"
    if requested == "auto" and not torch.cuda.is_available():
        return "cpu"
    if requested.startswith("cuda:") and world.local_world_size > 1:
        raise UsageError(
            f"--device {requested!r} would put every rank on one GPU; use --device cuda"
            " (rank i takes cuda:LOCAL_RANK)"
        )
    if requested in ("auto", "cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {requested!r}: CUDA is not available on this machine")
        count = torch.cuda.device_count()
        if count == 1:
            return "cuda:0"
        if world.local_rank >= count:
            raise UsageError(
                f"LOCAL_RANK {world.local_rank} has no GPU: this node has {count} CUDA devices"
                f" for {world.local_world_size} ranks"
            )
        return f"cuda:{world.local_rank}"
    from bench.measure.device import resolve_device

    return resolve_device(requested)


def share(total: int, world_size: int, rank: int) -> range:
    """Rank ``rank``'s contiguous slice of ``total`` items; the first ``total % world_size``
    ranks take one more, so shares differ by at most one and rank 0 holds the largest."""
    base, extra = divmod(total, world_size)
    start = rank * base + min(rank, extra)
    return range(start, start + base + (rank < extra))


def init_process_group(world: World, timeout_s: float) -> None:
    """Join the ranks (env:// rendezvous that torchrun prepared), gloo, with a timeout."""
    from datetime import timedelta

    import torch.distributed as dist

    dist.init_process_group(backend=BACKEND, timeout=timedelta(seconds=timeout_s))


def destroy_process_group() -> None:
    import torch.distributed as dist

    if _grouped():
        dist.destroy_process_group()


def _collective(fn, *args):
    """Run a collective; any failure means a peer is gone: raise ``PeerFailure``."""
    try:
        return fn(*args)
    except Exception as exc:  # gloo raises RuntimeError / DistBackendError subclasses
        raise PeerFailure(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}") from exc


def _grouped() -> bool:
    """Whether a process group exists; without one the collectives are the identity."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def barrier() -> None:
    import torch.distributed as dist

    if _grouped():
        _collective(dist.barrier)


def all_gather(obj: object, world: World) -> list:
    """Every rank's ``obj``, in rank order, on every rank (so all ranks agree on status)."""
    import torch.distributed as dist

    if not _grouped():
        return [obj]
    gathered: list = [None] * world.world_size
    _collective(dist.all_gather_object, gathered, obj)
    return gathered


def gather_to_main(obj: object, world: World) -> list | None:
    """Every rank's ``obj`` in rank order on rank 0 (``None`` elsewhere): for payloads
    only rank 0 needs, such as images."""
    import torch.distributed as dist

    if not _grouped():
        return [obj]
    gathered: list | None = [None] * world.world_size if world.is_main else None
    _collective(dist.gather_object, obj, gathered, 0)
    return gathered


def max_across(values: list[float]) -> list[float]:
    """Element-wise maximum over ranks (all_reduce MAX); every rank passes equal lengths."""
    import torch
    import torch.distributed as dist

    if not _grouped():
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64)
    _collective(dist.all_reduce, tensor, dist.ReduceOp.MAX)
    return tensor.tolist()
