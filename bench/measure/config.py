"""Measure one config in this process: warm-up calls, then timed calls wrapped by composed
trackers; any failure becomes a record (``oom``, ``error``), never a lost sweep."""

from __future__ import annotations

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
from bench.measure.trackers.compile import CompileTracker
from bench.measure.trackers.energy import EnergyTracker
from bench.measure.trackers.latency import LatencyTracker
from bench.measure.trackers.load import LoadTracker
from bench.measure.trackers.memory import MemoryTracker
from bench.measure.trackers.stages import StageTracker
from bench.plan.sweep import Config
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
    """Memory and energy outermost, latency innermost (its clock sees only the call)."""
    return [
        LoadTracker(),
        MemoryTracker(config.device, nvml_device),
        EnergyTracker(config.device, nvml_device, config.images_per_call),
        ClockTracker(config.device, nvml_device),
        CompileTracker(config.device),
        StageTracker(config.device),
        LatencyTracker(config.device),
    ]


def run_timed_calls(call: PreparedCall, trackers: list[Tracker], check_repeats: bool = False):
    """Warm-up, then ``repeats`` timed calls; returns (last images, hashes of every call).

    The allocator cache is emptied and the peaks reset before the warm-up, never between
    the warm-up and the timed calls (the first timed call would allocate again)."""
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
    with ExitStack() as config_scope:
        for tracker in trackers:
            config_scope.enter_context(tracker.config(call.pipe))
        for _ in range(call.config.repeats):
            generators = call.fresh_generators()
            with ExitStack() as call_scope:
                for tracker in trackers:
                    call_scope.enter_context(tracker.call())
                images = call(generators, **extra)
            if check_repeats:
                call_hashes.append([content_hash(image) for image in images])
    return images, call_hashes


def measure_config(
    call: PreparedCall, trackers: list[Tracker], check_repeats: bool = False, on_images=None
) -> dict:
    """The config record: plan fields, tracker results, derived throughput, image checks.

    ``on_images(config, images)`` sees the last timed call's images after timing ends
    (e.g. to save them) and returns fields to add to the record.
    """
    images, call_hashes = run_timed_calls(call, trackers, check_repeats)
    config = call.config
    record: dict = {"type": "config", **config.describe(), "status": "ok", "error": None}
    for tracker in trackers:
        record.update(tracker.result())
    latency = record.get("latency_s")
    record["images_per_s"] = config.images_per_call / latency["median"] if latency else None
    record["nan_images"] = sum(has_nan(image) for image in images)
    record["black_images"] = sum(is_black(image) for image in images)
    record["image_sha256"] = [content_hash(image) for image in images]
    record["prompt_indices"] = list(call.inputs.prompt_indices)
    if check_repeats:
        # One call cannot repeat: null, not a vacuous "identical".
        record["repeats_identical"] = (all(h == call_hashes[0] for h in call_hashes)
                                       if len(call_hashes) > 1 else None)
    vae = call.pipe.vae
    record["vae_dtype"] = str(vae.dtype).removeprefix("torch.")
    record["vae_force_upcast"] = bool(getattr(vae.config, "force_upcast", False))
    record["watermark"] = getattr(call.pipe, "watermark", None) is not None
    if on_images:
        record.update(on_images(config, images))
    return record


def failed_record(config: Config, status: str, error: str, **extra) -> dict:
    """A config record for a config that has no measurement (oom, skipped, error, …)."""
    return {"type": "config", **config.describe(), "status": status, "error": error,
            "latency_s": None, "images_per_s": None, **extra}


def measure_in_process(plan, config: Config, pipes, images: tuple, nvml_device=None,
                       memory_budget_gib: float | None = None, on_images=None) -> dict:
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
            record = measure_config(
                call, default_trackers(config, nvml_device), plan.scenario.check_repeats, on_images
            )
    except Exception as exc:  # one failing config must not spoil the sweep
        oom = is_out_of_memory(exc)
        message = f"{type(exc).__name__}: {exc}".strip()
        extra: dict = {"peak_memory_bytes": memory_reached(config.device)} if oom else {}
        record = failed_record(config, "oom" if oom else "error", message.splitlines()[0], **extra)
    if record["status"] != "ok":  # after the except block: the traceback's tensors are gone
        release_memory(config.device)
    if budget:
        record.update(budget.result())
    return record
