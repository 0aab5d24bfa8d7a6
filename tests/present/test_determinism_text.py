"""A determinism run's checks as people read them: the terminal table says how many images
the NaN/black check looked at, and ``report`` of a determinism run file renders its checks
(it printed empty benchmark tables and exit 0). Check records made here; no model."""

from __future__ import annotations

import io
import json
import math

from bench.determinism.verdicts import FAIL, NOT_APPLICABLE, PASS, CheckResult
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan
from bench.present.determinism import verdict_table
from tests.support.cli import run_in_process
from tests.support.fakeruns import header


def config():
    return make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"), SweepOptions(
        batch_sizes="2", images_per_prompt="1", steps=2, height=32, width=32,
        device="cpu")).configs[0]


def checks() -> list[CheckResult]:
    c = config()
    return [
        CheckResult("generator-count", PASS, "3 generators for 2 images: refused", c),
        CheckResult("repeatability", PASS, "2/2 bit-identical", c, 0.0, math.inf, 0.0),
        CheckResult("batch-invariance", FAIL, "1/2 beyond tolerance", c, 0.02, 33.9, 0.0039),
        CheckResult("generator-device", NOT_APPLICABLE, "not applicable on cpu", c),
        CheckResult("image-sanity", PASS, "8 images: 0 with NaN, 0 all black", c,
                    extra={"checked_images": 8, "nan_images": 0, "black_images": 0}),
    ]


def test_a_check_record_reads_back_as_the_check_it_was():
    for check in checks():
        record = check.record()
        assert CheckResult.from_record(json.loads(json.dumps(record))).record() == record


def test_the_nan_black_cell_says_how_many_images_were_checked():
    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(verdict_table(checks()))
    row = next(line for line in console.file.getvalue().splitlines() if "bs2-n1" in line)
    assert "PASS 0/0 of 8" in row


def test_report_of_a_determinism_run_shows_its_checks_not_empty_benchmark_tables(tmp_path):
    run = tmp_path / "determinism.jsonl"
    lines = [{**header(), "mode": "determinism"}, *(c.record() for c in checks()),
             {"type": "footer", "status": "complete", "configs": 1, "checks": 5, "failed": 1}]
    run.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_in_process("report", str(run), "--out", str(tmp_path / "out"))
    assert result.code == 0, result.err
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "### Determinism checks" in markdown
    assert "determinism: FAILED (3 pass, 1 fail, 1 n/a); failing checks: batch-invariance" \
        in markdown
    assert "| t2i-prompts/bs2-n1 | batch-invariance | FAIL    | 0.02" in markdown
    assert "### Summary" not in markdown and "### Recommendation" not in markdown
