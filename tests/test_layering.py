"""The package layout keeps its promises, checked statically against one table.

``MAY_IMPORT`` is the rule: which stages each stage may import. docs/architecture.md states
the same table (a test checks it), so the rule is written in one place and checked here.
Imports are read with ``ast`` from every module under ``bench/``: those at module level
(run on import) and those inside functions (run later, "lazily"); both count.
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

# Modules every stage may import: the package itself and the shared vocabulary.
SHARED = ("bench", "errors", "units", "stats", "result")
# Stage -> the stages it may import (besides itself and SHARED). What reads run files
# (store, analyse, present) imports nothing that measures; commands adapt flags to all
# stages, and the cli to the commands.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "plan": (),
    "assemble": ("plan",),
    "measure": ("plan", "assemble"),
    "determinism": ("plan", "assemble", "measure", "store"),
    "execute": ("plan", "assemble", "measure", "determinism", "store", "analyse"),
    "store": ("plan",),
    "analyse": ("plan", "store"),
    "present": ("plan", "determinism", "store", "analyse"),
    "commands": ("plan", "assemble", "measure", "determinism", "execute", "store", "analyse",
                 "present"),
    "pytest_plugin": ("plan", "assemble", "measure", "execute", "store"),
    "cli": ("measure", "commands"),
    "__main__": ("cli",),
    "errors": (),
    "units": (),
    "stats": (),
    "result": ("stats",),
}
ARCHITECTURE = BENCH.parent / "docs" / "architecture.md"


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


def outside_the_table(imp: Import) -> bool:
    if imp.root != "bench":
        return False
    importer, target = stage(imp.importer), stage(imp.target)
    return target != importer and target not in SHARED and target not in MAY_IMPORT[importer]


def argparse_outside_cli(imp: Import) -> bool:
    return imp.root == "argparse" and not (
        imp.importer == "bench.cli" or in_package(imp.importer, "bench.commands"))


def drawing_outside_present(imp: Import) -> bool:
    return imp.root in DRAWING and not in_package(imp.importer, "bench.present")


def plan_imports_beyond_plan(imp: Import) -> bool:
    return in_package(imp.importer, "bench.plan") and not (
        imp.root in sys.stdlib_module_names or imp.target in ("bench", "bench.errors")
        or in_package(imp.target, "bench.plan"))


def command_modules() -> set[str]:
    """Modules of bench/commands that register a subcommand (not the shared option helpers)."""
    folder = BENCH / "commands"
    return {module_name(p) for p in folder.glob("*.py")
            if any(isinstance(n, ast.FunctionDef) and n.name == "register"
                   for n in ast.parse(p.read_text()).body)}


def documented_table() -> dict[str, tuple[str, ...]]:
    """The "may import" table of docs/architecture.md: | stage | may import |."""
    text = ARCHITECTURE.read_text()
    section = text.split("## Who may import whom", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] and not set(cells[0]) <= set("-: ") and cells[0] != "stage":
            table[cells[0]] = tuple(c.strip("` ") for c in cells[1].split(",") if c.strip("`— "))
    return table


def test_scan_sees_lazy_relative_and_submodule_imports():
    source = ("import os\nfrom bench import units\nfrom . import sibling\n"
              "def f():\n    import torch.cuda\n")
    found = scan(source, "bench.store.x", frozenset({"bench.units"}))
    assert found == [Import("bench.store.x", "os", False),
                     Import("bench.store.x", "bench.units", False),
                     Import("bench.store.x", "bench.store", False),
                     Import("bench.store.x", "torch.cuda", True)]


def test_the_table_names_every_stage():
    stages = {stage(module_name(p)) for p in BENCH.rglob("*.py")} - {"bench"}
    assert stages == set(MAY_IMPORT)


def test_every_import_between_stages_is_allowed_by_the_table_even_lazily():
    assert violations(outside_the_table) == set()


def test_what_reads_run_files_imports_nothing_that_measures():
    for reader in ("store", "analyse", "present"):
        assert not {"assemble", "measure", "execute"} & set(MAY_IMPORT[reader]), reader


def test_the_architecture_doc_states_the_same_table():
    assert documented_table() == MAY_IMPORT


def test_no_command_imports_another_command_even_lazily():
    commands = command_modules()
    assert {"bench.commands.run", "bench.commands.gate"} <= commands
    found = violations(lambda imp: imp.importer in commands and imp.target in commands
                       and imp.target != imp.importer)
    assert found == set()


def test_commands_do_not_import_the_cli():
    assert violations(lambda imp: in_package(imp.importer, "bench.commands")
                      and imp.target == "bench.cli") == set()


def test_stage_packages_import_each_other_without_cycles_even_lazily():
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if imp.root == "bench" and stage(imp.target) != stage(imp.importer):
            edges.setdefault(stage(imp.importer), set()).add(stage(imp.target))
    assert cycle(edges) is None


def test_modules_import_each_other_without_cycles_even_lazily():
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if imp.root == "bench" and imp.target != imp.importer:
            edges.setdefault(imp.importer, set()).add(imp.target)
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    for importer, targets in edges.items():
        targets.discard(importer.rsplit(".", 1)[0])
    assert cycle(edges) is None


def test_only_the_cli_and_commands_import_argparse():
    assert violations(argparse_outside_cli) == set()


def test_store_and_analyse_import_no_measuring_stack_rich_or_matplotlib_even_lazily():
    found = violations(lambda imp: in_package(imp.importer, "bench.store", "bench.analyse",
                                              "bench.stats", "bench.result")
                       and imp.root in HEAVY + DRAWING)
    assert found == set()


def test_only_present_imports_rich_or_matplotlib():
    assert violations(drawing_outside_present) == set()


def test_plan_imports_only_the_standard_library_and_itself_even_lazily():
    assert violations(plan_imports_beyond_plan) == set()
