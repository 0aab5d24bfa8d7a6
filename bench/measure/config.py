"""Measure one config in this process: warm-up calls, then timed calls wrapped by composed
trackers; any failure becomes a record (``oom``, ``error``), never a lost sweep."""

from __future__ import annotations

import statistics
import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from typing import Any

from bench.measure.generators import check_generator_count, generator_device, make_generators
from bench.measure.images import content_hash, has_nan, is_black
from bench.measure.inputs import CallInputs, layout_call
from bench.measure.oom import (
    MemoryBudget,
    is_out_of_memory,
    memory_reached,
    prepare_config,
    release_memory,
    reset_peaks,
)
from bench.measure.trackers import Tracker
from bench.measure.trackers.clocks import ClockTracker
from bench.measure.trackers.cold_start import ColdStartTracker
from bench.measure.trackers.compile import CompileTracker
from bench.measure.trackers.energy import EnergyTracker
from bench.measure.trackers.latency import LatencyTracker
from bench.measure.trackers.load import LoadTracker
from bench.measure.trackers.memory import MemoryTracker
from bench.measure.trackers.stages import StageTracker
from bench.plan.sweep import Config
from bench.result import ConfigResult, Status
from bench.stats import median_interval
from bench.units import GIB


@dataclass(frozen=True)
class PreparedCall:
    """Everything for one config's calls except the generators, built once per config."""

    pipe: Any
    config: Config
    inputs: CallInputs
    kwargs: dict

    def __call__(self, generators: list, **extra: Any):
        """One pipeline call; returns the images as a float array (N, H, W, 3)."""
        check_generator_count(generators, self.config.batch_size, self.config.num_images_per_prompt)
        return self.pipe(**self.kwargs, generator=generators, **extra).images

    def fresh_generators(self) -> list:
        device = generator_device(self.config.generator_device, self.config.device)
        return make_generators(self.config.seeds, device)


def prepare_call(pipes, config: Config, prompts: tuple, images: tuple) -> PreparedCall:
    inputs = layout_call(prompts, images, config.batch_size, config.num_images_per_prompt)
    kwargs = {
        "prompt": list(inputs.prompts),
        "num_images_per_prompt": inputs.num_images_per_prompt,
        "num_inference_steps": config.num_inference_steps,
        "guidance_scale": config.guidance_scale,
        "output_type": "np",
    }
    if config.task == "img2img":
        kwargs["image"] = list(inputs.images)
        kwargs["strength"] = config.strength
    else:
        kwargs["height"] = config.height
        kwargs["width"] = config.width
    return PreparedCall(pipes.for_task(config.task), config, inputs, kwargs)


def default_trackers(config: Config, nvml_device=None) -> list[Tracker]:
    """Memory and energy outermost, latency innermost (its clock sees only the call); the
    cold-start tracker just outside it times only the process's first call."""
    return [
        LoadTracker(),
        MemoryTracker(config.device, nvml_device),
        EnergyTracker(config.device, nvml_device, config.images_per_call),
        ClockTracker(config.device, nvml_device),
        CompileTracker(config.device),
        StageTracker(config.device),
        ColdStartTracker(config.device, config.config_id),
        LatencyTracker(config.device),
    ]


@dataclass
class StopRule:
    """When to stop timing a config: after ``repeats`` calls, or adaptively.

    ``repeats`` calls and ``min_time_s`` seconds are floors; past them, the loop stops as
    soon as the median's 95 % interval (order statistics) has a relative half-width of at
    most ``target`` (``target``), or once ``max_time_s`` is spent (``max_time``) or
    ``max_repeats`` calls are made (``max_repeats``). Without a target the floors decide
    (``repeats`` or ``min_time``). ``stopped_by`` says which rule ended the loop.
    """

    repeats: int
    min_time_s: float | None = None
    max_time_s: float | None = None
    target: float | None = None
    max_repeats: int | None = None
    # what happened, filled in by ``run_timed_calls``
    stopped_by: str | None = None
    uncertainty: float | None = None  # relative half-width of the median's interval at the end
    calls: int = 0
    elapsed_s: float = 0.0

    @classmethod
    def of(cls, config: Config) -> StopRule:
        return cls(config.repeats, config.min_time_s, config.max_time_s,
                   config.target_uncertainty, config.max_repeats)

    @property
    def adaptive(self) -> bool:
        """The plan sets a call cap exactly when any adaptive flag was given."""
        return self.max_repeats is not None

    def done(self, latencies: list[float], elapsed_s: float) -> bool:
        """Whether to stop after ``latencies`` (the timed calls so far, ``elapsed_s`` long)."""
        n = len(latencies)
        if n < self.repeats:
            return False
        if self.min_time_s is None or elapsed_s >= self.min_time_s:
            if self.target is None:
                return self._stop("min_time" if self.min_time_s is not None and n > self.repeats
                                  else "repeats", latencies)
            self.uncertainty = relative_half_width(latencies)
            if self.uncertainty is not None and self.uncertainty <= self.target:
                return self._stop("target", latencies)
        if self.max_time_s is not None and elapsed_s >= self.max_time_s:
            return self._stop("max_time", latencies)
        if self.max_repeats is not None and n >= self.max_repeats:
            return self._stop("max_repeats", latencies)
        return False

    def _stop(self, reason: str, latencies: list[float]) -> bool:
        self.stopped_by = reason
        if self.adaptive:  # where the estimate ended up, whichever rule stopped it
            self.uncertainty = relative_half_width(latencies)
        return True

    def result(self) -> dict:
        """The record's fields; none for a plain fixed-count config."""
        if not self.adaptive:
            return {}
        return {"stopped_by": self.stopped_by, "timed_calls": self.calls,
                "timed_s": self.elapsed_s, "achieved_uncertainty": self.uncertainty}


def relative_half_width(latencies: list[float]) -> float | None:
    """Half the median's 95 % interval over the median; None while too few calls (< 6)."""
    interval = median_interval(latencies, 0.95)
    if interval is None:
        return None
    middle = statistics.median(latencies)
    return (interval.high - interval.low) / 2 / middle if middle > 0 else None


def run_timed_calls(call: PreparedCall, trackers: list[Tracker], check_repeats: bool = False,
                    stop: StopRule | None = None):
    """Warm-up, then timed calls until ``stop`` says so (default: ``repeats`` calls);
    returns (last images, hashes of every call). ``stop`` is left saying why it stopped.

    The allocator cache is emptied and the peaks reset before the warm-up, never between
    the warm-up and the timed calls (the first timed call would allocate again)."""
    stop = stop or StopRule(call.config.repeats)
    prepare_config(call.config.device)
    for _ in range(call.config.warmup):
        generators = call.fresh_generators()
        with ExitStack() as warmup_scope:
            for tracker in trackers:
                warmup_scope.enter_context(tracker.warmup())
            call(generators)
    extra: dict = {}
    for tracker in trackers:
        extra.update(tracker.call_kwargs())
    images = None
    call_hashes = []
    # ``stop`` judges the latencies the record will hold (the latency tracker's), else counts.
    timer = next((t for t in trackers if isinstance(t, LatencyTracker)), None)
    calls: list[None] = []
    with ExitStack() as config_scope:
        for tracker in trackers:
            config_scope.enter_context(tracker.config(call.pipe))
        started = time.perf_counter()
        while not stop.done(timer.values if timer else calls, time.perf_counter() - started):
            generators = call.fresh_generators()
            with ExitStack() as call_scope:
                for tracker in trackers:
                    call_scope.enter_context(tracker.call())
                images = call(generators, **extra)
            calls.append(None)
            if check_repeats:
                call_hashes.append([content_hash(image) for image in images])
        stop.calls, stop.elapsed_s = len(calls), time.perf_counter() - started
    return images, call_hashes


def measure_config(
    call: PreparedCall, trackers: list[Tracker], check_repeats: bool = False, on_images=None
) -> ConfigResult:
    """The config's result: plan fields, tracker results, derived throughput, image checks.

    ``on_images(config, images)`` sees the last timed call's images after timing ends
    (e.g. to save them) and returns fields to add to the record.
    """
    stop = StopRule.of(call.config)
    images, call_hashes = run_timed_calls(call, trackers, check_repeats, stop)
    config = call.config
    fields: dict = {"type": "config", **config.describe(), "status": Status.OK, "error": None}
    for tracker in trackers:
        fields.update(tracker.result())
    fields.update(stop.result())
    vae = call.pipe.vae
    fields.update(
        nan_images=sum(has_nan(image) for image in images),
        black_images=sum(is_black(image) for image in images),
        image_sha256=[content_hash(image) for image in images],
        prompt_indices=list(call.inputs.prompt_indices),
        vae_dtype=str(vae.dtype).removeprefix("torch."),
        vae_force_upcast=bool(getattr(vae.config, "force_upcast", False)),
        watermark=getattr(call.pipe, "watermark", None) is not None,
    )
    if check_repeats:
        # One call cannot repeat: null, not a vacuous "identical".
        fields["repeats_identical"] = (all(h == call_hashes[0] for h in call_hashes)
                                       if len(call_hashes) > 1 else None)
    if on_images:
        fields.update(on_images(config, images))
    result = ConfigResult.from_record(fields)
    return result.replace(images_per_s=config.images_per_call / result.median_s
                          if result.median_s else None)


def failed_result(config: Config, status: Status, error: str, **extra) -> ConfigResult:
    """The result of a config that has no measurement (oom, skipped, error, …)."""
    return ConfigResult.from_record({"type": "config", **config.describe(), "status": status,
                                     "error": error, "latency_s": None, "images_per_s": None,
                                     **extra})


def measure_in_process(plan, config: Config, pipes, images: tuple, nvml_device=None,
                       memory_budget_gib: float | None = None, on_images=None) -> ConfigResult:
    """Measure one config; an exception becomes an ``oom`` or ``error`` record.

    ``Interrupted`` (a ``BaseException``) is not caught: the caller records it.
    """
    budget = (MemoryBudget(int(memory_budget_gib * GIB), config.device)
              if memory_budget_gib else None)
    reset_peaks(config.device)
    try:
        with budget or nullcontext():
            group = pipes.for_config(config) if hasattr(pipes, "for_config") else pipes
            call = prepare_call(group, config, plan.prompts, images)
            result = measure_config(
                call, default_trackers(config, nvml_device), plan.scenario.check_repeats, on_images
            )
    except Exception as exc:  # one failing config must not spoil the sweep
        oom = is_out_of_memory(exc)
        message = f"{type(exc).__name__}: {exc}".strip()
        extra: dict = {"peak_memory_bytes": memory_reached(config.device)} if oom else {}
        result = failed_result(config, Status.OOM if oom else Status.ERROR,
                               message.splitlines()[0], **extra)
    if not result.ok:  # after the except block: the traceback's tensors are gone
        release_memory(config.device)
    return result.with_fields(**budget.result()) if budget else result
