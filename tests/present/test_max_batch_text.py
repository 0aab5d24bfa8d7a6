"""max-batch's terminal result: memory per image first, the whole-process figure named apart."""

from __future__ import annotations

from bench.present.max_batch import max_batch_text

GIB = 2**30


def summary(**changes) -> dict:
    fields = {"axis": "batch_size", "max_size": 8, "peak_memory_view": "process_rss",
              "peak_memory_bytes": 5 * GIB, "marginal_bytes_per_image": 0.25 * GIB,
              "fixed_bytes": 3 * GIB, "memory_fit_probes": 4, "memory_fit_max_residual_bytes": 0,
              "whole_peak_bytes_per_image": 0.625 * GIB}
    return {**fields, **changes}


def test_headline_memory_per_image_is_the_slope():
    lines = max_batch_text(summary(), limit=64).splitlines()
    assert lines[1].startswith("memory per image: 0.2500 GiB (slope of peak process_rss")
    assert "fixed part 3.000 GiB" in lines[1]


def test_whole_process_peak_per_image_comes_after_and_says_it_includes_the_fixed_part():
    lines = max_batch_text(summary(), limit=64).splitlines()
    assert lines[2] == ("whole-process peak at 8: 5.000 GiB (process_rss), 0.6250 GiB per image"
                        " including the fixed part")


def test_one_fitting_probe_says_memory_per_image_cannot_be_told():
    text = max_batch_text(summary(max_size=1, marginal_bytes_per_image=None, fixed_bytes=None),
                          limit=64)
    assert "memory per image: n/a (one probe fit" in text
