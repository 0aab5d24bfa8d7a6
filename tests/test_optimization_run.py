"""Real tiny-preset sweeps over the optimization axes, through the CLI and in-process."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

SMALL = ("--scenario", "t2i-prompts", "--batch-sizes", "1", "--steps", "2", "--height", "32",
         "--width", "32", "--warmup", "1", "--repeats", "1", "--threads", "1", "--quiet")


def config_records(path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in lines if r["type"] == "config"]


@pytest.fixture(scope="module")
def dtype_attention_run(tmp_path_factory):
    """One sweep: float32,bfloat16 × sdpa,math, with a peak given for MFU on the CPU."""
    out = tmp_path_factory.mktemp("run") / "run.jsonl"
    result = run_cli("run", *SMALL, "--device", "cpu", "--dtype", "float32,bfloat16",
                     "--attention", "sdpa,math", "--peak-tflops", "0.5", "--out", str(out))
    assert result.returncode == 0, result.stderr
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
    assert "TFLOP/img" in result.stdout and "MFU" in result.stdout and "math" in result.stdout


def test_pipelines_are_built_once_per_group_and_reused_across_batch_sizes():
    from bench.build.pipeline_groups import PipelineGroups
    from bench.plan.models import resolve_model
    from bench.plan.optimizations import Optimizations
    from bench.plan.scenario import load_scenario
    from bench.plan.sweep import SweepOptions, make_plan

    plan = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                     SweepOptions(batch_sizes="1,2", attention="sdpa,math"))
    groups = PipelineGroups(plan.model, "cpu")
    pipes = [groups.for_config(c) for c in plan.configs]
    assert groups.groups_built == 2
    assert pipes[0] is pipes[1] and pipes[2] is pipes[3] and pipes[1] is not pipes[2]
    assert plan.configs[2].optimizations == Optimizations(attention="math")


def test_math_attention_installs_the_classic_processor_everywhere():
    from diffusers.models.attention_processor import AttnProcessor

    from bench.build.optimize import apply_optimizations
    from bench.build.pipelines import load_pipelines
    from bench.plan.models import resolve_model
    from bench.plan.optimizations import Optimizations

    pipes = load_pipelines(resolve_model("tiny"), "cpu", "float32")
    apply_optimizations(Optimizations(attention="math", vae_slicing=True), pipes)
    processors = list(pipes.text2img.unet.attn_processors.values())
    assert processors and all(type(p) is AttnProcessor for p in processors)
    assert pipes.img2img.vae.use_slicing is True  # img2img shares the modules


def test_fused_qkv_and_channels_last_apply_to_the_unet():
    import torch

    from bench.build.optimize import apply_optimizations
    from bench.build.pipelines import load_pipelines
    from bench.plan.models import resolve_model
    from bench.plan.optimizations import Optimizations

    pipes = load_pipelines(resolve_model("tiny"), "cpu", "float32")
    apply_optimizations(Optimizations(fuse_qkv=True, channels_last=True), pipes)
    unet = pipes.text2img.unet
    names = {type(p).__name__ for p in unet.attn_processors.values()}
    assert names == {"FusedAttnProcessor2_0"}
    conv = unet.conv_in.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.gpu
def test_a_gpu_run_records_mfu_and_the_cuda_event_check(tmp_path):
    out = tmp_path / "run.jsonl"
    result = run_cli("run", *SMALL, "--device", "cuda", "--dtype", "bfloat16", "--out", str(out))
    assert result.returncode == 0, result.stderr
    record = config_records(out)[0]
    assert record["latency_event_check"]["agree"], record["latency_event_check"]
    if record["peak_tflops"] is not None:
        assert 0 < record["mfu"] < 1
    assert record["gpu_clocks"]["samples"] >= 1
