"""Resuming a partial run file: same plan, finished configs kept, the rest run again.

Finished means ``ok``, ``oom`` or ``skipped``; ``interrupted``, ``crashed`` and ``error``
records are dropped and their configs measured again. The file is rewritten atomically
(header + kept records) before new records are appended, so nothing finished is lost.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UsageError
from bench.plan.sweep import Plan
from bench.store.run_file import read_run

FINISHED = ("ok", "oom", "skipped")


@dataclass(frozen=True)
class Resumed:
    header: dict
    kept: tuple[dict, ...]  # finished records, in the plan's order
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


def load_for_resume(path: str | Path, plan: Plan) -> Resumed:
    """Check that ``path`` is a run of the same plan; what to keep and what to run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing footer or torn line is expected here
        run = read_run(path)
    difference = plan_difference(run.header.get("plan") or {}, plan.describe())
    if difference:
        command = " ".join(run.header.get("command") or [])
        raise UsageError(
            f"--resume {str(path)!r}: the plan differs ({difference});"
            f" resume with the original flags: {command}"
        )
    by_id = {r["config_id"]: r for r in run.configs if r.get("status") in FINISHED}
    kept = tuple(by_id[c.config_id] for c in plan.configs if c.config_id in by_id)
    rerun = tuple(c.config_id for c in plan.configs if c.config_id not in by_id)
    return Resumed(run.header, kept, rerun)


def rewrite(path: str | Path, header: dict, records: tuple[dict, ...]) -> None:
    """Replace ``path`` with header + records in one atomic step (a crash keeps the old)."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.resume-tmp")
    with open(staging, "w", encoding="utf-8") as file:
        for record in (header, *records):
            file.write(json.dumps(record, allow_nan=False) + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(staging, path)
