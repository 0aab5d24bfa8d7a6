"""``--rounds``: the sweep loop measures round-robin, writes every round as it finishes
and one merged record per config; a signal between rounds loses no finished round."""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import time
import warnings

from bench.execute.sweep import run_sweep
from bench.measure.config import measure_in_process
from bench.measure.limits import limit_fields
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan
from bench.result import ROUND_MEDIANS
from bench.store.result_files import load_results
from bench.store.run_file import RunWriter, read_run
from tests.support.cli import REPO, command, run_in_process, written_records
from tests.support.processes import wait_for_worker

SMALL = dict(steps=1, height=32, width=32, warmup=0, repeats=2)


def test_a_two_round_sweep_writes_rotated_rounds_then_one_record_per_config(tmp_path, tiny_pipes):
    plan = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                     SweepOptions(batch_sizes="1,2", rounds=2, **SMALL))
    path = tmp_path / "run.jsonl"
    with RunWriter(path) as writer:
        writer.write({"type": "header", "schema": 1, "tool": "sdxl-bench", "plan": {}})
        run_sweep(plan, lambda p, c: measure_in_process(p, c, tiny_pipes, ()), writer,
                  footer={}, annotate=lambda c, r: limit_fields(c, r, "cpu"))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    rounds = [(r["round"], r["batch_size"]) for r in lines if r["type"] == "round"]
    assert rounds == [(1, 1), (1, 2), (2, 2), (2, 1)]
    run = read_run(path)
    assert [c["batch_size"] for c in run.configs] == [1, 2]  # readers see one per config
    for record in run.configs:
        medians = [r["latency_s"]["median"] for r in lines
                   if r["type"] == "round" and r["config_id"] == record["config_id"]]
        assert record["rounds"] == 2 and record["round_medians_s"] == medians
        assert record["latency_s"]["median"] == statistics.median(medians)
        assert record["latency_s"]["sample"] == ROUND_MEDIANS
        assert record["latency_calls_s"]["round"] == [1, 1, 2, 2]
        assert record["stability"]["over"] == "round medians"  # annotated after merging
    assert {e.result.sample for e in load_results(path).entries} == {ROUND_MEDIANS}


def test_sigterm_in_round_two_keeps_round_one_and_a_rounds_run_cannot_be_resumed(tmp_path):
    out = tmp_path / "run.jsonl"
    process = subprocess.Popen(
        command("run", "--scenario", "t2i-prompts", "--batch-sizes", "1", "--rounds", "3",
                "--steps", "1", "--height", "32", "--width", "32", "--warmup", "0",
                "--repeats", "2", "--threads", "1", "--quiet", "--out", str(out)),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not written_records(out, "round"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no round record within 240 s"
        time.sleep(0.02)
    wait_for_worker(process)  # round 1's worker was gone before its record: this is round 2's
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = read_run(out)
    [record] = run.configs
    assert record["status"] == "ok" and record["rounds"] == 1 and record["rounds_planned"] == 3
    assert record["round_statuses"] == ["ok", "interrupted"]
    assert record["latency_s"]["n"] == 2  # round 1's calls, kept
    assert run.footer["status"] == "interrupted"
    assert "the finished rounds are merged in" in stderr and "Traceback" not in stderr

    resumed = run_in_process("run", "--resume", str(out))
    assert resumed.code == 2 and "a --rounds run cannot be resumed" in resumed.err
