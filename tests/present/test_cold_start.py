"""Cold start beside the steady state: the terminal line and the report's rows."""

from __future__ import annotations

from bench.present.cold_start import cold_start_line, cold_start_rows
from bench.result import ConfigResult
from tests.support.fakeruns import record

GIB = 2**30
COLD = {"import_s": 8.7, "load_s": 0.47, "first_call_s": 0.142, "first_call": "warm-up",
        "first_call_config_id": "t2i/bs2-n1", "first_call_peak_bytes": 2 * GIB,
        "first_call_memory_view": "process_rss", "notes": ["compiled on first call"]}


def results(*colds) -> list[ConfigResult]:
    return [ConfigResult.from_record(record([0.1 * b] * 3, batch_size=b, cold_start=cold))
            for b, cold in zip((1, 2), colds, strict=True)]


def test_the_line_sets_the_first_call_beside_that_configs_steady_median():
    assert cold_start_line(results(COLD, None)) == (
        "cold start: import 8.7 s, load 0.47 s, first call 0.142 s (warm-up, peak 2 GiB"
        " process_rss); steady-state median 0.2 s")


def test_the_line_counts_every_process_that_started_cold():
    assert cold_start_line(results(COLD, COLD)).endswith(
        " — 2 processes started cold (see the report)")


def test_no_line_without_a_cold_start():
    assert cold_start_line(results(None, None)) is None


def test_a_failed_first_call_says_so_and_unknowns_are_n_a():
    cold = {"import_s": 8.7, "first_call_config_id": "t2i/bs1-n1"}
    assert cold_start_rows(results(cold, None)) == [
        ["t2i/bs1-n1", "8.7", "n/a", "n/a", "failed", "n/a", "0.1", None]]


def test_a_row_carries_the_notes():
    assert cold_start_rows(results(COLD, None))[0][-1] == "compiled on first call"
