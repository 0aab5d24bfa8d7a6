"""``python -m bench.execute.worker REQUEST RECORD``: measure one config, write its record.

The worker side of ``--isolate`` (the manager is ``bench.execute.isolate``); not a user
command. The request holds the run's ``SweepRequest`` narrowed to one config; the
record is written to a temporary name and renamed, so the manager sees a whole record
or none.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.result import ConfigResult


def measure_request(request: dict) -> ConfigResult:
    """The record of ``request["config_id"]``, set up exactly as ``run`` sets up."""
    from bench.measure.cold_start import watch_imports

    watch_imports()  # before resolve_device imports torch: the worker's own cold start
    from bench.execute.executors import InProcess
    from bench.execute.session import open_session, prepare_plan
    from bench.measure.config import failed_result
    from bench.measure.device import resolve_device
    from bench.measure.oom import is_out_of_memory
    from bench.plan.request import SweepRequest
    from bench.result import Status

    sweep = SweepRequest.from_json(request["sweep"])
    plan = prepare_plan(sweep, resolve_device(sweep.options.device))
    config = next(c for c in plan.configs if c.config_id == request["config_id"])
    try:
        session = open_session(plan, sweep)
        session.pipes.for_config(config)
    except Exception as exc:  # loading failed: still a record, not a crash
        status = Status.OOM if is_out_of_memory(exc) else Status.ERROR
        return failed_result(config, status, f"loading failed: {type(exc).__name__}: {exc}")
    execute = InProcess(session.pipes, session.images, session.nvml_device,
                        request.get("memory_budget_gib"))
    return execute(plan, config)


def main(argv: list[str]) -> int:
    from bench.store.run_file import _jsonable

    request_path, record_path = (Path(p) for p in argv)
    result = measure_request(json.loads(request_path.read_text()))
    staging = record_path.with_suffix(".tmp")
    staging.write_text(json.dumps(result.to_record(), allow_nan=False, default=_jsonable))
    os.replace(staging, record_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
