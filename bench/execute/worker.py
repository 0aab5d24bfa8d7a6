"""``python -m bench.execute.worker REQUEST RECORD``: measure one config, write its record.

Started by ``bench.execute.isolate``; not a user command. The request holds the run's flags
narrowed to one config; the record is written to a temporary name and renamed, so the
manager sees a whole record or none.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def measure_request(request: dict) -> dict:
    from bench.commands.sweep_options import plan_from_args
    from bench.execute.executors import failed_record, measure_in_process
    from bench.measure.device import resolve_device
    from bench.measure.inputs import load_images
    from bench.measure.oom import is_out_of_memory

    args = argparse.Namespace(**request["args"])
    device = resolve_device(args.device)
    plan = plan_from_args(args, device=device)
    config = next(c for c in plan.configs if c.config_id == request["config_id"])
    try:
        from bench.build.pipeline_groups import PipelineGroups
        from bench.build.pipelines import quiet_libraries
        from bench.measure.nvml import NvmlDevice

        quiet_libraries()
        if getattr(args, "threads", None):
            import torch

            torch.set_num_threads(args.threads)
        images = ()
        if plan.scenario.task == "img2img":
            images = load_images(plan.images, plan.scenario.num_default_images,
                                 config.height, config.width)
        pipes = PipelineGroups(plan.model, device)
        pipes.for_config(config)
        nvml_device = NvmlDevice.open(device)
    except Exception as exc:  # loading failed: still a record, not a crash
        status = "oom" if is_out_of_memory(exc) else "error"
        return failed_record(config, status, f"loading failed: {type(exc).__name__}: {exc}")
    record = measure_in_process(plan, config, pipes, images, nvml_device,
                                request.get("memory_budget_gib"))
    return {**record, **pipes.describe(config)}


def main(argv: list[str]) -> int:
    from bench.store.run_file import _jsonable

    request_path, record_path = (Path(p) for p in argv)
    record = measure_request(json.loads(request_path.read_text()))
    staging = record_path.with_suffix(".tmp")
    staging.write_text(json.dumps(record, allow_nan=False, default=_jsonable))
    os.replace(staging, record_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
