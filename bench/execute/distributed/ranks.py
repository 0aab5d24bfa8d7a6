"""A rank's side of a data-parallel run: the one session setup, the one sweep loop.

Every rank opens the session (pipelines on its own device) and runs ``run_sweep`` with a
``RankExecutor``: it measures its share of each config, the per-rank records are gathered
on every rank (so all ranks agree on each config's status), and rank 0 writes the
aggregate record (flushed) before the next config starts.

How a run ends early:
- a rank's call raises (OOM, error): the config is recorded with that rank's error and
  the sweep goes on;
- SIGINT/SIGTERM (torchrun sends SIGTERM to the survivors when a rank dies): the config
  in flight is recorded ``interrupted``, then the footer;
- a rank dies and a collective breaks (``PeerFailure``, at once with gloo, or after
  ``--dist-timeout`` for a rank that hangs): the config in flight is recorded
  ``crashed``, then the footer.
Rank 0 dying ends the run without footer; the records it wrote stay readable.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.execute.distributed import world as distributed
from bench.execute.distributed.launch import Segment, segment_from_env
from bench.execute.distributed.shards import (
    FAULT_ENV,
    RankShare,
    aggregate_result,
    call_latencies,
    measure_rank,
    prepare_shard,
)
from bench.execute.distributed.world import PeerFailure, World
from bench.execute.job import JobOutcome
from bench.execute.output import check_writable, default_out
from bench.execute.session import Session
from bench.execute.sweep import Abort
from bench.measure.config import failed_result
from bench.plan.request import SweepRequest
from bench.plan.sweep import Config, Plan
from bench.result import ConfigResult, Status


def injected_fault(rank: int, config_index: int, spec: str | None = None) -> str | None:
    """The test hook ``SDXL_BENCH_FAULT="RANK:CONFIG:MODE,…"`` for this rank and config."""
    spec = os.environ.get(FAULT_ENV, "") if spec is None else spec
    for item in filter(None, spec.split(",")):
        fault_rank, fault_config, mode = item.split(":")
        if int(fault_rank) == rank and int(fault_config) == config_index:
            return mode
    return None


def config_id_for(config, world_size: int, segment: Segment) -> str:
    """Unique within the file: a ``--scaling`` run holds each config once per world size."""
    return f"{config.config_id}/np{world_size}" if segment.id_suffix else config.config_id


def _save_shares(saver, config, shares: list) -> dict:
    """Save the gathered shares (global order) through the run's ``ImageSaver``; a full
    disk costs the images, never the record."""
    import numpy as np

    try:
        return saver.record_fields(config, np.concatenate([s for s in shares if s is not None]))
    except OSError as exc:
        print(f"sdxl-bench: --save-images {saver.folder}: {exc}", file=sys.stderr)
        return {"images_dir": None, "images_error": str(exc)}


@dataclass
class RankExecutor:
    """Executor: this rank's share of a config, aggregated over all ranks."""

    session: Session
    world: World
    info: dict  # this rank's identity, gathered with its record
    save_images: bool = False
    saver: Any = None  # rank 0's ImageSaver when saving

    @property
    def world_fields(self) -> dict:
        return {"world_size": self.world.world_size, "backend": distributed.BACKEND}

    def __call__(self, plan: Plan, config: Config) -> ConfigResult:
        session, world = self.session, self.world
        fault = injected_fault(world.rank, plan.configs.index(config))
        try:
            call, mine, indices = measure_rank(
                lambda: prepare_shard(session.pipes.for_config(config), config, plan.prompts,
                                      session.images, world.rank, world.world_size, fault),
                config, session.nvml_device, plan.scenario.check_repeats)
            latencies = distributed.max_across(call_latencies(mine, config.repeats))
            shares = distributed.all_gather(RankShare(self.info, mine, indices), world)
            result = aggregate_result(config, shares, latencies, self.world_fields)
            if result.ok:
                result = result.with_fields(**session.pipes.describe(config))
            if self.save_images:
                images = distributed.gather_to_main(call.last_images[0] if mine.ok else None, world)
                if self.saver is not None and result.ok:
                    result = result.with_fields(**_save_shares(self.saver, config, images))
        except PeerFailure as exc:
            reason = f"a rank stopped responding: {exc}"
            raise Abort(failed_result(config, Status.CRASHED, reason), 1, reason) from exc
        return result

    def label(self, segment: Segment):
        """Fields every record of this rank's run carries, the loop's own records included."""
        def fields(config: Config, result: ConfigResult) -> dict:
            extra = {**self.world_fields, "config_id": config_id_for(config, self.world.world_size,
                                                                   segment),
                     "base_config_id": config.config_id}
            if result.status is Status.INTERRUPTED and "SIGTERM" in (result.error or ""):
                extra["error"] = result.error + " (torchrun sends it when a rank fails)"
            return extra
        return fields


def _ignore_signals() -> None:
    """After the sweep: a second signal must not kill a rank in the middle of teardown."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def rank_main(request: SweepRequest, world: World, out: Path | None, save_images: str | None,
              dist_timeout: float, skip_after_oom: bool = True) -> tuple[int, JobOutcome | None]:
    """``sdxl-bench run`` inside one rank (started by ``--nproc`` or by torchrun itself):
    the exit code, and on rank 0 what it wrote (for the caller to show)."""
    from bench.execute.distributed.world import rank_device
    from bench.execute.job import RunJob, run_job
    from bench.execute.session import open_session, prepare_plan

    segment = segment_from_env()
    device = rank_device(request.options.device, world)
    plan = prepare_plan(request, device)
    out = out or default_out(plan.scenario.name, plan.model.name, device)
    if world.is_main and segment.header:
        check_writable(out)
    folder = None
    if save_images and world.is_main:
        from bench.determinism.manifest import check_images_dir

        # A --scaling run saves each world size's images apart: the same images, same names.
        folder = check_images_dir(Path(save_images) / (f"np{world.world_size}"
                                                       if segment.id_suffix else ""))
    job = RunJob(plan, out if world.is_main else None,
                 list(segment.command or ("sdxl-bench", *sys.argv[1:])), images_dir=folder,
                 write_header=segment.header,
                 footer={"world_size": world.world_size} if segment.footer else None,
                 skip_after_oom=skip_after_oom, annotate=world.is_main,
                 world_size=world.world_size)
    joined: list[dict] = []  # this rank's identity, then every rank's, once the group is joined

    def session() -> Session:
        # Load before joining the process group: with a group initialised, transformers'
        # save_pretrained writes weights on rank 0 only, which would break the tiny cache build.
        opened = open_session(plan, request, ranks_on_node=world.local_world_size)
        distributed.init_process_group(world, dist_timeout)
        import torch

        info = {"rank": world.rank, "local_rank": world.local_rank, "node_rank": world.node_rank,
                "hostname": world.hostname, "device": device,
                "device_name": opened.env["device_name"], "torch_threads": torch.get_num_threads()}
        joined[:] = [info, distributed.all_gather(info, world)]
        return opened

    def header(opened: Session) -> dict:
        return {"distributed": {
            "world_size": world.world_size, "backend": distributed.BACKEND,
            "nnodes": world.nnodes, "ranks": joined[1],
            "scaling": list(segment.world_sizes) if segment.world_sizes else None}}

    executors: list[RankExecutor] = []

    def executor(opened: Session, saver) -> RankExecutor:
        executors.append(RankExecutor(opened, world, joined[0], bool(save_images), saver))
        return executors[0]

    def label(config: Config, result: ConfigResult) -> dict:
        return executors[0].label(segment)(config, result)

    try:
        outcome = run_job(job, session, executor, header=header, label=label)
    except PeerFailure as exc:  # a peer died before the sweep began
        print(f"sdxl-bench: rank {world.rank}: {exc}", file=sys.stderr)
        return 1, None
    finally:
        _ignore_signals()
        distributed.destroy_process_group()
    return outcome.code, outcome if world.is_main else None
