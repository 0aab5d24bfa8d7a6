"""Out of memory: recorded with the memory reached, later configs still measured, larger
ones skipped. Real ``torch.OutOfMemoryError``s from ``--memory-budget`` on CPU; the
``gpu`` tests run out of real GPU memory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.measure.oom import GIB, MemoryBudget, is_out_of_memory, skip_reason
from bench.plan.sweep import SweepOptions, make_plan
from bench.store.run_file import read_run
from tests.support.cli import Result, run_forked

BUDGET_GIB = 0.1  # tiny at 64x64, 1 step: batch 1-4 grow RSS by ~25-45 MiB, batch 64 by ~430 MiB
QUICK = ["--scenario", "t2i-prompts", "--steps", "1", "--warmup", "0", "--repeats", "1",
         "--threads", "1", "--quiet"]


def run(out: Path, *flags: str) -> Result:
    return run_forked("run", *QUICK, "--out", str(out), *flags)


@pytest.fixture(scope="module")
def budget_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("oom") / "run.jsonl"
    result = run(out, "--batch-sizes", "1,64,2,128", "--memory-budget", str(BUDGET_GIB))
    assert result.code == 0, result.err
    return read_run(out)


def test_oom_in_the_middle_of_a_sweep_leaves_every_other_config_measured(budget_sweep):
    statuses = {r["batch_size"]: r["status"] for r in budget_sweep.configs}
    assert statuses[1] == "ok" and statuses[2] == "ok"
    assert statuses[64] == "oom"
    assert all(r["images_per_s"] > 0 for r in budget_sweep.configs if r["status"] == "ok")


def test_oom_record_holds_the_memory_reached(budget_sweep):
    oom = next(r for r in budget_sweep.configs if r["status"] == "oom")
    assert oom["error"].startswith("OutOfMemoryError: memory budget exceeded")
    assert oom["memory_budget_peak_bytes"] > BUDGET_GIB * GIB
    assert oom["peak_memory_bytes"]["process_rss"] > oom["memory_budget_peak_bytes"]


def test_larger_config_after_oom_is_skipped_with_the_reason(budget_sweep):
    skipped = next(r for r in budget_sweep.configs if r["batch_size"] == 128)
    assert skipped["status"] == "skipped"
    assert "t2i-prompts/bs64-n1 ran out of memory" in skipped["error"]


def test_no_skip_after_oom_runs_larger_configs(tmp_path):
    out = tmp_path / "run.jsonl"
    result = run(out, "--batch-sizes", "64,128", "--memory-budget", str(BUDGET_GIB),
                 "--no-skip-after-oom")
    assert result.code == 0, result.err
    assert [r["status"] for r in read_run(out).configs] == ["oom", "oom"]


class Allocates(torch.nn.Module):
    def __init__(self, mib: int) -> None:
        super().__init__()
        self.mib = mib

    def forward(self, x):
        return x + torch.ones(self.mib * 2**18)  # float32: 4 bytes each, pages touched


def test_memory_budget_raises_a_real_out_of_memory_error_from_inside_forward():
    with MemoryBudget(int(0.02 * GIB), "cpu") as budget, pytest.raises(torch.OutOfMemoryError):
        Allocates(64)(torch.zeros(1))
    assert budget.peak_bytes > 0.02 * GIB


def test_memory_budget_lets_calls_under_it_through():
    with MemoryBudget(int(1.0 * GIB), "cpu") as budget:
        Allocates(16)(torch.zeros(1))
    assert 0 < budget.peak_bytes < GIB


def test_memory_budget_hook_is_removed_on_exit():
    with MemoryBudget(1, "cpu"):
        pass
    Allocates(16)(torch.zeros(1))  # would raise if the hook were still installed


@pytest.mark.parametrize(("exc", "expected"), [
    (torch.OutOfMemoryError("CUDA out of memory"), True),
    (RuntimeError("input tensor has more than INT_MAX elements"), True),
    (RuntimeError("shape mismatch"), False),
    (ValueError("bad"), False),
])
def test_out_of_memory_recognised(exc, expected):
    assert is_out_of_memory(exc) is expected


def _configs(batch_sizes: str, per_prompt: str, dtype: str = "float32"):
    from bench.plan.models import resolve_model
    from bench.plan.scenario import load_scenario

    plan = make_plan(load_scenario("t2i-prompts-x-images"), resolve_model("tiny"),
                     SweepOptions(batch_sizes=batch_sizes, images_per_prompt=per_prompt,
                                  dtype=dtype))
    return {(c.batch_size, c.num_images_per_prompt, c.dtype): c for c in plan.configs}


def test_skip_reason_covers_configs_larger_on_both_axes_only():
    configs = _configs("1,2,4", "1,2")
    oom = [configs[(2, 1, "float32")]]
    assert skip_reason(configs[(4, 1, "float32")], oom) is not None
    assert skip_reason(configs[(2, 2, "float32")], oom) is not None
    assert skip_reason(configs[(1, 2, "float32")], oom) is None  # smaller batch: may fit
    assert skip_reason(configs[(1, 1, "float32")], oom) is None


def test_skip_reason_ignores_configs_that_differ_in_more_than_the_batch():
    configs = _configs("1,2,4", "1", dtype="float32,bfloat16")
    oom = [configs[(2, 1, "float32")]]
    assert skip_reason(configs[(4, 1, "float32")], oom) is not None
    assert skip_reason(configs[(4, 1, "bfloat16")], oom) is None  # half the bytes: may fit


@pytest.mark.gpu
def test_real_cuda_out_of_memory_is_recorded_and_the_sweep_goes_on(tmp_path):
    out = tmp_path / "run.jsonl"
    result = run_forked(
        "run", "--device", "cuda", "--scenario", "t2i-prompts",
        "--batch-sizes", "1,2048,2", "--height", "1024", "--width", "1024", "--steps", "1",
        "--warmup", "0", "--repeats", "1", "--quiet", "--out", str(out), timeout=600)
    assert result.code == 0, result.err
    statuses = [r["status"] for r in read_run(out).configs]
    assert statuses == ["ok", "oom", "ok"]
    oom = read_run(out).configs[1]
    assert oom["peak_memory_bytes"]["torch_allocated"] > 0


@pytest.mark.gpu
def test_memory_budget_on_cuda_counts_torch_allocated(tmp_path):
    out = tmp_path / "run.jsonl"
    result = run_forked(
        "run", "--device", "cuda", *QUICK, "--batch-sizes", "1",
        "--memory-budget", "0.001", "--out", str(out), timeout=600)
    assert result.code == 0, result.err
    record = read_run(out).configs[0]
    assert record["status"] == "oom" and "torch allocated" in record["error"]
