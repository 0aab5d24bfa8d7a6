"""``env --probe``'s dtypes: the flag checked, sensible defaults per device."""

from __future__ import annotations

import pytest

from bench.errors import UsageError
from bench.measure.matmul_probe import probe_dtypes


def test_cpu_probes_float32_only_by_default():
    assert probe_dtypes(None, "cpu") == ("float32",)


def test_cuda_probes_the_three_training_and_inference_dtypes_by_default():
    assert probe_dtypes(None, "cuda:0") == ("float32", "float16", "bfloat16")


def test_a_listed_dtype_is_probed_as_given():
    assert probe_dtypes("bfloat16, float16", "cuda") == ("bfloat16", "float16")


def test_an_unknown_dtype_names_itself_and_the_choices():
    with pytest.raises(UsageError, match=r"--probe-dtype 'fp8': 'fp8' is not one of float32"):
        probe_dtypes("fp8", "cuda")
