"""The optimizations applied to real tiny pipelines: pipeline groups built once and reused,
attention processors, fused QKV and channels-last (in-process)."""

from __future__ import annotations


def test_pipelines_are_built_once_per_group_and_reused_across_batch_sizes():
    from bench.assemble.pipeline_groups import PipelineGroups
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

    from bench.assemble.optimize import apply_optimizations
    from bench.assemble.pipelines import load_pipelines
    from bench.plan.models import resolve_model
    from bench.plan.optimizations import Optimizations

    pipes = load_pipelines(resolve_model("tiny"), "cpu", "float32")
    apply_optimizations(Optimizations(attention="math", vae_slicing=True), pipes)
    processors = list(pipes.text2img.unet.attn_processors.values())
    assert processors and all(type(p) is AttnProcessor for p in processors)
    assert pipes.img2img.vae.use_slicing is True  # img2img shares the modules


def test_fused_qkv_and_channels_last_apply_to_the_unet():
    import torch

    from bench.assemble.optimize import apply_optimizations
    from bench.assemble.pipelines import load_pipelines
    from bench.plan.models import resolve_model
    from bench.plan.optimizations import Optimizations

    pipes = load_pipelines(resolve_model("tiny"), "cpu", "float32")
    apply_optimizations(Optimizations(fuse_qkv=True, channels_last=True), pipes)
    unet = pipes.text2img.unet
    names = {type(p).__name__ for p in unet.attn_processors.values()}
    assert names == {"FusedAttnProcessor2_0"}
    conv = unet.conv_in.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
