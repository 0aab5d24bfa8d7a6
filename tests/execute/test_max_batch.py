"""``max-batch``: the grow-then-bisect search alone, then the command on a real tiny model
with a memory budget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.execute.max_batch import Probe, find_max_batch
from bench.result import ConfigResult
from tests.support.cli import run_forked


def threshold_probe(largest_fitting: int, asked: list[int]):
    def probe(size: int) -> Probe:
        asked.append(size)
        return Probe(size, size <= largest_fitting, ConfigResult())
    return probe


def test_search_grows_by_doubling_then_bisects():
    asked: list[int] = []
    best, probes = find_max_batch(threshold_probe(37, asked), limit=256)
    assert best == 37
    assert asked[:7] == [1, 2, 4, 8, 16, 32, 64]
    assert all(32 < size < 64 for size in asked[7:])
    assert len(asked) == 7 + 5  # bisecting 32..64 takes log2(32) probes


def test_search_stops_at_the_limit_when_everything_fits():
    asked: list[int] = []
    best, _ = find_max_batch(threshold_probe(1000, asked), limit=24)
    assert best == 24
    assert asked == [1, 2, 4, 8, 16, 24]


def test_search_reports_none_when_even_one_does_not_fit():
    asked: list[int] = []
    best, probes = find_max_batch(threshold_probe(0, asked), limit=64)
    assert best is None and asked == [1]


def test_max_batch_finds_the_boundary_of_a_memory_budget():
    """On the default scenario, whose images-per-prompt axis is held at 1 and said so."""
    result = run_forked(
        "max-batch", "--steps", "1",
        "--threads", "1", "--memory-budget", "0.1", "--limit", "64", "--json", timeout=600)
    assert result.code == 0, result.err
    said = " ".join(result.err.split())
    assert "num_images_per_prompt held at 1 (the scenario's smallest; --images-per-prompt" in said
    summary = json.loads(result.out)
    assert all(p["images_per_call"] == p["size"] for p in summary["probes"])
    status = {p["size"]: p["status"] for p in summary["probes"]}
    best = summary["max_size"]
    assert 1 < best < 64  # the budget, not the limit, stopped it
    assert status[best] == "ok"
    assert min(size for size, s in status.items() if s == "oom") == best + 1
    fitted = [(p["images_per_call"], p["peak_memory_bytes"]) for p in summary["probes"]
              if p["status"] == "ok"]
    slope, intercept = np.polyfit(*zip(*fitted, strict=True), 1)
    assert summary["marginal_bytes_per_image"] == pytest.approx(slope)
    assert summary["fixed_bytes"] == pytest.approx(intercept)
    assert 0 < summary["marginal_bytes_per_image"] < summary["whole_peak_bytes_per_image"]


def test_max_batch_exits_1_with_one_line_when_even_one_does_not_fit():
    result = run_forked("max-batch", "--steps", "1", "--height", "32", "--width", "32",
                        "--threads", "1", "--memory-budget", "0.000001", "--json", timeout=600)
    assert result.code == 1, result.err
    assert json.loads(result.out)["max_size"] is None
    assert result.err.strip().splitlines()[-1].startswith(
        "sdxl-bench: max-batch found no batch_size that fits within --memory-budget 1e-06 GiB:"
        " even batch_size 1 did not (oom: OutOfMemoryError: memory budget exceeded")
