"""A rank's side of a data-parallel run: build, measure every config, rank 0 writes.

Every rank loads the pipelines on its own device and measures its share of each config;
the per-rank results are gathered on every rank, and rank 0 writes the aggregate record
(flushed) before the next config starts, as the single-process runner does.

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
import time
from contextlib import contextmanager
from pathlib import Path

from bench.execute.distributed import world as distributed
from bench.execute.distributed.launch import Segment, segment_from_env
from bench.execute.distributed.shards import (
    FAULT_ENV,
    aggregate_record,
    call_latencies,
    measure_rank,
    prepare_shard,
)
from bench.execute.distributed.world import PeerFailure, World
from bench.execute.executors import failed_record
from bench.execute.interrupts import Interrupted
from bench.execute.sweep import now_iso


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


def _measure_config(pipes, plan, config, index, images, world, nvml_device):
    """This rank's share measured and the per-call latency maxima; raises only
    ``PeerFailure`` / ``Interrupted``."""
    fault = injected_fault(world.rank, index)
    call, result = measure_rank(
        lambda: prepare_shard(pipes.for_config(config), config, plan.prompts, images, world.rank,
                              world.world_size, fault),
        config, nvml_device, plan.scenario.check_repeats)
    latencies = distributed.max_across(call_latencies(result, config.repeats))
    return call, result, latencies


@contextmanager
def signals_deferred():
    """Hold SIGINT/SIGTERM while a record is written; they arrive right after."""
    mask = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, mask)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, mask)


def run_rank_sweep(plan, pipes, images: tuple, world: World, info: dict, writer,
                   nvml_device, segment: Segment, save_images: bool = False, saver=None):
    """Measure every config on this rank; rank 0 writes (and saves images through
    ``saver`` when ``save_images``). ``pipes``: a ``PipelineGroups``. Returns (records,
    exit code)."""
    records: list[dict] = []
    started = time.perf_counter()
    exit_code = 0
    failure = None
    world_fields = {"world_size": world.world_size, "backend": distributed.BACKEND}
    handlers = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index, config in enumerate(plan.configs):
            config_id = config_id_for(config, world.world_size, segment)
            try:
                call, result, latencies = _measure_config(pipes, plan, config, index, images,
                                                          world, nvml_device)
                results = distributed.all_gather({**info, **result}, world)
                record = aggregate_record(config, results, latencies, world_fields, config_id)
                if save_images:
                    mine = call.last_images[0] if result["status"] == "ok" else None
                    shares = distributed.gather_to_main(mine, world)
                    if saver is not None and record["status"] == "ok":
                        record.update(_save_shares(saver, config, shares))
            except Interrupted as stop:
                note = " (torchrun sends it when a rank fails)" if stop.signum == signal.SIGTERM else ""
                record = failed_record(config, "interrupted", f"stopped by {stop}{note}",
                                       **world_fields)
                exit_code = stop.exit_code
            except PeerFailure as exc:
                failure = f"a rank stopped responding: {exc}"
                record = failed_record(config, "crashed", failure, **world_fields)
                exit_code = 1
            record["config_id"] = config_id
            record.setdefault("base_config_id", config.config_id)
            if writer:
                with signals_deferred():  # a record is never torn by the signal that ends the run
                    writer.write(record)
            records.append(record)
            if exit_code:
                break
    except Interrupted as stop:
        exit_code = stop.exit_code
    finally:
        _ignore_signals()
        if writer and segment.footer:
            footer = {"type": "footer", "status": "interrupted" if exit_code else "complete",
                      "finished_at": now_iso(), "duration_s": time.perf_counter() - started,
                      "configs": len(records), "world_size": world.world_size}
            if failure:
                footer["error"] = failure
            writer.write(footer)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return records, exit_code


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def _ignore_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def rank_main(args, world: World) -> int:
    """``sdxl-bench run`` inside one rank (started by ``--nproc`` or by torchrun itself)."""
    from bench.build.pipeline_groups import PipelineGroups
    from bench.build.pipelines import quiet_libraries
    from bench.commands.run import check_writable, default_out
    from bench.commands.sweep_options import plan_from_args
    from bench.execute.distributed.world import rank_device
    from bench.execute.sweep import header_record
    from bench.measure import environment
    from bench.measure.inputs import load_images
    from bench.measure.nvml import NvmlDevice
    from bench.store.run_file import RunWriter

    segment = segment_from_env()
    device = rank_device(args.device, world)
    plan = plan_from_args(args, device=device)
    first = plan.configs[0]
    out = Path(args.out) if args.out else default_out(plan.scenario.name, plan.model.name, device)
    if world.is_main and segment.header:
        check_writable(out)
    saver = None
    if args.save_images and world.is_main:
        from bench.determinism.manifest import ImageSaver, check_images_dir

        # A --scaling run saves each world size's images apart: the same images, same names.
        folder = Path(args.save_images) / (f"np{world.world_size}" if segment.id_suffix else "")
        saver = ImageSaver(check_images_dir(folder), plan.model.name, plan.prompts, plan.images,
                           plan.scenario.num_default_images,
                           command=list(segment.command or ("sdxl-bench", *sys.argv[1:])))
    images = ()
    if plan.scenario.task == "img2img":
        images = load_images(plan.images, plan.scenario.num_default_images, first.height,
                             first.width)
    quiet_libraries()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    elif device == "cpu" and world.local_world_size > 1:  # the ranks of a node share its cores
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world.local_world_size))
    # Load before joining the process group: with a group initialised, transformers'
    # save_pretrained writes weights on rank 0 only, which would break the tiny cache build.
    pipes = PipelineGroups(plan.model, device)
    pipes.for_config(first)
    nvml_device = NvmlDevice.open(device)
    env = environment.collect(device)
    distributed.init_process_group(world, args.dist_timeout)
    try:
        info = {"rank": world.rank, "local_rank": world.local_rank, "node_rank": world.node_rank,
                "hostname": world.hostname,
                "device": device, "device_name": env["device_name"],
                "torch_threads": torch.get_num_threads()}
        ranks = distributed.all_gather(info, world)
        writer = None
        if world.is_main:
            writer = RunWriter(out, mode="w" if segment.header else "a")
        try:
            if writer and segment.header:
                command = list(segment.command or ("sdxl-bench", *sys.argv[1:]))
                header = header_record(plan, command, env)
                if saver:
                    header["images_dir"] = str(saver.folder)
                    saver.run_id = header["run_id"]
                header["distributed"] = {
                    "world_size": world.world_size, "backend": distributed.BACKEND,
                    "nnodes": world.nnodes, "ranks": ranks,
                    "scaling": list(segment.world_sizes) if segment.world_sizes else None,
                }
                writer.write(header)
            records, code = run_rank_sweep(plan, pipes, images, world, info, writer,
                                           nvml_device, segment, bool(args.save_images), saver)
        finally:
            if writer:
                writer.close()
    except PeerFailure as exc:  # a peer died before the sweep began
        print(f"sdxl-bench: rank {world.rank}: {exc}", file=sys.stderr)
        return 1
    finally:
        distributed.destroy_process_group()
    if world.is_main:
        _print_results(records, plan, env, world, out)
    return code


def _print_results(records, plan, env, world: World, out: Path) -> None:
    from bench.present.console import console, results_table

    out_console = console()
    out_console.print(results_table(
        records, title=f"{plan.scenario.name} · {plan.model.name} · {world.world_size} ranks"
        f" · {env['device_name']} · {plan.configs[0].dtype} (images/s: all ranks)"))
    out_console.print(f"run file: {out}")
