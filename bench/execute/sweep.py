"""The sweep: every config of a plan through one executor, each record stored before the next.

This is the only sweep loop. Executors are interchangeable (``InProcess``, ``Isolated``,
a data-parallel rank's ``RankExecutor``); interrupts, skipping after an out-of-memory
config, resuming and the footer live here and nowhere else.

- A config that fails is recorded with its status and the sweep goes on.
- SIGINT/SIGTERM while a config is measured records it ``interrupted``; outside that
  window the signal is only remembered, so a record is never torn. Then the footer.
- An executor that can no longer go on (a data-parallel peer died) raises ``Abort``
  with the record of the config in flight: it is written, then the footer.
- A plan of several rounds (``--rounds``) runs ``plan.schedule()``: every config once
  per round, the order rotated. Each measurement is written as it finishes, as a
  ``round`` record; at the end (interrupted or not) one ``config`` record per config
  merges its finished rounds (``bench.store.rounds``), so readers see one entry per
  config and an interrupt loses no finished round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from bench.execute.interrupts import Interrupted, InterruptGuard
from bench.measure.config import failed_record
from bench.measure.oom import skip_reason
from bench.plan.sweep import Config, Plan
from bench.store.rounds import merge_rounds
from bench.store.run_file import RunWriter, footer_record


class Executor(Protocol):
    """Measures one config and returns its record (or its records: one per determinism
    check); never raises for a failing config."""

    def __call__(self, plan: Plan, config: Config) -> dict | list[dict]: ...


class Abort(Exception):
    """The sweep cannot go on; ``record`` is the config in flight, ``exit_code`` the run's."""

    def __init__(self, record: dict, exit_code: int, reason: str) -> None:
        super().__init__(reason)
        self.record, self.exit_code, self.reason = record, exit_code, reason


def _write(writer: RunWriter | None, record: dict, config: Config) -> dict:
    """Write a record; one that cannot be serialised becomes an ``error`` record instead
    of ending the sweep (the exception is raised before anything reaches the file)."""
    if writer is None:
        return record
    try:
        writer.write(record)
    except (TypeError, ValueError) as exc:
        record = failed_record(config, "error", f"record could not be written: {exc}")
        writer.write(record)
    return record


def _merged(plan: Plan, records: list[dict], annotate: Callable[[Config, dict], dict] | None,
            label: Callable[[Config, dict], dict] | None, writer: RunWriter | None) -> list[dict]:
    """One config record per config that ran at least one round, in the plan's order."""
    by_id: dict[str, list[dict]] = {}
    for record in records:
        if record.get("type") == "round":
            by_id.setdefault(record["config_id"], []).append(record)
    merged = []
    for config in plan.configs:
        if config.config_id not in by_id:
            continue
        record = merge_rounds(by_id[config.config_id], plan.rounds)
        if annotate and record["status"] == "ok":
            record.update(annotate(config, record))
        if label:
            record.update(label(config, record))
        merged.append(_write(writer, record, config))
    return merged


def run_sweep(
    plan: Plan,
    execute: Executor,
    writer: RunWriter | None,
    *,
    skip_after_oom: bool = True,
    previous: Sequence[dict] = (),
    annotate: Callable[[Config, dict], dict] | None = None,
    label: Callable[[Config, dict], dict] | None = None,
    on_config: Callable[[dict], None] | None = None,
    footer: dict | Callable[[list[dict]], dict] | None = None,
) -> tuple[list[dict], int]:
    """Measure every config; returns the new records and the exit code (0, 1, 130, 143).

    ``writer`` None measures without storing (data-parallel ranks other than rank 0).
    ``previous``: finished records of a resumed run; their configs are not run again.
    ``annotate`` adds derived fields (FLOPs, MFU, warnings) to measured records.
    ``label`` adds fields to every record, the loop's own included (a rank's world size).
    ``footer`` extra footer fields, or a function of the records that makes them; None
    writes no footer (one part of a ``--scaling`` run).
    With ``plan.rounds`` > 1 the new records are the round records, then the merged
    config records (``annotate`` applies to those).
    """
    done = {r["config_id"] for r in previous}
    by_id = {c.config_id: c for c in plan.configs}
    out_of_memory = [by_id[r["config_id"]] for r in previous
                     if r.get("status") == "oom" and r["config_id"] in by_id]
    records: list[dict] = []
    measured = 0
    started = time.perf_counter()
    aborted: Abort | None = None
    with InterruptGuard() as guard:
        try:
            for round_number, config in plan.schedule():
                if guard.signum:
                    break
                if config.config_id in done:
                    continue
                reason = skip_reason(config, out_of_memory) if skip_after_oom else None
                if reason:
                    produced = failed_record(config, "skipped", reason)
                else:
                    try:
                        with guard.interruptible():
                            produced = execute(plan, config)
                    except Interrupted as stop:
                        produced = failed_record(config, "interrupted", f"stopped by {stop}")
                    except Abort as abort:
                        aborted, produced = abort, abort.record
                measured += 1
                for record in produced if isinstance(produced, list) else [produced]:
                    if plan.rounds > 1:  # merged and annotated after the last round
                        record.update(type="round", round=round_number)
                    if annotate and record.get("type") == "config" and not reason and \
                            record["status"] not in ("interrupted", "crashed"):
                        record.update(annotate(config, record))
                    if label:
                        record.update(label(config, record))
                    record = _write(writer, record, config)
                    records.append(record)
                    if record.get("status") == "oom":
                        out_of_memory.append(config)
                    if on_config:
                        on_config(record)
                if aborted:
                    break
        finally:
            if plan.rounds > 1 and not (writer is not None and writer.failed):
                merged = _merged(plan, records, annotate, label, writer)
                records.extend(merged)
                measured = len(merged)
            if writer is not None and footer is not None and not writer.failed:
                extra = footer(records) if callable(footer) else footer
                writer.write(footer_record(
                    "interrupted" if guard.signum or aborted else "complete",
                    time.perf_counter() - started, len(previous) + measured,
                    **({"error": aborted.reason} if aborted else {}), **extra))
    return records, aborted.exit_code if aborted else guard.exit_code
