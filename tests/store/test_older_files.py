"""Run files written by main before the result type (528067b) still read everywhere a
user points a reader at them: report, compare, gate and history add."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_in_process

DATA = Path(__file__).parent / "data"
PLAIN = DATA / "main-528067b-plain.jsonl"
ROUNDS = DATA / "main-528067b-rounds.jsonl"


@pytest.mark.parametrize("path", [PLAIN, ROUNDS], ids=lambda p: p.name)
def test_report_writes_its_files_from_an_older_run(path, tmp_path):
    done = run_in_process("report", str(path), "--out", str(tmp_path / "report"))
    assert done.code == 0, done.err
    assert "bs1-n1" in (tmp_path / "report" / "report.md").read_text()


def test_compare_reads_two_older_runs():
    done = run_in_process("compare", str(PLAIN), str(PLAIN))
    assert done.code == 0, done.err
    assert "t2i-prompts-x-images bs2 n1 2steps 32x32 float32 tiny" in done.out
    assert "1.000x" in done.out


def test_gate_judges_two_older_runs_config_by_config():
    done = run_in_process("gate", str(PLAIN), str(PLAIN), "--allow-inconclusive")
    assert done.code == 0, done.err
    for layout in ("bs1 n1", "bs2 n1"):
        assert f"t2i-prompts-x-images {layout} 2steps 32x32 float32 tiny | inconclusive" in done.out


def test_history_add_stores_an_older_run(tmp_path):
    store = tmp_path / "history.sqlite"
    copy = tmp_path / PLAIN.name
    shutil.copy(PLAIN, copy)
    done = run_in_process("history", "add", str(copy), "--store", str(store))
    assert done.code == 0, done.err
    assert "added: 2 config(s)" in done.out
    shown = run_in_process("history", "show", "--store", str(store))
    assert shown.code == 0 and "bs2" in shown.out
