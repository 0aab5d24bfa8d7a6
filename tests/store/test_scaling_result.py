"""A ``--scaling`` run's efficiency record, typed: read once, written back unchanged."""

from __future__ import annotations

import pytest

from bench.analyse.scaling import scaling_results as analyse_scaling
from bench.result import ConfigResult
from bench.store.scaling_result import ScalingPoint, ScalingResult, scaling_results


def configs() -> list[ConfigResult]:
    """One base config at 1, 2 and 4 ranks; 4 ranks ran out of memory."""
    def config(world_size: int, images_per_s: float | None, status: str = "ok") -> ConfigResult:
        return ConfigResult.from_record(
            {"type": "config", "config_id": f"t2i/bs1-n1/np{world_size}",
             "base_config_id": "t2i/bs1-n1", "world_size": world_size, "status": status,
             "images_per_s": images_per_s})
    return [config(1, 2.0), config(2, 3.6), config(4, None, status="oom")]


def scaling_records(results: list[ConfigResult]) -> list[dict]:
    return [result.to_record() for result in analyse_scaling(results)]


def test_a_record_of_the_analysis_round_trips_unchanged():
    [record] = scaling_records(configs())
    assert ScalingResult.from_record(record).to_record() == record


def test_typed_fields_hold_the_record_values():
    [record] = scaling_records(configs())
    result = ScalingResult.from_record(record)
    assert result.config_id == "t2i/bs1-n1" and result.baseline_images_per_s == 2.0
    assert [p.world_size for p in result.points] == [1, 2, 4]
    assert result.points[1] == ScalingPoint(2, 3.6, pytest.approx(1.8), pytest.approx(0.9))
    assert result.points[2].images_per_s is None and result.points[2].efficiency is None


def test_only_points_with_a_throughput_are_measured():
    [record] = scaling_records(configs())
    assert [p.world_size for p in ScalingResult.from_record(record).measured] == [1, 2]


def test_fields_it_does_not_model_are_kept_verbatim():
    record = {"type": "scaling", "config_id": "c", "baseline_images_per_s": None,
              "points": [{"world_size": 1, "images_per_s": None, "speedup": None,
                          "efficiency": None, "note": "failed"}], "nodes": 2}
    result = ScalingResult.from_record(record)
    assert result.details["nodes"] == 2 and result.points[0].extra["note"] == "failed"
    assert result.to_record() == record


def test_a_config_record_is_not_a_scaling_record():
    with pytest.raises(ValueError, match="not a scaling record"):
        ScalingResult.from_record(configs()[0].to_record())


def test_a_point_without_its_world_size_is_malformed():
    with pytest.raises(ValueError, match="world_size"):
        ScalingResult.from_record({"type": "scaling", "config_id": "c", "points": [{}]})


def test_scaling_results_picks_the_scaling_records_of_a_run():
    records = [{"type": "header"}, *(c.to_record() for c in configs()),
               *scaling_records(configs()), {"type": "footer"}]
    assert [r.config_id for r in scaling_results(records)] == ["t2i/bs1-n1"]
