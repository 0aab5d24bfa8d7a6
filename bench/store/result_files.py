"""Load benchmark results for comparison from either format the gate accepts.

An sdxl-bench run file (JSON Lines) or a pytest-benchmark JSON file (``--benchmark-json``
or ``.benchmarks/`` saves) both become a list of ``Entry``: one workload's ``ConfigResult``
and the key that matches it across files. A pytest-benchmark benchmark becomes a
``ConfigResult`` too (its name as config id, its times as the latency), so every reader
sees one type. The format is detected from the content.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UsageError
from bench.result import ConfigResult, Status
from bench.stats import summary
from bench.store.run_file import Run, read_run
from bench.store.schema import config_key

ANY_MODEL = "A/B"  # stands for the model in ``Entry.key_any_model``


@dataclass(frozen=True)
class Entry:
    """One workload of a results file: its result and the key that matches it across files."""

    key: str  # the workload: matches the same workload across files (``schema.ConfigKey``)
    result: ConfigResult
    # the key with the model left out: matches one sweep run on two models (``ab``)
    key_any_model: str | None = None


@dataclass(frozen=True)
class ResultSet:
    path: Path
    kind: str  # "run" or "pytest-benchmark"
    device_name: str | None
    entries: tuple[Entry, ...]
    notes: tuple[str, ...] = ()
    run: Run | None = None  # the run file read back, for reports (None for pytest-benchmark)


def load_results(path: Path | str) -> ResultSet:
    """Read a run file or a pytest-benchmark JSON file; ``UsageError`` for anything else."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.read(1 << 16)
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a results file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not head.strip():
        raise UsageError(f"{path} is empty")
    if _looks_like_pytest_benchmark(head):
        return _load_pytest_benchmark(path)
    if _is_one_json_document(head):
        # Not JSON Lines: one document spread over many lines. Read it whole and say
        # what it is, rather than "line 1 is not JSON".
        return _load_json_document(path)
    return _load_run(path)


def _looks_like_pytest_benchmark(head: str) -> bool:
    stripped = head.lstrip()
    # A run file's first line is a complete header object with "type"; a pytest-benchmark
    # file is one (usually indented) object holding "machine_info" and "benchmarks".
    return stripped.startswith("{") and '"machine_info"' in head and '"benchmarks"' in head


def _is_one_json_document(head: str) -> bool:
    """A file starting with '{' or '[' whose first line is not a complete JSON value."""
    stripped = head.lstrip()
    if not stripped.startswith(("{", "[")):
        return False
    first_line = stripped.split("\n", 1)[0]
    try:
        json.loads(first_line)
    except json.JSONDecodeError:
        return True
    return False


def _load_json_document(path: Path) -> ResultSet:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return _load_run(path)  # malformed either way: the run reader names the line
    if isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
        return _load_pytest_benchmark(path)
    raise UsageError(
        f"{path} is neither an sdxl-bench run file nor a pytest-benchmark file: one JSON"
        " document without a 'benchmarks' list (a run file is JSON Lines)"
    )


def _load_run(path: Path) -> ResultSet:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = read_run(path)
    entries = []
    for result in run.results:
        try:
            entries.append(Entry(str(config_key(result)), result,
                                 str(config_key(result.replace(model=ANY_MODEL)))))
        except (TypeError, ValueError, AttributeError):
            raise UsageError(f"{path}: config record {result.config_id!r} is malformed") from None
    env = run.header.get("env") or {}
    return ResultSet(
        path=path,
        kind="run",
        device_name=env.get("device_name"),
        entries=tuple(entries),
        notes=tuple(str(w.message) for w in caught),
        run=run,
    )


def _device_name(machine: object) -> str | None:
    """The GPU our plugin recorded, else pytest-benchmark's CPU name."""
    if not isinstance(machine, dict):
        return None
    for section, name in (("sdxl_bench", "device_name"), ("cpu", "brand_raw")):
        value = machine.get(section)
        if isinstance(value, dict) and value.get(name):
            return str(value[name])
    return None


def _benchmark_result(name: str, stats: dict, extra: dict) -> ConfigResult:
    """One pytest-benchmark benchmark as a result: its times (all of them when saved with
    --benchmark-save-data) are the per-call latency, its name the config id."""
    values = [float(v) for v in stats.get("data") or ()]
    median = stats.get("median")
    latency = None
    if median is not None or values:
        latency = {"median": float(median) if median is not None else summary.median(values),
                   "values": values, "n": len(values)}
    return ConfigResult.from_record({
        "config_id": name, "status": Status.OK, "latency_s": latency,
        "images_per_s": extra.get("images_per_s"),
        "peak_memory_bytes": dict(extra.get("peak_memory_bytes") or {})})


def _load_pytest_benchmark(path: Path) -> ResultSet:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON (line {exc.lineno}): truncated?") from None
    benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(benchmarks, list):
        raise UsageError(f"{path} is not a pytest-benchmark file (no 'benchmarks' list)")
    entries = []
    missing_raw = []
    for bench in benchmarks:
        if not isinstance(bench, dict) or not isinstance(bench.get("stats"), dict):
            raise UsageError(f"{path}: a benchmark without 'stats': not a pytest-benchmark file")
        name = str(bench.get("fullname") or bench.get("name"))
        stats = bench["stats"]
        raw = stats.get("data")
        if not raw:
            missing_raw.append(name)
        extra = bench.get("extra_info") or {}
        try:
            entries.append(Entry(name, _benchmark_result(name, stats, extra)))
        except (TypeError, ValueError, AttributeError):
            raise UsageError(f"{path}: benchmark {name!r} has malformed stats") from None
    notes = []
    if missing_raw:
        notes.append(
            f"{path}: no raw times for {len(missing_raw)} benchmark(s) (save them with"
            " pytest --benchmark-save-data): significance cannot be tested for them"
        )
    device = _device_name(data.get("machine_info"))
    return ResultSet(
        path=path,
        kind="pytest-benchmark",
        device_name=device,
        entries=tuple(entries),
        notes=tuple(notes),
    )
