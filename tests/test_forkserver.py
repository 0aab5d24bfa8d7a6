"""The fork server behind ``run_forked`` hands each child the test's folder, environment,
argv and exit code, as a fresh ``python -m bench`` would get them."""

from __future__ import annotations

import os

from tests.support.cli import run_forked, run_subprocess
from tests.support.fakeruns import record, write_run


def test_a_forked_command_resolves_relative_paths_in_the_tests_folder(tmp_path):
    write_run(tmp_path / "run.jsonl", [record([0.2, 0.21, 0.22], batch_size=1)])
    result = run_forked("report", "run.jsonl", "--out", "rep", cwd=tmp_path)
    assert result.code == 0, result.err
    assert (tmp_path / "rep" / "report.md").is_file()


def test_a_forked_command_sees_the_environment_it_was_given(tmp_path):
    store = tmp_path / "elsewhere.sqlite"
    result = run_forked("history", "show", env={**os.environ, "SDXL_BENCH_HISTORY": str(store)})
    assert result.code == 2 and f"no history store at {store}" in result.err


def test_a_forked_command_answers_as_a_fresh_interpreter_does():
    forked, fresh = run_forked("run", "--dtype", "fp8"), run_subprocess("run", "--dtype", "fp8")
    assert (forked.code, forked.out, forked.err) == (fresh.code, fresh.out, fresh.err)
    assert forked.code == 2 and "--dtype 'fp8'" in forked.err
