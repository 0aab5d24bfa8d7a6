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

from bench.errors import UsageError
from bench.plan.sweep import Plan
from bench.result import ConfigResult
from bench.store.run_file import read_run


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
        size = header["distributed"].get("world_size")
        raise UsageError(f"--resume {str(path)!r} is a data-parallel run ({size} ranks);"
                         " --resume works for single-process runs only")


def setting_difference(recorded_env: dict, env: dict) -> str | None:
    """The first measurement setting that differs between the file and this process."""
    for name in MEASUREMENT_SETTINGS:
        if recorded_env.get(name) != env.get(name):
            return f"{name} was {_short(recorded_env.get(name))}, now {_short(env.get(name))}"
    return None


def load_for_resume(path: str | Path, plan: Plan) -> Resumed:
    """Check that ``path`` is a run of the same plan; what to keep and what to run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing footer or torn line is expected here
        run = read_run(path)
    refuse_other_kinds(path, run.header)
    difference = plan_difference(run.header.get("plan") or {}, plan.describe())
    if difference:
        command = " ".join(run.header.get("command") or [])
        raise UsageError(
            f"--resume {str(path)!r}: the plan differs ({difference});"
            f" resume with the original flags: {command}"
        )
    by_id = {r.config_id: r for r in run.results if r.status.finished}
    kept = tuple(by_id[c.config_id] for c in plan.configs if c.config_id in by_id)
    rerun = tuple(c.config_id for c in plan.configs if c.config_id not in by_id)
    return Resumed(run.header, kept, rerun)


def rewrite(path: str | Path, header: dict, results: tuple[ConfigResult, ...]) -> None:
    """Replace ``path`` with header + results in one atomic step (a crash keeps the old)."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.resume-tmp")
    with open(staging, "w", encoding="utf-8") as file:
        for record in (header, *(r.to_record() for r in results)):
            file.write(json.dumps(record, allow_nan=False) + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(staging, path)
