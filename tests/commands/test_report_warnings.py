"""``report`` says on the terminal what it noted about damaged files, not only in report.md."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import REPO, run_in_process

EXAMPLE = REPO / "reports" / "example" / "tiny-cpu.jsonl"


def test_report_prints_a_missing_footer_warning_on_stderr(tmp_path):
    partial = tmp_path / "partial.jsonl"
    partial.write_text("".join(Path(EXAMPLE).read_text().splitlines(keepends=True)[:-1]))
    result = run_in_process("report", str(partial), "--out", str(tmp_path / "out"))
    assert result.code == 0, result.err
    assert "sdxl-bench: warning:" in result.err and "no footer" in result.err
