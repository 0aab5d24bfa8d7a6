"""Planning of the optimization axes: config ids, grouping, and refusals at planning time.

What the installed torch and diffusers can do is asked later, apart from planning
(tests/assemble/test_optimization_support.py).
"""

from __future__ import annotations

import os

import pytest

from bench.cli import build_parser
from bench.commands.sweep_options import request_from_args
from bench.errors import UsageError
from bench.plan.request import plan_request
from tests.support.cli import run_in_process


def plan(*argv: str):
    args = build_parser().parse_args(["run", "--scenario", "t2i-prompts-x-images", *argv])
    return plan_request(request_from_args(args), device="cpu")


def test_config_ids_keep_the_plain_form_without_extra_axes():
    ids = [c.config_id for c in plan("--batch-sizes", "2", "--images-per-prompt", "4").configs]
    assert ids == ["t2i-prompts-x-images/bs2-n4"]


def test_config_ids_name_every_varying_axis():
    configs = plan("--batch-sizes", "1", "--images-per-prompt", "1", "--dtype", "float32,bfloat16",
                   "--compile", "off,on", "--warmup", "1").configs
    assert [c.config_id for c in configs] == [
        "t2i-prompts-x-images/bs1-n1-float32-no-compile",
        "t2i-prompts-x-images/bs1-n1-float32-compile",
        "t2i-prompts-x-images/bs1-n1-bfloat16-no-compile",
        "t2i-prompts-x-images/bs1-n1-bfloat16-compile",
    ]


def test_config_ids_stay_unique_across_every_axis():
    configs = plan("--dtype", "float32,bfloat16", "--attention", "sdpa,math", "--size", "32,64",
                   "--steps", "2,3", "--channels-last", "off,on", "--vae-slicing", "off,on").configs
    assert len(configs) == 2 * 2 * 2 * 2 * 2 * 2 * 3 * 2
    assert len({c.config_id for c in configs}) == len(configs)


def test_configs_of_one_pipeline_group_are_contiguous():
    configs = plan("--dtype", "float32,bfloat16", "--attention", "sdpa,math").configs
    groups = [(c.dtype, c.optimizations) for c in configs]
    changes = sum(a != b for a, b in zip(groups, groups[1:], strict=False))
    assert changes == len(set(groups)) - 1


def test_a_switch_given_alone_means_on():
    assert all(c.optimizations.compile for c in plan("--compile").configs)


def test_size_sets_height_and_width():
    configs = plan("--size", "32,48", "--batch-sizes", "1", "--images-per-prompt", "1").configs
    assert [(c.height, c.width) for c in configs] == [(32, 32), (48, 48)]


@pytest.mark.parametrize("argv, message", [
    (["--dtype", "float64"], "'float64' is not one of"),
    (["--attention", "flash3"], "'flash3' is not one of"),
    (["--compile", "maybe"], "'maybe' is not on or off"),
    (["--fuse-qkv", "--attention", "math"], "cannot combine with --attention math"),
    (["--compile", "--warmup", "0"], "at least one warm-up call"),
    (["--attention", "sdpa-efficient", "--device", "cpu"], "needs a CUDA device"),
    (["--size", "32", "--height", "64"], "drop --height/--width"),
    (["--size", "30"], "multiple of 8"),
    (["--peak-tflops", "0"], "'0' is not a positive number"),
    (["--peak-tflops", "float8=3"], "'float8' is not one of"),
])
def test_bad_optimization_flags_are_usage_errors(argv, message):
    result = run_in_process("run", "--out", os.devnull, *argv)
    assert result.code == 2
    assert result.err.startswith("sdxl-bench: error: ") and message in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_img2img_refuses_several_sizes():
    args = build_parser().parse_args(["run", "--scenario", "i2i-prompts", "--size", "32,64"])
    with pytest.raises(UsageError, match="only one size per run"):
        plan_request(request_from_args(args), device="cpu")
