"""Every number is checked for finiteness and range at planning time, before any model
loads: one line naming the value and what is allowed, exit 2."""

from __future__ import annotations

import pytest

from tests.support.cli import run_in_process

CASES = [
    (["run", "--guidance-scale", "inf"], "--guidance-scale inf: must be a finite number"),
    (["run", "--guidance-scale", "nan"], "--guidance-scale nan: must be a finite number"),
    (["run", "--strength", "nan", "--scenario", "i2i-prompts"], "--strength nan: must be in (0, 1]"),
    (["run", "--seed", str(2**63 - 2)], "which must stay below 2**63"),
    (["run", "--peak-tflops", "inf"], "--peak-tflops 'inf': 'inf' is not a positive number"),
    (["run", "--nproc", "2", "--dist-timeout", "inf"], "--dist-timeout inf: must be a positive"),
    (["run", "--memory-budget", "nan"], "--memory-budget nan: must be a positive number"),
    (["run", "--prompt", "   "], "--prompt '   ': a prompt must not be empty or only spaces"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(c[0][1:3]) for c in CASES])
def test_out_of_range_numbers_are_one_line_errors(argv, message):
    result = run_in_process(*argv)
    assert result.code == 2
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_debug_shows_the_traceback_but_keeps_the_exit_code(tmp_path):
    missing = str(tmp_path / "missing.jsonl")
    plain = run_in_process("gate", missing, missing)
    debug = run_in_process("gate", missing, missing, "--debug")
    assert plain.code == debug.code == 2
    assert "Traceback" in debug.err and "Traceback" not in plain.err
