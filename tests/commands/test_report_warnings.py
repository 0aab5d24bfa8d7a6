"""``report`` says on the terminal what it noted about damaged files, not only in report.md."""

from __future__ import annotations

from pathlib import Path

from bench.result import ConfigResult, Status, Summary
from tests.support.cli import REPO, run_in_process

EXAMPLE = REPO / "reports" / "example" / "tiny-cpu.jsonl"


def test_report_prints_a_missing_footer_warning_on_stderr(tmp_path):
    partial = tmp_path / "partial.jsonl"
    partial.write_text("".join(Path(EXAMPLE).read_text().splitlines(keepends=True)[:-1]))
    result = run_in_process("report", str(partial), "--out", str(tmp_path / "out"))
    assert result.code == 0, result.err
    assert "sdxl-bench: warning:" in result.err and "no footer" in result.err


def test_terminal_table_lists_failure_reasons_and_warnings_as_numbered_notes():
    from bench.present.console import console, results_table

    results = [
        ConfigResult(config_id="s/bs1-n1", batch_size=1, num_images_per_prompt=1, images_per_call=1,
                     status=Status.OK, latency=Summary(median=0.1), images_per_s=10.0,
                     warnings=("MFU above 100%",)),
        ConfigResult(config_id="s/bs8-n1", batch_size=8, num_images_per_prompt=1, images_per_call=8,
                     status=Status.OOM, error="OutOfMemoryError: CUDA out of memory.\nTried 20 GiB"),
    ]
    out = console(width=200)
    with out.capture() as captured:
        out.print(results_table(results))
    text = captured.get()
    assert "ok [1]" in text and "oom [2]" in text
    assert "[1] bs1-n1: MFU above 100%" in text
    assert "[2] bs8-n1: OutOfMemoryError: CUDA out of memory. Tried 20 GiB" in text


def test_terminal_table_shows_the_images_per_s_interval_and_n_and_hides_an_unsupported_p90():
    from bench.present.console import console, results_table

    calls = [0.50, 0.52, 0.49, 0.51, 0.50, 0.53]
    result = ConfigResult(config_id="s/bs2-n1", batch_size=2, num_images_per_prompt=1,
                          images_per_call=2, status=Status.OK, images_per_s=4.0,
                          latency=Summary(median=0.505, p90=0.525, values=tuple(calls)))
    out = console(width=200)
    with out.capture() as captured:
        out.print(results_table([result]))
    row = next(line for line in captured.get().splitlines() if "4.000" in line)
    assert "3.774–4.082" in row  # 2 images / [0.53, 0.49] s: the range, 97% coverage at n=6
    assert "0.5250" not in row  # p90 of 6 calls is not shown
    assert " 6 " in row
