"""Resuming a partial run file: same plan, finished configs kept, the rest run again.

Finished means ``Status.finished`` (ok, oom, skipped); interrupted, crashed and error
results are dropped and their configs measured again. The file is rewritten atomically
(header + kept records) before new records are appended, so nothing finished is lost.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from bench.errors import StorageError, UsageError
from bench.plan.sweep import Config, Plan
from bench.result import ConfigResult, Ending
from bench.store.run_file import Run, read_run


@dataclass(frozen=True)
class Resumed:
    header: dict
    kept: tuple[ConfigResult, ...]  # finished results, in the plan's order
    rerun: tuple[str, ...]  # config ids to measure (again)


def _normalised(value: object) -> object:
    return json.loads(json.dumps(value))


def _short(value: object, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def plan_difference(recorded: dict, plan: dict) -> str | None:
    """The first planned field that differs, described in a few words; None if equal.

    Scalars (scenario, model, prompts, …) first, then which configs differ, then the
    first differing field of a config (steps, size, dtype, …).
    """
    recorded, plan = _normalised(recorded), _normalised(plan)  # JSON forms: tuples are lists
    first, last = ("scenario", "task", "model"), ("config_ids", "configs")
    order = sorted(set(recorded) | set(plan),
                   key=lambda k: (k not in first, k in last, last.index(k) if k in last else 0, k))
    for key in order:
        old, new = recorded.get(key), plan.get(key)
        if old == new:
            continue
        if key == "config_ids" and isinstance(old, list) and isinstance(new, list):
            gone = [c for c in old if c not in new]
            added = [c for c in new if c not in old]
            if gone or added:
                return (f"configs only in the file: {_short(gone)}; only in this plan:"
                        f" {_short(added)}")
            return "the configs are in a different order"
        if key == "configs":
            for old_config, new_config in zip(old or [], new or [], strict=False):
                for field in sorted(set(old_config) | set(new_config)):
                    if old_config.get(field) != new_config.get(field):
                        return (f"{field} was {_short(old_config.get(field))},"
                                f" now {_short(new_config.get(field))}")
        return f"{key} was {_short(old)}, now {_short(new)}"
    return None


# Environment fields that change a measurement: a resumed run must match them all, or its
# records would mix two setups under one header.
MEASUREMENT_SETTINGS = ("device_name", "torch_threads", "torch", "diffusers", "transformers",
                        "cuda", "driver")


def refuse_other_kinds(path: str | Path, header: dict) -> None:
    """Only single-process ``run`` files can be resumed."""
    if header.get("mode") == "determinism":
        raise UsageError(f"--resume {str(path)!r} is a determinism run; run `sdxl-bench"
                         " determinism` again instead (its checks are not resumable)")
    if header.get("distributed"):
        distributed = header["distributed"]
        size = distributed.get("world_size") if isinstance(distributed, dict) else "?"
        raise UsageError(f"--resume {str(path)!r} is a data-parallel run ({size} ranks);"
                         " --resume works for single-process runs only")


def setting_difference(recorded_env: dict, env: dict) -> str | None:
    """The first measurement setting that differs between the file and this process."""
    for name in MEASUREMENT_SETTINGS:
        if recorded_env.get(name) != env.get(name):
            return f"{name} was {_short(recorded_env.get(name))}, now {_short(env.get(name))}"
    return None


def _read(path: str | Path) -> Run:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing footer or torn line is expected here
        return read_run(path)


def finished_note(path: str | Path) -> str | None:
    """What to say instead of resuming a run that has nothing left to measure: every
    planned config finished and the footer says complete (None otherwise). Resuming it
    would only rewrite its footer, and so change the run (``history add`` would see
    another run)."""
    return _finished(_read(path))


def _finished(run: Run) -> str | None:
    planned = (run.header.get("plan") or {}).get("config_ids")
    if run.end is None or run.end.status is not Ending.COMPLETE or not isinstance(planned, list):
        return None
    done = {r.config_id for r in run.results if r.status.finished}
    if any(config_id not in done for config_id in planned):
        return None
    return (f"run file {run.path} is finished ({len(planned)} of {len(planned)} configs measured,"
            " footer complete): nothing to resume; the file is left as it is")


def _planned_mismatch(result: ConfigResult, config: Config) -> str | None:
    """The first planned field a kept record states differently from its config (a record
    edited or damaged by hand), as 'field is X, the plan has Y'; None when they agree."""
    record, planned = _normalised(result.to_record()), _normalised(config.describe())
    for name, value in planned.items():
        if name in record and record[name] != value:
            return f"{name} is {_short(record[name])}, the plan has {_short(value)}"
    return None


def _refuse_malformed(path: str | Path, header: dict, kept: tuple[ConfigResult, ...],
                      plan: Plan) -> None:
    """Everything the rewrite and the rest of the run will read, checked before the file is
    touched: a malformed file is refused as it is, never rewritten and then crashed on."""
    if not isinstance(header.get("resumed", []), list):
        raise UsageError(f"--resume {str(path)!r}: the header's 'resumed' is not a list: the"
                         " file is malformed; start a new run")
    by_id = {c.config_id: c for c in plan.configs}
    for result in kept:
        mismatch = _planned_mismatch(result, by_id[result.config_id])
        problem = (f"does not match its planned config ({mismatch})" if mismatch else
                   "is ok but holds no latency" if result.ok and not result.measured else None)
        if problem:
            raise UsageError(f"--resume {str(path)!r}: config record {result.config_id!r}"
                             f" {problem}: the file is malformed; start a new run")
    for record in (header, *(r.to_record() for r in kept)):
        try:
            json.dumps(record, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--resume {str(path)!r}: a record cannot be written back ({exc}):"
                             " the file is malformed; start a new run") from None


def load_for_resume(path: str | Path, plan: Plan) -> Resumed:
    """Check that ``path`` is a run of the same plan with something left to measure, and
    whole enough to rewrite; what to keep and what to run."""
    run = _read(path)
    refuse_other_kinds(path, run.header)
    difference = plan_difference(run.header.get("plan") or {}, plan.describe())
    if difference:
        command = " ".join(str(part) for part in run.header.get("command") or [])
        raise UsageError(
            f"--resume {str(path)!r}: the plan differs ({difference});"
            f" resume with the original flags: {command}"
        )
    note = _finished(run)
    if note:
        raise UsageError(f"--resume {str(path)!r}: {note}")
    by_id = {r.config_id: r for r in run.results if r.status.finished}
    kept = tuple(by_id[c.config_id] for c in plan.configs if c.config_id in by_id)
    rerun = tuple(c.config_id for c in plan.configs if c.config_id not in by_id)
    _refuse_malformed(path, run.header, kept, plan)
    return Resumed(run.header, kept, rerun)


def rewrite(path: str | Path, header: dict, results: tuple[ConfigResult, ...]) -> None:
    """Replace ``path`` with header + results in one atomic step (a crash keeps the old,
    and leaves no temporary file)."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.resume-tmp")
    try:
        with open(staging, "w", encoding="utf-8") as file:
            for record in (header, *(r.to_record() for r in results)):
                file.write(json.dumps(record, allow_nan=False) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(staging, path)
    except BaseException as exc:
        staging.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StorageError(f"cannot rewrite run file {path} to resume it:"
                               f" {exc.strerror or exc}; it is left as it was (free space,"
                               f" then --resume {path} again)") from exc
        raise
