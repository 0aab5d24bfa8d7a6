"""The one torch.compile test: a real inductor compile of the tiny UNet and VAE decoder.

Kept as small as a compile allows (one config, 2 steps, 32×32, batch 1, one warm-up,
one timed call, one thread); it still costs minutes on a 2-core CPU, so it is ``slow``.
"""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_forked


def config_records(path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in lines if r["type"] == "config"]


@pytest.mark.slow
def test_compile_time_is_reported_apart_from_steady_state_latency(tmp_path):
    out = tmp_path / "run.jsonl"
    result = run_forked("run", "--scenario", "t2i-prompts", "--batch-sizes", "1", "--steps", "2",
                            "--height", "32", "--width", "32", "--warmup", "1", "--repeats", "1",
                            "--threads", "1", "--device", "cpu", "--compile", "--quiet", "--out", str(out),
                            timeout=900)
    assert result.code == 0, result.err
    record = config_records(out)[0]
    compile_info = record["compile"]
    assert record["status"] == "ok" and record["optimizations"]["compile"] is True
    assert compile_info["compilations"] >= 2  # the UNet and the VAE decoder
    assert compile_info["recompilations"] == 0 and compile_info["compilations_in_timed_calls"] == 0
    assert 0 < compile_info["compile_s"] <= record["warmup_s"][0]
    assert record["latency_s"]["median"] < record["warmup_s"][0]
    # A busy machine may add an "unstable estimate" warning; nothing else may warn.
    others = [w for w in record["warnings"] if not w.startswith("unstable estimate:")]
    assert record["flops_per_image"] > 0 and others == []
