"""The sweep: plan → build → measure → store, one config at a time.

Each finished config is written (and flushed) before the next starts. A config that
fails is recorded with its status and the sweep goes on; SIGINT or SIGTERM records the
config in flight as ``interrupted``, writes the footer and ends the run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from bench import __version__
from bench.execute.executors import InProcess, failed_record
from bench.execute.interrupts import Interrupted, InterruptGuard
from bench.measure.oom import is_out_of_memory as _is_out_of_memory  # noqa: F401 (older imports)
from bench.measure.oom import release_memory, skip_reason
from bench.plan.sweep import Config, Plan
from bench.store.run_file import SCHEMA_VERSION, RunWriter

__all__ = ["Interrupted", "failed_record", "header_record", "release_memory", "run_sweep"]


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


def _write(writer: RunWriter, record: dict, config: Config) -> dict:
    """Write a record; one that cannot be serialised becomes an ``error`` record instead
    of ending the sweep (the exception is raised before anything reaches the file)."""
    try:
        writer.write(record)
    except (TypeError, ValueError) as exc:
        record = failed_record(config, "error", f"record could not be written: {exc}")
        writer.write(record)
    return record


def run_sweep(
    plan: Plan,
    pipes,
    images: tuple,
    writer: RunWriter,
    nvml_device=None,
    on_config: Callable[[dict], None] | None = None,
    *,
    execute: Callable[[Plan, Config], dict] | None = None,
    skip_after_oom: bool = True,
    previous: Sequence[dict] = (),
    annotate: Callable[[Config, dict], dict] | None = None,
) -> tuple[list[dict], int]:
    """Measure every config; returns the records and the exit code (0, 130 or 143).

    ``execute`` measures one config (default: in this process with ``pipes``: loaded
    pipelines, or a ``PipelineGroups`` that builds one per dtype/optimizations group);
    ``previous`` are finished records of a resumed run: their configs are not run again.
    ``annotate`` adds derived fields (FLOPs, MFU, warnings) to measured records; it must
    not raise.
    """
    execute = execute or InProcess(pipes, images, nvml_device)
    done = {r["config_id"] for r in previous}
    by_id = {c.config_id: c for c in plan.configs}
    out_of_memory = [by_id[r["config_id"]] for r in previous
                     if r.get("status") == "oom" and r["config_id"] in by_id]
    records: list[dict] = []
    started = time.perf_counter()
    with InterruptGuard() as guard:
        try:
            for config in plan.configs:
                if guard.signum:
                    break
                if config.config_id in done:
                    continue
                reason = skip_reason(config, out_of_memory) if skip_after_oom else None
                if reason:
                    record = failed_record(config, "skipped", reason)
                else:
                    try:
                        with guard.interruptible():
                            record = execute(plan, config)
                    except Interrupted as stop:
                        record = failed_record(config, "interrupted", f"stopped by {stop}")
                    if annotate and record["status"] not in ("interrupted", "crashed"):
                        record.update(annotate(config, record))
                record = _write(writer, record, config)
                records.append(record)
                if record["status"] == "oom":
                    out_of_memory.append(config)
                if on_config:
                    on_config(record)
        finally:
            writer.write({
                "type": "footer",
                "status": "interrupted" if guard.signum else "complete",
                "finished_at": now_iso(),
                "duration_s": time.perf_counter() - started,
                "configs": len(previous) + len(records),
            })
    return records, guard.exit_code
