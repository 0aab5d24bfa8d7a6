"""``report`` and ``compare --out`` write every file whole or not at all: a full disk
keeps the previous report and leaves no fragment, an empty ``--out`` is refused as
``run --out ''`` is."""

from __future__ import annotations

import pytest

from tests.support.cli import run_in_process
from tests.support.fakeruns import record, write_run
from tests.support.full_disk import fill_disk


def runs(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record([1.0, 1.1, 0.9]), record([1.5, 1.6, 1.4], 2)])
    b = write_run(tmp_path / "b.jsonl", [record([1.1, 1.2, 1.0]), record([1.5, 1.7, 1.4], 2)])
    return str(a), str(b)


COMMANDS = {
    "report": lambda a, b, out: ("report", a, "--out", out),
    "compare": lambda a, b, out: ("compare", a, b, "--out", out),
}


def one_line_error(result, fragment: str) -> None:
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdxl-bench: error: "), result.err
    assert fragment in lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_disk_keeps_the_previous_report_whole(tmp_path, monkeypatch, command):
    a, b = runs(tmp_path)
    out = tmp_path / "reports"
    assert run_in_process(*COMMANDS[command](a, b, str(out))).code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    fill_disk(monkeypatch, out, room=100)
    result = run_in_process(*COMMANDS[command](a, b, str(out)))
    one_line_error(result, "No space left on device")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_disk_leaves_no_fragment_on_a_new_path(tmp_path, monkeypatch, command):
    a, b = runs(tmp_path)
    out = tmp_path / "reports"
    out.mkdir()
    fill_disk(monkeypatch, out, room=100)
    one_line_error(run_in_process(*COMMANDS[command](a, b, str(out))), "No space left")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_an_empty_out_is_refused_like_runs(tmp_path, monkeypatch, command):
    a, b = runs(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    one_line_error(run_in_process(*COMMANDS[command](a, b, "")), "--out '': give a folder name")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
