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
from bench.measure.config import failed_result
from bench.measure.oom import skip_reason
from bench.plan.sweep import Config, Plan
from bench.result import ConfigResult, Ending, Status
from bench.store.rounds import merge_rounds
from bench.store.run_file import RunWriter, footer_record

# What an executor produces for a config: its result, or (determinism) several records,
# where a result stands for the config and other records (dicts) are written as they are.
Produced = ConfigResult | list[ConfigResult | dict]
Annotate = Callable[[Config, ConfigResult], dict]  # record fields to add


class Executor(Protocol):
    """Measures one config; never raises for a failing config."""

    def __call__(self, plan: Plan, config: Config) -> Produced: ...


class Abort(Exception):
    """The sweep cannot go on; ``result`` is the config in flight, ``exit_code`` the run's."""

    def __init__(self, result: ConfigResult, exit_code: int, reason: str) -> None:
        super().__init__(reason)
        self.result, self.exit_code, self.reason = result, exit_code, reason


def _write(writer: RunWriter | None, item: ConfigResult | dict, config: Config
           ) -> ConfigResult | dict:
    """Write one result or record; one that cannot be serialised becomes an ``error``
    result instead of ending the sweep (the exception is raised before anything reaches
    the file)."""
    if writer is None:
        return item
    try:
        writer.write(item.to_record() if isinstance(item, ConfigResult) else item)
    except (TypeError, ValueError) as exc:
        item = failed_result(config, Status.ERROR, f"record could not be written: {exc}")
        writer.write(item.to_record())
    return item


def _merged(plan: Plan, produced: list[ConfigResult | dict], annotate: Annotate | None,
            label: Annotate | None, writer: RunWriter | None) -> list[ConfigResult]:
    """One config result per config that ran at least one round, in the plan's order."""
    by_id: dict[str, list[ConfigResult]] = {}
    for item in produced:
        if isinstance(item, ConfigResult) and item.kind == "round":
            by_id.setdefault(item.config_id, []).append(item)
    merged = []
    for config in plan.configs:
        if config.config_id not in by_id:
            continue
        result = merge_rounds(by_id[config.config_id], plan.rounds)
        if annotate and result.ok:
            result = result.with_fields(**annotate(config, result))
        if label:
            result = result.with_fields(**label(config, result))
        merged.append(_write(writer, result, config))
    return merged


def run_sweep(
    plan: Plan,
    execute: Executor,
    writer: RunWriter | None,
    *,
    skip_after_oom: bool = True,
    previous: Sequence[ConfigResult] = (),
    annotate: Annotate | None = None,
    label: Annotate | None = None,
    on_config: Callable[[ConfigResult | dict], None] | None = None,
    footer: dict | Callable[[list], dict] | None = None,
) -> tuple[list[ConfigResult | dict], int]:
    """Measure every config; returns what was written (results, and other records) and
    the exit code (0, 1, 130, 143).

    ``writer`` None measures without storing (data-parallel ranks other than rank 0).
    ``previous``: finished results of a resumed run; their configs are not run again.
    ``annotate`` adds derived fields (FLOPs, MFU, warnings) to measured results.
    ``label`` adds fields to every result, the loop's own included (a rank's world size).
    ``footer`` extra footer fields, or a function of the results that makes them; None
    writes no footer (one part of a ``--scaling`` run).
    With ``plan.rounds`` > 1 the new results are the round results, then the merged
    config results (``annotate`` applies to those).
    """
    done = {r.config_id for r in previous}
    by_id = {c.config_id: c for c in plan.configs}
    out_of_memory = [by_id[r.config_id] for r in previous
                     if r.status is Status.OOM and r.config_id in by_id]
    written: list[ConfigResult | dict] = []
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
                    produced: Produced = failed_result(config, Status.SKIPPED, reason)
                else:
                    try:
                        with guard.interruptible():
                            produced = execute(plan, config)
                    except Interrupted as stop:
                        produced = failed_result(config, Status.INTERRUPTED, f"stopped by {stop}")
                    except Abort as abort:
                        aborted, produced = abort, abort.result
                measured += 1
                for item in produced if isinstance(produced, list) else [produced]:
                    if isinstance(item, ConfigResult):
                        item = _finish(item, config, round_number if plan.rounds > 1 else None,
                                       annotate if not reason else None, label)
                    item = _write(writer, item, config)
                    written.append(item)
                    if isinstance(item, ConfigResult) and item.status is Status.OOM:
                        out_of_memory.append(config)
                    if on_config:
                        on_config(item)
                if aborted:
                    break
        finally:
            if plan.rounds > 1 and not (writer is not None and writer.failed):
                merged = _merged(plan, written, annotate, label, writer)
                written.extend(merged)
                measured = len(merged)
            if writer is not None and footer is not None and not writer.failed:
                extra = footer(written) if callable(footer) else footer
                writer.write(footer_record(
                    Ending.INTERRUPTED if guard.signum or aborted else Ending.COMPLETE,
                    time.perf_counter() - started, len(previous) + measured,
                    **({"error": aborted.reason} if aborted else {}), **extra))
    return written, aborted.exit_code if aborted else guard.exit_code


def _finish(result: ConfigResult, config: Config, round_number: int | None,
            annotate: Annotate | None, label: Annotate | None) -> ConfigResult:
    """A result as the run file holds it: a round of a ``--rounds`` run (merged and
    annotated after the last round), or annotated now; labelled either way."""
    if round_number is not None:
        result = result.replace(kind="round", round=round_number)
    elif annotate and result.kind == "config" and not result.status.cut_short:
        result = result.with_fields(**annotate(config, result))
    if label:
        result = result.with_fields(**label(config, result))
    return result
