"""``bench.plan`` needs no torch, diffusers, transformers or accelerate: not at import, not
in any function, not through the modules it imports; and this folder's guard
(``conftest.py``) really keeps them out of reach."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from tests.plan.conftest import MEASURING_STACK

BENCH = Path(__file__).resolve().parents[2] / "bench"


def module_path(module: str) -> Path | None:
    """The file of a ``bench`` module (a package's ``__init__.py``), None for others."""
    if module.split(".")[0] != "bench":
        return None
    base = BENCH.parent.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, at module level or inside a function."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names
                         if module_path(f"{base}.{alias.name}"))
    return found


def reached(start: list[str]) -> dict[str, str]:
    """Every module reachable from ``start`` through imports (a package's ``__init__``
    runs before its modules) → the module that imports it."""
    seen: dict[str, str] = {}
    todo = list(start)
    while todo:
        module = todo.pop()
        path = module_path(module)
        if path is None:
            continue
        parts = module.split(".")
        parents = {".".join(parts[:i]) for i in range(1, len(parts))}
        for target in sorted(imports(path, module) | parents):
            if target not in seen:
                seen[target] = module
                todo.append(target)
    return seen


PLAN_MODULES = sorted(f"bench.plan.{p.stem}" if p.stem != "__init__" else "bench.plan"
                      for p in (BENCH / "plan").glob("*.py"))


def test_no_import_of_the_measuring_stack_is_reachable_from_bench_plan():
    modules = reached(PLAN_MODULES)
    assert {"bench", "bench.errors", "bench.plan.scenario"} <= set(modules)  # the walk walks
    heavy = {target: importer for target, importer in modules.items()
             if target.split(".")[0] in MEASURING_STACK}
    assert not heavy


def test_the_reach_check_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text("import json\n\ndef later():\n    import torch.cuda\n")
    assert imports(path, "bench.mod") == {"json", "torch.cuda"}


@pytest.mark.parametrize("module", PLAN_MODULES)
def test_each_plan_module_runs_with_the_stack_out_of_reach(module, monkeypatch):
    """A fresh copy of the module executes (its module-level imports run again) here."""
    name = f"fresh_{module.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, module_path(module))
    fresh = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, fresh)  # dataclasses look their module up
    spec.loader.exec_module(fresh)


@pytest.mark.parametrize("name", MEASURING_STACK)
def test_the_guard_refuses_the_measuring_stack_here(name):
    with pytest.raises(ImportError, match="planning must not need the measuring stack"):
        __import__(name)
    with pytest.raises(ImportError):
        importlib.import_module(f"{name}.utils")
