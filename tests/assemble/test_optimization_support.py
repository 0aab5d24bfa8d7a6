"""Whether the installed torch and diffusers can do the requested optimizations is asked
before any model loads (``bench.assemble.optimize.check_supported``): a one-line refusal."""

from __future__ import annotations

import os

import pytest

from bench.assemble.optimize import check_supported
from bench.errors import UsageError
from bench.plan.optimizations import Optimizations
from tests.support.cli import run_in_process


def test_compile_without_a_cpp_compiler_is_refused_at_planning(tmp_path, monkeypatch):
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no g++, c++ or clang++
    result = run_in_process("run", "--device", "cpu", "--compile", "--out", os.devnull)
    assert result.code == 2
    assert "needs a C++ compiler" in result.err


def test_a_diffusers_without_fused_qkv_is_refused(monkeypatch):
    import diffusers

    # An older diffusers: a UNet class without fuse_qkv_projections.
    monkeypatch.setattr(diffusers, "UNet2DConditionModel", type("UNet2DConditionModel", (), {}))
    with pytest.raises(UsageError, match="has no UNet2DConditionModel.fuse_qkv_projections"):
        check_supported((Optimizations(fuse_qkv=True),), ("float32",), "cpu", warmup=1)
