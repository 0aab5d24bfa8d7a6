"""Real tiny-preset sweeps over the optimization axes through the CLI; how the optimizations
are applied to the pipelines is in tests/assemble/test_optimize.py."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_forked

SMALL = ("--scenario", "t2i-prompts", "--batch-sizes", "1", "--steps", "2", "--height", "32",
         "--width", "32", "--warmup", "1", "--repeats", "1", "--threads", "1", "--quiet")


def config_records(path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in lines if r["type"] == "config"]


@pytest.fixture(scope="module")
def dtype_attention_run(tmp_path_factory):
    """One sweep: float32,bfloat16 × sdpa,math, with a peak given for MFU on the CPU."""
    out = tmp_path_factory.mktemp("run") / "run.jsonl"
    result = run_forked("run", *SMALL, "--device", "cpu", "--dtype", "float32,bfloat16",
                            "--attention", "sdpa,math", "--peak-tflops", "0.5", "--out", str(out))
    assert result.code == 0, result.err
    return result, config_records(out)


def test_every_dtype_and_attention_pair_is_measured(dtype_attention_run):
    _, records = dtype_attention_run
    pairs = [(r["dtype"], r["optimizations"]["attention"], r["status"]) for r in records]
    assert pairs == [("float32", "sdpa", "ok"), ("float32", "math", "ok"),
                     ("bfloat16", "sdpa", "ok"), ("bfloat16", "math", "ok")]


def test_config_ids_name_dtype_and_attention(dtype_attention_run):
    _, records = dtype_attention_run
    assert records[3]["config_id"] == "t2i-prompts/bs1-n1-bfloat16-attn-math"


def test_vae_dtype_follows_the_config_dtype(dtype_attention_run):
    _, records = dtype_attention_run
    assert [(r["vae_dtype"], r["vae_decode_dtype"]) for r in records] == [
        ("float32", "float32")] * 2 + [("bfloat16", "bfloat16")] * 2


def test_every_record_carries_the_same_flops_per_image(dtype_attention_run):
    _, records = dtype_attention_run
    flops = {r["flops_per_image"] for r in records}
    assert len(flops) == 1 and flops.pop() > 0  # dtype and attention kernel change no FLOPs


def test_mfu_uses_the_given_peak(dtype_attention_run):
    _, records = dtype_attention_run
    for r in records:
        assert r["peak_source"] == "--peak-tflops"
        assert r["achieved_tflops"] == pytest.approx(r["flops_per_image"] * r["images_per_s"] / 1e12)
        assert r["mfu"] == pytest.approx(r["achieved_tflops"] / 0.5)


def test_warmup_is_timed_apart_and_nothing_compiles_without_compile(dtype_attention_run):
    _, records = dtype_attention_run
    for r in records:
        assert len(r["warmup_s"]) == 1
        assert r["compile"]["compilations"] == 0


def test_the_optimization_table_is_printed(dtype_attention_run):
    result, _ = dtype_attention_run
    assert "TFLOP/img" in result.out and "MFU" in result.out and "math" in result.out


@pytest.mark.gpu
def test_a_gpu_run_records_mfu_and_the_cuda_event_check(tmp_path):
    out = tmp_path / "run.jsonl"
    result = run_forked("run", *SMALL, "--device", "cuda", "--dtype", "bfloat16", "--out", str(out))
    assert result.code == 0, result.err
    record = config_records(out)[0]
    assert record["latency_event_check"]["agree"], record["latency_event_check"]
    if record["peak_tflops"] is not None:
        assert 0 < record["mfu"] < 1
    assert record["gpu_clocks"]["samples"] >= 1
