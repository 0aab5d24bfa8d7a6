"""``report``, ``compare`` and ``gate`` given a file that is not a whole run file: one clear
line and exit 2, never a traceback. Each command is tried where this checkout has it."""

from __future__ import annotations

import json

import pytest

from bench.cli import COMMANDS
from bench.store.run_file import SCHEMA_VERSION
from tests.support.cli import run_forked

HEADER = {"type": "header", "schema": SCHEMA_VERSION, "tool": "sdxl-bench", "plan": {}, "env": {}}
BAD = {
    "empty": "",
    "truncated": json.dumps(HEADER)[:30] + "\n",
    "foreign": '{"name": "not a run"}\n',
    "newer schema": json.dumps({**HEADER, "schema": SCHEMA_VERSION + 1}) + "\n",
}
INVOCATIONS = {"report": ["report", "{bad}"], "compare": ["compare", "{bad}", "{bad}"],
               "gate": ["gate", "{bad}", "{bad}"]}


@pytest.mark.parametrize("kind", list(BAD))
@pytest.mark.parametrize("command", list(INVOCATIONS))
def test_reader_command_rejects_bad_run_file_in_one_line(command, kind, tmp_path):
    if command not in COMMANDS:
        pytest.skip(f"`{command}` is not in this checkout's CLI")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(BAD[kind])
    args = [a.format(bad=bad) for a in INVOCATIONS[command]]
    result = run_forked(*args, timeout=120)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdxl-bench: error:"), result.err
    assert "Traceback" not in result.err
