"""``SweepOptions`` holds parsed values: text as typed and tuples give the same options,
bad values of either are refused alike, and a request survives its JSON (the worker's)."""

from __future__ import annotations

import pytest

from bench.errors import UsageError
from bench.plan.request import SweepRequest
from bench.plan.sweep import SweepOptions


def test_text_as_typed_is_parsed_into_the_values():
    typed = SweepOptions(batch_sizes="1,2,4", images_per_prompt="2", steps="3,5", sizes="32,64",
                         dtype="float32,bfloat16", attention="sdpa,math",
                         switches=(("compile", "off,on"), ("vae_tiling", None)),
                         target_uncertainty="2%")
    assert typed == SweepOptions(batch_sizes=(1, 2, 4), images_per_prompt=(2,), steps=(3, 5),
                                 sizes=(32, 64), dtype=("float32", "bfloat16"),
                                 attention=("sdpa", "math"), switches=(("compile", (False, True)),),
                                 target_uncertainty=0.02)
    assert typed.batch_sizes == (1, 2, 4) and typed.switches == (("compile", (False, True)),)


def test_one_number_is_a_list_of_one():
    assert SweepOptions(steps=7).steps == (7,)


def test_unset_values_stay_unset_for_the_plan_to_fill_in():
    options = SweepOptions()
    assert (options.batch_sizes, options.images_per_prompt, options.steps, options.sizes) == (None,) * 4


@pytest.mark.parametrize("options, message", [
    ({"batch_sizes": (1, 0)}, "--batch-sizes '1,0': '0' is not a positive integer"),
    ({"batch_sizes": "1,0"}, "--batch-sizes '1,0': '0' is not a positive integer"),
    ({"images_per_prompt": (2, 2)}, "--images-per-prompt '2,2': repeated value"),
    ({"steps": 0}, "--steps 0: must be a positive integer"),
    ({"dtype": ("float32", "fp8")}, "--dtype 'float32,fp8': 'fp8' is not one of"),
    ({"attention": "flash3"}, "--attention 'flash3': 'flash3' is not one of"),
    ({"switches": (("compile", "maybe"),)}, "--compile 'maybe': 'maybe' is not on or off"),
    ({"switches": (("turbo", "on"),)}, "unknown optimization switch 'turbo'"),
    ({"target_uncertainty": "0"}, "--target-uncertainty '0': must be a percentage in (0, 100)"),
    ({"target_uncertainty": 1.5}, "target uncertainty 1.5: a fraction must be in (0, 1)"),
])
def test_bad_values_are_refused_naming_the_flag_and_value(options, message):
    with pytest.raises(UsageError) as refused:
        SweepOptions(**options)
    assert message in str(refused.value)


def test_a_request_survives_its_json():
    request = SweepRequest(scenario="t2i-prompts", threads=2, peak_tflops="float32=40,bfloat16=700",
                           options=SweepOptions(batch_sizes="1,2", dtype="float32,bfloat16",
                                                switches=(("fuse_qkv", "on"),), prompts=("a cat",),
                                                target_uncertainty="5%", max_time_s=30.0))
    assert SweepRequest.from_json(request.to_json()) == request


def test_peak_tflops_as_typed_is_parsed_per_dtype():
    assert SweepRequest(peak_tflops="300").peak_tflops == (
        ("float32", 300.0), ("float16", 300.0), ("bfloat16", 300.0))
    with pytest.raises(UsageError, match="'float8' is not one of"):
        SweepRequest(peak_tflops="float8=3")
