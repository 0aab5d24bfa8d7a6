"""The optimization table: speed-up against the layout's first row, compile cost only where
compile was asked for."""

from __future__ import annotations

from bench.present.optimization_table import HEADERS, optimization_rows
from bench.result import ConfigResult, Status
from tests.support.fakeruns import record

COMPILE = {"attention": "sdpa", "compile": True}


def row(result: ConfigResult) -> dict[str, str]:
    return dict(zip(HEADERS, optimization_rows([result])[0], strict=True))


def result(latencies: list[float], **fields) -> ConfigResult:
    return ConfigResult.from_record(record(latencies, **fields))


def test_speed_up_is_against_the_first_row_of_the_same_layout():
    rows = optimization_rows([result([0.4] * 3), result([0.2] * 3, dtype="bfloat16"),
                              result([0.3] * 3, batch_size=2)])
    assert [dict(zip(HEADERS, r, strict=True))["speed-up"] for r in rows] == ["1.00", "2.00", "1.00"]


def test_a_compiled_config_shows_its_compile_time_and_recompilations():
    compiled = result([0.2] * 3, optimizations=COMPILE,
                      compile={"compilations": 2, "recompilations": 1, "compile_s": 12.5})
    cells = row(compiled)
    assert (cells["options"], cells["compile s"], cells["recompiles"]) == ("compile", "12.5", "1")


def test_compile_asked_for_without_compile_events_shows_no_time_and_no_recompilation():
    cells = row(result([0.2] * 3, optimizations=COMPILE))
    assert (cells["compile s"], cells["recompiles"]) == ("—", "0")


def test_an_uncompiled_config_shows_no_compile_columns():
    cells = row(result([0.2] * 3, compile={"compilations": 0, "compile_s": 0.0}))
    assert (cells["options"], cells["compile s"], cells["recompiles"]) == ("none", "—", "—")


def test_status_counts_the_warnings():
    cells = row(result([0.2] * 3, warnings=["a", "b"]))
    assert cells["status"] == "ok (2 warnings)"
    assert row(result([], status=Status.OOM))["status"] == "oom"


def test_attention_defaults_to_sdpa_and_short_option_names_join():
    cells = row(result([0.2] * 3, optimizations={"attention": "math", "channels_last": True,
                                                 "vae_tiling": True}))
    assert (cells["attention"], cells["options"]) == ("math", "chlast+tile")
    assert row(result([0.2] * 3))["attention"] == "sdpa"
