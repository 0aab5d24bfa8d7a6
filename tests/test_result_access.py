"""Every reader goes through the typed result: outside ``bench/result.py`` and
``bench/store`` no code reads a config-record field by string, and no code compares a
status as a string.

Read statically (``ast``) from every module under ``bench/``. A string key that happens to
name a record field but indexes another dict (a manifest entry, the environment, a
request) is listed below with what that dict is: a new entry has to say so too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bench.result import RECORD_FIELDS, Status

BENCH = Path(__file__).resolve().parent.parent / "bench"
STATUSES = frozenset(s.value for s in Status)

# (module, key): reads of dicts that are not config records.
NOT_RECORDS = {
    ("bench/commands/reproduce.py", "model"): "the image manifest",
    ("bench/commands/reproduce.py", "seed"): "a manifest entry",
    ("bench/commands/reproduce.py", "generator_device"): "a manifest entry",
    ("bench/determinism/manifest.py", "config_id"): "a manifest entry",
    ("bench/determinism/verdicts.py", "type"): "a determinism check's record (its own type)",
    ("bench/present/determinism.py", "nan_images"): "an image-sanity check's extra fields",
    ("bench/present/determinism.py", "black_images"): "an image-sanity check's extra fields",
    ("bench/execute/resume.py", "world_size"): "a run header's distributed section",
    ("bench/execute/worker.py", "config_id"): "the isolate worker's request",
    ("bench/measure/cold_start.py", "config_id"): "the process's first-call note",
    ("bench/measure/trackers/compile.py", "warmup"): "the compile tracker's events by phase",
    ("bench/plan/sweep.py", "guidance_scale"): "a scenario's fixed call arguments",
    ("bench/plan/sweep.py", "strength"): "a scenario's fixed call arguments",
    ("bench/present/max_batch.py", "peak_memory_bytes"): "the max-batch summary",
    ("bench/present/report.py", "device_memory_bytes"): "a run header's env (older name)",
}
# (module, status): string comparisons that are not about a config's status.
NOT_STATUSES = {
    ("bench/measure/doctor.py", "ok"): "an SDPA backend probe's outcome",
}


def modules() -> list[tuple[str, ast.AST]]:
    return [(str(path.relative_to(BENCH.parent)), ast.parse(path.read_text()))
            for path in sorted(BENCH.rglob("*.py"))]


def string_key_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, key) of every ``x["key"]`` read and ``x.get("key")`` call."""
    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) \
                and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant):
            key = node.args[0].value
        if isinstance(key, str):
            found.append((node.lineno, key))
    return found


def compared_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string constant in a comparison (``==``, ``in`` a tuple …)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                found += [(node.lineno, item.value) for item in items
                          if isinstance(item, ast.Constant) and isinstance(item.value, str)]
    return found


def test_the_scan_sees_subscripts_gets_and_compared_tuples():
    tree = ast.parse('r["status"]\nr.get("latency_s")\nr["x"] = 1\nif s in ("ok", "oom"): pass\n')
    assert string_key_reads(tree) == [(1, "status"), (2, "latency_s")]
    assert compared_strings(tree) == [(4, "ok"), (4, "oom")]


def is_the_store(name: str) -> bool:
    """The result type and the files that hold its records: where field names are known."""
    return name == "bench/result.py" or name.startswith("bench/store/")


def test_no_module_outside_the_store_reads_a_record_field_by_string():
    found = sorted({(name, line, key) for name, tree in modules() if not is_the_store(name)
                    for line, key in string_key_reads(tree)
                    if key in RECORD_FIELDS and (name, key) not in NOT_RECORDS})
    assert found == []


def test_no_module_compares_a_status_as_a_string():
    found = sorted({(name, line, text) for name, tree in modules()
                    for line, text in compared_strings(tree)
                    if text in STATUSES and (name, text) not in NOT_STATUSES})
    assert found == []


@pytest.mark.parametrize("entry", sorted(NOT_RECORDS) + sorted(NOT_STATUSES))
def test_every_exemption_is_still_needed(entry):
    """An exemption whose read is gone would let a real record read back in unseen."""
    name, key = entry
    tree = ast.parse((BENCH.parent / name).read_text())
    seen = {k for _, k in string_key_reads(tree)} | {t for _, t in compared_strings(tree)}
    assert key in seen
