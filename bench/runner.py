"""The sweep: plan → build → measure → store, one config at a time.

Each finished config is written (and flushed) before the next starts. A config that
fails is recorded with its status and the sweep goes on; SIGINT or SIGTERM records the
config in flight as ``interrupted``, writes the footer and ends the run.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from bench import __version__
from bench.plan import Config, Plan
from bench.runfile import SCHEMA_VERSION, RunWriter


class Interrupted(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM; carries the exit code to use."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def header_record(plan: Plan, argv: list[str], env: dict) -> dict:
    return {
        "type": "header",
        "schema": SCHEMA_VERSION,
        "tool": "sdxl-bench",
        "version": __version__,
        "run_id": uuid.uuid4().hex[:12],
        "started_at": now_iso(),
        "command": argv,
        "plan": plan.describe(),
        "env": env,
    }


def failed_record(config: Config, status: str, error: str, **extra) -> dict:
    return {"type": "config", **config.describe(), "status": status, "error": error,
            "latency_s": None, "images_per_s": None, **extra}


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "INT_MAX elements" in str(exc)


def release_memory(device: str) -> None:
    """Free what a failed call left behind so the next config starts clean."""
    import gc

    import torch

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def run_sweep(
    plan: Plan,
    pipes,
    images: tuple,
    writer: RunWriter,
    nvml_device=None,
    on_config: Callable[[dict], None] | None = None,
    annotate: Callable[[Config, dict], dict] | None = None,
) -> tuple[list[dict], int]:
    """Measure every config; returns the records and the exit code (0, 130 or 143).

    ``pipes`` is loaded pipelines, or an object whose ``for_config(config)`` gives them
    (``PipelineGroups``: one build per dtype/optimizations group). ``annotate`` adds
    derived fields (FLOPs, MFU, warnings) to every record and must not raise.
    """
    from bench.measure import default_trackers, measure_config, prepare_call

    records: list[dict] = []
    started = time.perf_counter()
    exit_code = 0
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for config in plan.configs:
            try:
                group = pipes.for_config(config) if hasattr(pipes, "for_config") else pipes
                call = prepare_call(group, config, plan.prompts, images)
                record = measure_config(
                    call, default_trackers(config, nvml_device), plan.scenario.check_repeats
                )
            except Interrupted as stop:
                record = failed_record(config, "interrupted", f"stopped by {stop}")
                exit_code = stop.exit_code
            except Exception as exc:  # one failing config must not spoil the sweep
                status = "oom" if _is_out_of_memory(exc) else "error"
                record = failed_record(config, status, f"{type(exc).__name__}: {exc}".strip())
                release_memory(config.device)
            if annotate and record["status"] != "interrupted":
                record.update(annotate(config, record))
            writer.write(record)
            records.append(record)
            if on_config:
                on_config(record)
            if exit_code:
                break
    except Interrupted as stop:  # between configs, or while reporting progress
        exit_code = stop.exit_code
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        writer.write({
            "type": "footer",
            "status": "interrupted" if exit_code else "complete",
            "finished_at": now_iso(),
            "duration_s": time.perf_counter() - started,
            "configs": len(records),
        })
    return records, exit_code
