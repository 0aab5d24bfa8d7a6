"""One config measured data-parallel: each rank times its share, rank 0 aggregates.

The rank's share is a ``PreparedCall`` of its own (a slice of the call's prompt entries,
generators seeded by global image index) measured by ``bench.measure.config.measure_config``
with the usual trackers plus a ``BarrierTracker``: every timed call starts after a
barrier, and the call's latency is the slowest rank's (all_reduce MAX).

A rank whose call raises still walks through the barriers it owes, so the ranks stay in
step and the config is recorded with that rank's error; a rank that *dies* breaks the
process group instead (``PeerFailure``), which ends the run (see ``ranks``).

A data-parallel record is the single-process record of the config (every field the
first working rank measured) with the aggregate fields over all ranks laid on top.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from bench.execute.distributed import world as distributed
from bench.measure.config import (
    PreparedCall,
    default_trackers,
    failed_result,
    measure_config,
    prepare_call,
)
from bench.measure.device import synchronize
from bench.measure.inputs import CallInputs, layout_call
from bench.measure.trackers import Tracker
from bench.plan.sweep import Config
from bench.result import ConfigResult, Status
from bench.stats import summarize

# Test hook: "RANK:CONFIG_INDEX:MODE[,...]" makes that rank fail at that config for real,
# inside its pipeline call: MODE "raise" raises RuntimeError, "exit" ends the process.
FAULT_ENV = "SDXL_BENCH_FAULT"


@dataclass(frozen=True)
class ShardCall(PreparedCall):
    """A rank's share of a call; keeps its latest output for hashing and saving."""

    image_indices: range = range(0)
    fault: str | None = None
    last_images: list = field(default_factory=list)

    def __call__(self, generators: list, **extra):
        if self.fault == "exit":
            os._exit(17)
        if self.fault == "raise":
            raise RuntimeError(f"injected failure ({FAULT_ENV})")
        images = super().__call__(generators, **extra)
        self.last_images[:] = [images]
        return images


def shard_inputs(inputs: CallInputs, entries: range) -> CallInputs:
    """The prompt entries ``entries`` of a laid-out call, with their images' prompt indices."""
    k = inputs.num_images_per_prompt
    return CallInputs(
        prompts=inputs.prompts[entries.start:entries.stop],
        images=inputs.images[entries.start:entries.stop] if inputs.images else (),
        num_images_per_prompt=k,
        prompt_indices=inputs.prompt_indices[entries.start * k:entries.stop * k],
    )


def prepare_shard(pipes, config: Config, prompts: tuple, images: tuple, rank: int,
                  world_size: int, fault: str | None = None) -> ShardCall:
    """Rank ``rank``'s share of ``config``'s call: entries split as ``distributed.share``.

    Its config is the share's own (batch size = its entries) with ``seed`` moved to its
    first global image, so ``Config.seeds`` gives image ``g`` the seed ``seed + g``,
    exactly as in a one-process call.
    """
    full = prepare_call(pipes, config, prompts, images)
    inputs = layout_call(prompts, images, config.batch_size, config.num_images_per_prompt)
    entries = distributed.share(len(inputs.prompts), world_size, rank)
    k = inputs.num_images_per_prompt
    part = shard_inputs(inputs, entries)
    kwargs = {**full.kwargs, "prompt": list(part.prompts), "num_images_per_prompt": k}
    if "image" in kwargs:
        kwargs["image"] = list(part.images)
    shard_config = dataclasses.replace(
        config, batch_size=len(entries), num_images_per_prompt=k, seed=config.seed + entries.start * k
    )
    return ShardCall(full.pipe, shard_config, part, kwargs,
                     image_indices=range(entries.start * k, entries.stop * k), fault=fault)


class BarrierTracker(Tracker):
    """A barrier before every timed call (after synchronising), counted so that a rank
    that failed can pay the barriers it still owes."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.count = 0

    @contextmanager
    def call(self):
        synchronize(self.device)
        distributed.barrier()
        self.count += 1
        yield

    def catch_up(self, repeats: int) -> None:
        while self.count < repeats:
            distributed.barrier()
            self.count += 1


@dataclass(frozen=True)
class RankShare:
    """One rank's outcome for a config: who it is, which images it made, its result."""

    info: dict  # rank, local_rank, node_rank, hostname, device, device_name, torch_threads
    result: ConfigResult  # of the rank's share (status OK, IDLE, ERROR or OOM)
    image_indices: tuple[int, int] | None  # [start, stop) of its images in the call

    @property
    def rank(self) -> int:
        return int(self.info.get("rank", 0))

    def summary(self) -> dict:
        """The rank's entry in the record's ``ranks`` list (the rest is in the record)."""
        shared = {k: v for k, v in self.result.to_record().items() if k in RANK_SUMMARY}
        return {**self.info, **shared,
                "image_indices": list(self.image_indices) if self.image_indices else None}


def _failure(exc: BaseException, config: Config) -> ConfigResult:
    from bench.measure.oom import is_out_of_memory, release_memory

    release_memory(config.device)
    status = Status.OOM if is_out_of_memory(exc) else Status.ERROR
    return failed_result(config, status, f"{type(exc).__name__}: {exc}".strip())


def measure_rank(prepare: Callable[[], ShardCall], config: Config, nvml_device,
                 check_repeats: bool) -> tuple[ShardCall | None, ConfigResult, tuple[int, int] | None]:
    """This rank's share (``prepare()``) measured: (the call, its result, its images'
    [start, stop)). A failing share never raises: it pays the barriers it owes and reports;
    only ``PeerFailure`` and ``Interrupted`` propagate."""
    barriers = BarrierTracker(config.device)
    try:
        call = prepare()
    except Exception as exc:
        barriers.catch_up(config.repeats)
        return None, _failure(exc, config).replace(images_per_call=0), None
    indices = (call.image_indices.start, call.image_indices.stop)
    if not call.image_indices:  # more ranks than prompt entries: this rank idles
        barriers.catch_up(config.repeats)
        return call, failed_result(call.config, Status.IDLE, None), indices
    trackers = default_trackers(call.config, nvml_device)
    trackers.insert(len(trackers) - 1, barriers)  # just outside the latency clock
    try:
        result = measure_config(call, trackers, check_repeats)
    except Exception as exc:  # this rank's call failed: pay the owed barriers, report it
        barriers.catch_up(config.repeats)
        return call, _failure(exc, call.config), indices
    return call, result, indices


# What a rank's entry in the record's ``ranks`` list keeps of its share's record.
RANK_SUMMARY = ("images_per_call", "status", "error",
                "latency_s", "images_per_s", "stages_s", "steps_run_measured", "peak_memory_bytes",
                "device_memory_bytes", "memory_sampler", "energy_j_per_image", "avg_power_w",
                "energy_unavailable",
                "nan_images", "black_images", "image_sha256", "prompt_indices",
                "repeats_identical", "vae_dtype", "vae_force_upcast", "watermark",
                "latency_event_check")


def call_latencies(result: ConfigResult, repeats: int) -> list[float]:
    """The rank's per-call latencies for the MAX reduction; zeros where it timed nothing."""
    values = list(result.latency_values)
    return values + [0.0] * (repeats - len(values))


def _sum_or_none(values) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _per_call_sums(working: list[ConfigResult]) -> dict[str, list[int]]:
    """Each memory view's per-call peaks summed over ranks (the calls are in step, one
    barrier each); a view some rank lacks, or with a different count, is left out."""
    per_rank = [r.peak_memory_per_call or {} for r in working]
    sums = {}
    for view in per_rank[0] if per_rank else {}:
        columns = [calls.get(view) or () for calls in per_rank]
        if all(len(c) == len(columns[0]) for c in columns) and columns[0]:
            sums[view] = [sum(values) for values in zip(*columns, strict=True)]
    return sums


def aggregate_result(config: Config, shares: list[RankShare], latencies: list[float],
                     world: dict, config_id: str | None = None) -> ConfigResult:
    """The result of one config over all ranks (pure: no torch).

    ``shares`` holds every rank's outcome in rank order; ``latencies`` the per-call maxima
    over ranks. Fields nobody aggregates (stage timings, compile events, clocks, warm-up
    time, …) are the first working rank's, named by ``stages_rank``.
    """
    fields: dict = {"type": "config", **config.describe(),
                    "config_id": config_id or config.config_id,
                    "base_config_id": config.config_id, **world,
                    "ranks": [share.summary() for share in shares]}
    failed = [s for s in shares if s.result.status not in (Status.OK, Status.IDLE)]
    if failed:
        status = Status.OOM if any(s.result.status is Status.OOM for s in failed) else Status.ERROR
        fields.update(status=status, latency_s=None, images_per_s=None,
                      error="; ".join(f"rank {s.rank}: {s.result.error}" for s in failed))
        return ConfigResult.from_record(fields)
    working_shares = [s for s in shares if s.result.ok]
    working = [s.result for s in working_shares]
    fields.update({k: v for k, v in working[0].to_record().items() if k not in fields})
    latency = summarize(latencies)
    images = sum(r.images_per_call for r in working)
    joules = _sum_or_none(
        r.energy_j_per_image * r.images_per_call if r.energy_j_per_image is not None else None
        for r in working
    )
    views = {view for r in working for view in (r.peak_memory or {})}
    fields.update(
        status=Status.OK,
        error=None,
        latency_s=latency,
        images_per_s=images / latency["median"] if latency["median"] > 0 else None,
        stages_rank=working_shares[0].rank,
        peak_memory_bytes={view: _sum_or_none((r.peak_memory or {}).get(view) for r in working)
                           for view in sorted(views)},
        peak_memory_per_call_bytes=_per_call_sums(working),
        device_memory_bytes=_sum_or_none(r.device_memory_bytes for r in working),
        energy_j_per_image=joules / images if joules is not None else None,
        energy_unavailable=None if joules is not None else next(
            (r.energy_unavailable for r in working if r.energy_unavailable), None),
        avg_power_w=_sum_or_none(r.avg_power_w for r in working),
        nan_images=sum(r.nan_images or 0 for r in working),
        black_images=sum(r.black_images or 0 for r in working),
        image_sha256=[h for r in working for h in r.image_sha256 or ()],
        prompt_indices=[p for r in working for p in r.prompt_indices or ()],
        idle_ranks=[s.rank for s in shares if s.result.status is Status.IDLE],
    )
    if any(r.has("repeats_identical") for r in working):  # a missing one counts as identical
        fields["repeats_identical"] = all(r.repeats_identical if r.has("repeats_identical")
                                          else True for r in working)
    return ConfigResult.from_record(fields)
