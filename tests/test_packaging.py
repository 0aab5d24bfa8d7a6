"""What a user installs: the wheel's contents, the installed CLI, and the readers without torch.

The wheel is built from a copy of the source tree (so the checkout gets no build/ or
egg-info), installed with ``pip --target`` and run from an unrelated folder, so nothing
can silently fall back to the repository's own files.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from bench.store.run_file import read_run
from tests.support.cli import REPO, Result, run_in_process, run_subprocess

EXAMPLE = REPO / "reports" / "example" / "tiny-cpu.jsonl"
SCENARIOS = sorted(p.name for p in (REPO / "scenarios").glob("*.py"))
MEASURE_EXTRA = "pip install 'sdxl-bench[measure]'"
BLOCKED = ("torch", "diffusers", "transformers", "accelerate")

# Installed in front of every other finder: importing any blocked package (or a submodule)
# fails exactly as it does where the package is not installed.
BLOCKER = f'''
import sys

BLOCKED = {BLOCKED!r}


class BlockMeasuringStack:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, BlockMeasuringStack())
'''


def _python(args: list[str], pythonpath: list[Path], cwd: Path, timeout: float = 300) -> Result:
    """``python ARGS`` with only ``pythonpath`` in front of the venv (environment kept, so
    the session's tiny-model cache is shared)."""
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(str(p) for p in pythonpath))
    return run_subprocess(*args, prefix=[], cwd=cwd, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of a copy of the source tree (benchmarks/ included, so leaving it out is
    the packaging's doing)."""
    source = tmp_path_factory.mktemp("source") / "sdxl-bench"
    anywhere = shutil.ignore_patterns(".git", ".venv*", "*.egg-info", "__pycache__")

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = {"build", "dist", "reports", "tests"} if Path(folder) == REPO else set()
        return set(anywhere(folder, names)) | (top & set(names))

    shutil.copytree(REPO, source, ignore=ignore)
    assert (source / "benchmarks").is_dir()
    out = tmp_path_factory.mktemp("wheel")
    done = run_subprocess("wheel", "--no-deps", "--no-build-isolation", "-q", str(source), "-w", str(out),
                          prefix=["-m", "pip"])
    assert done.code == 0, done.err
    (built,) = out.glob("sdxl_bench-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed with ``pip --target``; checked to be what a subprocess imports."""
    target = tmp_path_factory.mktemp("target")
    done = run_subprocess("install", "--no-deps", "-q", "--target", str(target), str(wheel),
                          prefix=["-m", "pip"])
    assert done.code == 0, done.err
    origin = _python(["-c", "import bench; print(bench.__file__)"], [target],
                     cwd=tmp_path_factory.mktemp("cwd"))
    assert Path(origin.out.strip()).is_relative_to(target), origin.out + origin.err
    return target


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory) -> Path:
    """A folder whose ``sitecustomize`` blocks the measuring stack; checked to block it."""
    folder = tmp_path_factory.mktemp("no-torch")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    for name in BLOCKED:
        probe = _python(["-c", f"import {name}"], [folder, REPO], cwd=folder)
        assert probe.code != 0 and "ModuleNotFoundError" in probe.err, probe.err
    return folder


def without_torch(no_torch: Path, tmp_path: Path, *argv: str) -> Result:
    """``python -m bench ARGV`` from a temporary folder with the measuring stack blocked."""
    return _python(["-m", "bench", *argv], [no_torch, REPO], cwd=tmp_path)


def test_wheel_ships_the_builtin_scenarios_as_bench_scenarios(wheel_names):
    shipped = sorted(n.removeprefix("bench/scenarios/") for n in wheel_names
                     if n.startswith("bench/scenarios/"))
    assert len(SCENARIOS) == 7 and shipped == SCENARIOS


def test_wheel_leaves_out_benchmarks(wheel_names):
    assert [n for n in wheel_names if n.startswith("benchmarks/")] == []


def test_wheel_holds_every_module_of_the_bench_package(wheel_names):
    """The packages are listed by hand in pyproject.toml: a new subpackage must be added."""
    source = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "bench").rglob("*.py"))
    assert sorted(set(source) - set(wheel_names)) == []


def test_wheel_registers_the_pytest_plugin(wheel_names, wheel):
    (entry_points,) = [n for n in wheel_names if n.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(entry_points).decode()
    assert "[pytest11]\nsdxl_bench = bench.pytest_plugin" in text


def test_installed_wheel_lists_the_builtin_scenarios(installed, tmp_path):
    done = _python(["-m", "bench", "list"], [installed], cwd=tmp_path)
    assert done.code == 0, done.err
    for name in SCENARIOS:
        assert name.removesuffix(".py").replace("_", "-") in done.out


def test_installed_wheel_runs_a_tiny_sweep(installed, tmp_path):
    out = tmp_path / "tiny.jsonl"
    done = _python(["-m", "bench", "run", "--batch-sizes", "1", "--images-per-prompt", "1",
                    "--steps", "1", "--warmup", "0", "--repeats", "1", "--quiet",
                    "--out", str(out)], [installed], cwd=tmp_path)
    assert done.code == 0, done.err
    run = read_run(out)
    assert run.footer["status"] == "complete" and [c["status"] for c in run.configs] == ["ok"]


def test_report_writes_its_files_without_torch(no_torch, tmp_path):
    done = without_torch(no_torch, tmp_path, "report", str(EXAMPLE), "--out", str(tmp_path / "r"))
    assert done.code == 0, done.err
    assert (tmp_path / "r" / "report.md").is_file() and (tmp_path / "r" / "report.html").is_file()


def test_compare_writes_its_report_without_torch(no_torch, tmp_path):
    done = without_torch(no_torch, tmp_path, "compare", str(EXAMPLE), str(EXAMPLE),
                         "--out", str(tmp_path / "c"))
    assert done.code == 0, done.err
    assert "not significant" in (tmp_path / "c" / "compare.md").read_text()


def test_gate_passes_a_run_against_itself_without_torch(no_torch, tmp_path):
    # The example run has too few calls for a verdict: allow inconclusive, this is
    # about reading the file without torch.
    done = without_torch(no_torch, tmp_path, "gate", str(EXAMPLE), str(EXAMPLE),
                         "--allow-inconclusive")
    assert done.code == 0, done.out + done.err
    assert "PASS" in done.out


def test_list_works_without_torch(no_torch, tmp_path):
    done = without_torch(no_torch, tmp_path, "list")
    assert done.code == 0, done.err
    assert "t2i-prompts-x-images" in done.out


@pytest.mark.parametrize("command", ["run", "env", "determinism"])
def test_measuring_command_without_torch_prints_one_line_naming_the_extra(no_torch, tmp_path,
                                                                          command):
    done = without_torch(no_torch, tmp_path, command)
    assert done.code == 2
    (line,) = done.err.splitlines()
    assert line.startswith(f"sdxl-bench: error: {command} needs the measuring stack")
    assert MEASURE_EXTRA in line and "torch" in line.rsplit(MEASURE_EXTRA, 1)[1]


def _raising(error: Exception):
    def handler(args) -> int:
        raise error

    return handler


def test_missing_measuring_submodule_becomes_the_one_line_error(monkeypatch):
    import bench.commands.env

    monkeypatch.setattr(bench.commands.env, "main",
                        _raising(ModuleNotFoundError("no", name="diffusers.models")))
    result = run_in_process("env")
    assert result.code == 2
    assert result.err.strip().endswith("(missing module: diffusers)")


def test_missing_module_outside_the_measuring_stack_keeps_its_traceback(monkeypatch):
    """A module of our own (or any other) missing is a bug, not an installation choice."""
    import bench.commands.env

    monkeypatch.setattr(bench.commands.env, "main",
                        _raising(ModuleNotFoundError("no", name="bench.assemble.gone")))
    with pytest.raises(ModuleNotFoundError):
        run_in_process("env")


def test_history_stores_reports_and_gates_without_torch(no_torch, tmp_path):
    store = str(tmp_path / "history.sqlite")
    done = without_torch(no_torch, tmp_path, "history", "add", str(EXAMPLE), "--store", store)
    assert done.code == 0, done.err
    done = without_torch(no_torch, tmp_path, "history", "report", "--store", store,
                         "--out", str(tmp_path / "h"))
    assert done.code == 0, done.err
    assert (tmp_path / "h" / "index.html").is_file()
    # its only stored run is the candidate itself: no baseline, said in one line
    done = without_torch(no_torch, tmp_path, "gate", "--history", store, str(EXAMPLE))
    assert done.code == 2 and "no run of machine" in done.err and "Traceback" not in done.err
