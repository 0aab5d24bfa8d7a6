"""The package layout keeps its promises (docs/architecture.md), checked statically.

Imports are read with ``ast`` from every module under ``bench/``: those at module level
(run on import) and those inside functions (run later, "lazily").
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
HEAVY = ("torch", "diffusers", "transformers", "accelerate")
DRAWING = ("rich", "matplotlib")
LATER_THAN_ANALYSIS = ("present", "execute", "assemble", "measure", "commands")


@dataclass(frozen=True)
class Import:
    importer: str  # module doing the import, e.g. "bench.analyse.compare"
    target: str  # module imported, e.g. "bench.present.tables" or "matplotlib.pyplot"
    lazy: bool  # inside a function: runs when called, not on import

    @property
    def root(self) -> str:
        return self.target.split(".")[0]


def module_name(path: Path, root: Path = BENCH) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def scan(source: str, importer: str, modules: frozenset[str] = frozenset()) -> list[Import]:
    """Every import in ``source``. ``from X import Y`` targets ``X.Y`` when that is one of
    ``modules`` (a submodule), else ``X``; relative imports are resolved against
    ``importer``."""
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend(Import(importer, alias.name, inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = importer.split(".")[: -child.level]
                    base = ".".join([*package, base] if base else package)
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    found.append(Import(importer, sub if sub in modules else base, inner))
            visit(child, inner)

    visit(ast.parse(source), False)
    return found


def all_imports() -> list[Import]:
    paths = sorted(BENCH.rglob("*.py"))
    modules = frozenset(module_name(p) for p in paths)
    return [imp for p in paths for imp in scan(p.read_text(), module_name(p), modules)]


IMPORTS = all_imports()


def stage(module: str) -> str:
    """``bench.analyse.compare`` → ``analyse``; top-level modules are their own stage."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(TopologicalSorter(edges).static_order())
    except CycleError as exc:
        return list(exc.args[1])
    return None


def violations(rule) -> set[tuple[str, str]]:
    return {(imp.importer, imp.target) for imp in IMPORTS if rule(imp)}


def in_package(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def argparse_outside_cli(imp: Import) -> bool:
    return imp.root == "argparse" and not (
        imp.importer == "bench.cli" or in_package(imp.importer, "bench.commands"))


def drawing_outside_present(imp: Import) -> bool:
    allowed = ("bench.present", "bench.determinism.verdicts", "bench.determinism.crossrun")
    return imp.root in DRAWING and not in_package(imp.importer, *allowed)


def readers_import_later_stage(imp: Import) -> bool:
    return in_package(imp.importer, "bench.store", "bench.analyse") and in_package(
        imp.target, *(f"bench.{s}" for s in LATER_THAN_ANALYSIS))


def plan_imports_beyond_plan(imp: Import) -> bool:
    return in_package(imp.importer, "bench.plan") and not (
        imp.root in sys.stdlib_module_names or imp.target in ("bench", "bench.errors")
        or in_package(imp.target, "bench.plan"))


def test_scan_sees_lazy_relative_and_submodule_imports():
    source = ("import os\nfrom bench import units\nfrom . import sibling\n"
              "def f():\n    import torch.cuda\n")
    found = scan(source, "bench.store.x", frozenset({"bench.units"}))
    assert found == [Import("bench.store.x", "os", False),
                     Import("bench.store.x", "bench.units", False),
                     Import("bench.store.x", "bench.store", False),
                     Import("bench.store.x", "torch.cuda", True)]


def test_stage_packages_import_each_other_without_cycles_at_module_level():
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if not imp.lazy and imp.root == "bench" and stage(imp.target) != stage(imp.importer):
            edges.setdefault(stage(imp.importer), set()).add(stage(imp.target))
    assert cycle(edges) is None


def test_modules_import_each_other_without_cycles_at_module_level():
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if not imp.lazy and imp.root == "bench" and imp.target != imp.importer:
            edges.setdefault(imp.importer, set()).add(imp.target)
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    for importer, targets in edges.items():
        targets.discard(importer.rsplit(".", 1)[0])
    assert cycle(edges) is None


def test_only_the_cli_and_commands_import_argparse():
    assert violations(argparse_outside_cli) == set()


def test_store_and_analyse_import_no_measuring_stack_rich_or_matplotlib_even_lazily():
    found = violations(lambda imp: in_package(imp.importer, "bench.store", "bench.analyse")
                       and imp.root in HEAVY + DRAWING)
    assert found == set()


def test_store_and_analyse_import_no_later_stage_even_lazily():
    assert violations(readers_import_later_stage) == set()


def test_only_present_imports_rich_or_matplotlib():
    """Allowed besides present: the determinism verdict tables (their callers are in
    bench/commands/determinism.py)."""
    assert violations(drawing_outside_present) == set()


def test_plan_imports_only_the_standard_library_and_itself_at_module_level():
    found = violations(lambda imp: not imp.lazy and plan_imports_beyond_plan(imp))
    assert found == set()


def test_plan_imports_only_the_standard_library_and_itself_even_lazily():
    assert violations(plan_imports_beyond_plan) == set()
