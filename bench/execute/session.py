"""One session setup for every entry point: a request or plan in, everything to measure out.

``run``, ``determinism``, ``max-batch``, ``reproduce``, the isolate worker, each
data-parallel rank and the pytest plugin all go through ``prepare_plan`` (validate before
anything heavy is imported) and ``open_session`` (device, input images, threads,
pipelines, NVML, environment), in that order, so the steps cannot drift apart.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench import __version__
from bench.plan.request import SweepRequest, plan_request
from bench.plan.sweep import Config, Plan
from bench.result import ConfigResult
from bench.store.run_file import SCHEMA_VERSION, now_iso


def prepare_plan(request: SweepRequest, device: str | None = None) -> Plan:
    """The validated plan; also asks the installed torch/diffusers whether they can do the
    optimizations requested (imported only when an option needs them). ``UsageError`` for
    anything wrong, before any model is loaded."""
    from bench.assemble.optimize import check_supported

    plan = plan_request(request, device)
    options = tuple(dict.fromkeys(c.optimizations for c in plan.configs))
    dtypes = tuple(dict.fromkeys(c.dtype for c in plan.configs))
    first = plan.configs[0]
    check_supported(options, dtypes, first.device, first.warmup)
    return plan


def load_inputs(plan: Plan) -> tuple:
    """The img2img input images at the plan's size (empty for text2img); unreadable images
    are a ``UsageError`` before any model loads."""
    if plan.scenario.task != "img2img":
        return ()
    from bench.measure.inputs import load_images

    first = plan.configs[0]
    return load_images(plan.images, plan.scenario.num_default_images, first.height, first.width,
                       plan.images_from)


def select_device(device: str) -> None:
    """Make ``device`` torch's current CUDA device, before anything touches CUDA.

    CUDA events record on the current device's stream and a bare ``torch.cuda`` call opens
    a context on the current device: without this, ``--device cuda:1`` and every rank but
    the first would time an idle ``cuda:0`` and hold a context there."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.set_device(device)


def set_threads(threads: int | None, device: str, ranks_on_node: int = 1) -> None:
    """torch CPU threads: as asked; else the node's cores shared between its CPU ranks."""
    import os

    import torch

    if threads:
        torch.set_num_threads(threads)
    elif device == "cpu" and ranks_on_node > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // ranks_on_node))


@dataclass
class Session:
    """A plan ready to measure in this process."""

    plan: Plan
    device: str
    images: tuple  # img2img inputs (PIL images), empty for text2img
    env: dict
    pipes: Any = None  # PipelineGroups; None when configs are measured elsewhere (--isolate)
    nvml_device: Any = None
    peaks: dict[str, float] | None = None  # --peak-tflops, parsed
    warnings: list[str] = field(default_factory=list)  # about the inputs, for header and terminal
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def header(self, command: list[str], **extra: object) -> dict:
        """The run file's first record."""
        return {
            "type": "header",
            "schema": SCHEMA_VERSION,
            "tool": "sdxl-bench",
            "version": __version__,
            "run_id": self.run_id,
            "started_at": now_iso(),
            "command": list(command),
            "plan": self.plan.describe(),
            "env": self.env,
            **({"warnings": self.warnings} if self.warnings else {}),
            **extra,
        }

    def annotate(self, config: Config, result: ConfigResult, world_size: int = 1) -> dict:
        """Derived record fields of a measured result: FLOPs, achieved TFLOP/s, MFU,
        warnings. Never raises."""
        from bench.measure.limits import limit_fields

        return limit_fields(config, result, self.env["device_name"], self.peaks, world_size)


def open_session(plan: Plan, request: SweepRequest | None = None, *, load: bool = True,
                 pipes: Any = None, ranks_on_node: int = 1, images: tuple | None = None
                 ) -> Session:
    """Input images, threads, the first pipeline group (a model that cannot load is a
    one-line error here, before any measuring), NVML and the environment.

    ``load=False`` builds no pipelines (the manager of ``--isolate``); ``pipes`` reuses
    a ``PipelineGroups`` kept by the caller (the pytest plugin, across tests); ``images``
    are inputs the caller loaded already (to refuse bad ones before creating any file).
    """
    from bench.measure import cold_start

    cold_start.watch_imports()  # the CLI started it already; a worker or the plugin starts it here
    images = load_inputs(plan) if images is None else images
    from bench.assemble.pipeline_groups import PipelineGroups
    from bench.assemble.pipelines import quiet_libraries
    from bench.measure import environment
    from bench.measure.nvml import NvmlDevice

    device = plan.configs[0].device
    select_device(device)
    request = request or SweepRequest()
    quiet_libraries()
    set_threads(request.threads, device, ranks_on_node)
    load_s = None
    if load:
        cold_start.import_libraries()
        loaded = pipes is None
        pipes = pipes or PipelineGroups(plan.model, device)
        imports_before, start = cold_start.imported_seconds(), time.perf_counter()
        pipes.for_config(plan.configs[0])
        if loaded:
            load_s = (time.perf_counter() - start
                      - (cold_start.imported_seconds() - imports_before))
    cold_start.note_session(load_s)
    peaks = dict(request.peak_tflops) if request.peak_tflops else None
    notes = []
    if load and plan.model.kind != "preset":  # the presets' byte-level tokenizer is not CLIP's
        from bench.measure.inputs import truncated_prompts

        notes = truncated_prompts(pipes.for_config(plan.configs[0]).text2img.tokenizer,
                                  plan.prompts)
        for note in notes:
            print(f"sdxl-bench: warning: {note}", file=sys.stderr)
    env = environment.collect(device)
    nvml_device, unmatched = NvmlDevice.find(device)
    env["nvml"]["device_uuid"] = nvml_device.uuid if nvml_device else None
    env["nvml"]["device_unavailable"] = unmatched
    return Session(plan=plan, device=device, images=images, env=env,
                   pipes=pipes if load else None, nvml_device=nvml_device, peaks=peaks,
                   warnings=notes)
