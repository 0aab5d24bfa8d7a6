"""benchmarks/gpu_validate.sh --dry-run: the GPU validation script's plumbing (steps,
timeouts, run files, summary) on this CPU with the tiny model, so the first GPU hour is
not spent debugging the script."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.cli import REPO


def test_the_dry_run_passes_every_step_and_writes_the_summary(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, OUT=str(out), PY=sys.executable, BUDGET_S="110")
    done = subprocess.run(["bash", "benchmarks/gpu_validate.sh", "--dry-run"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "dry-run" and summary["verdict"] == "PASS", summary
    assert {name: s["rc"] for name, s in summary["steps"].items()} == {
        "install": "skipped", "doctor": "0", "pytest_gpu": "0", "sweep": "0",
        "determinism": "0", "last_device": "skipped"}
    assert [r["status"] for r in summary["sweep.jsonl"]] == ["ok", "ok", "ok"]
    assert summary["determinism"] and (out / "summary.txt").read_text().startswith("verdict: PASS")
    assert "nvml" in summary["doctor"]


def test_an_unknown_argument_is_one_line_and_exit_2():
    done = subprocess.run(["bash", "benchmarks/gpu_validate.sh", "--bogus"], cwd=REPO,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
