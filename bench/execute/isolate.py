"""``--isolate``: the manager side — one fresh worker process per config.

The manager (this process) plans and writes the run file; a worker (``bench.execute.worker``)
re-plans from the same request, loads the model, measures one config and writes the record
to a file that the manager reads back. A worker that runs out of memory reports ``oom``
itself; one that dies (segfault, kernel OOM killer, ``kill -9``) is recorded as
``crashed`` with its exit signal, and the sweep goes on with a fresh worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import bench
from bench.execute.interrupts import deferred
from bench.measure.config import failed_result
from bench.plan.request import SweepRequest
from bench.plan.sweep import Config, Plan
from bench.result import ConfigResult, Status

AXIS_OPTIONS = {"batch_size": "batch_sizes", "num_images_per_prompt": "images_per_prompt"}
STOP_GRACE_S = 10.0


def worker_request(request: SweepRequest, plan: Plan, config: Config) -> SweepRequest:
    """The request narrowed to this one config's batch layout and one round (the worker
    plans and measures only it)."""
    return request.replace_options(rounds=1, **{AXIS_OPTIONS[axis]: (getattr(config, axis),)
                                                for axis in plan.scenario.axes})


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:300] if lines else ""


def crashed_result(config: Config, returncode: int, stderr_tail: str) -> ConfigResult:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        error = f"worker process killed by {name}"
    else:
        name = None
        error = f"worker process exited with code {returncode} and no record"
    if stderr_tail:
        error += f": {stderr_tail}"
    return failed_result(config, Status.CRASHED, error, exit_signal=name, exit_code=returncode)


@dataclass
class Isolated:
    """Executor: measure each config in a new ``python -m bench.execute.worker`` process."""

    request: SweepRequest
    memory_budget_gib: float | None = None
    workers: list[int] = field(default_factory=list)  # pids started, for the curious

    def __call__(self, plan: Plan, config: Config) -> ConfigResult:
        request = {"sweep": worker_request(self.request, plan, config).to_json(),
                   "config_id": config.config_id,
                   "memory_budget_gib": self.memory_budget_gib}
        env = dict(os.environ)
        package_root = str(Path(bench.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        with tempfile.TemporaryDirectory(prefix="sdxl-bench-worker-") as tmp:
            folder = Path(tmp)
            (folder / "request.json").write_text(json.dumps(request))
            with open(folder / "stderr.txt", "w") as stderr:
                process = None
                try:
                    with deferred():  # a signal now would lose the worker's pid
                        process = subprocess.Popen(
                            [sys.executable, "-m", "bench.execute.worker",
                             str(folder / "request.json"), str(folder / "record.json")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                            env=env, start_new_session=True,  # Ctrl-C goes to the manager only
                        )
                        self.workers.append(process.pid)
                    returncode = process.wait()
                except BaseException:  # interrupted: the worker must not outlive us
                    if process is not None:
                        _stop(process)
                    raise
            result = folder / "record.json"
            if returncode == 0 and result.is_file():
                return ConfigResult.from_record(json.loads(result.read_text()))
            return crashed_result(config, returncode, _last_line(folder / "stderr.txt"))
