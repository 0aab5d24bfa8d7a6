"""The one result type: every record field read once, typed, and written back unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.errors import UsageError
from bench.result import (
    CALLS,
    ROUND_MEDIANS,
    ConfigResult,
    Ending,
    Status,
    Summary,
)
from bench.store.run_file import read_run

DATA = Path(__file__).parent / "store" / "data"
# Written by main at 528067b, before the result type: today's readers must read them.
OLD_FILES = sorted(DATA.glob("main-528067b-*.jsonl"))
DOCS = Path(__file__).resolve().parents[1] / "docs"


def config_records(path: Path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in lines if r.get("type") in ("config", "round")]


@pytest.mark.parametrize("path", OLD_FILES, ids=lambda p: p.name)
def test_every_record_of_an_older_file_round_trips_unchanged(path):
    records = config_records(path)
    assert records
    for record in records:
        assert ConfigResult.from_record(record).to_record() == record


def test_typed_fields_hold_the_record_values():
    record = config_records(OLD_FILES[0])[0]
    result = ConfigResult.from_record(record)
    assert result.status is Status.OK
    assert result.latency.median == record["latency_s"]["median"]
    assert result.latency_values == tuple(record["latency_s"]["values"])
    assert result.images_per_s == record["images_per_s"]
    assert result.peak_memory["process_rss"] == record["peak_memory_bytes"]["process_rss"]
    assert result.batch_size == record["batch_size"]
    assert result.detail("memory_sampler") == record["memory_sampler"]


def test_a_rounds_record_says_its_values_are_round_medians():
    path = DATA / "main-528067b-rounds.jsonl"
    merged = [ConfigResult.from_record(r) for r in config_records(path) if r["type"] == "config"]
    assert merged and all(r.sample == ROUND_MEDIANS for r in merged)
    assert all(r.latency_calls.rounds for r in merged)
    rounds = [ConfigResult.from_record(r) for r in config_records(path) if r["type"] == "round"]
    assert rounds and all(r.kind == "round" and r.round in (1, 2) for r in rounds)
    assert all(r.sample == CALLS for r in rounds)


def test_a_field_the_record_lacks_is_not_written_back():
    record = {"type": "config", "config_id": "s/bs1-n1", "status": "ok",
              "latency_s": {"median": 1.0, "values": [1.0]}}
    written = ConfigResult.from_record(record).to_record()
    assert set(written) == set(record)


def test_replace_writes_the_changed_field_even_when_the_source_lacked_it():
    result = ConfigResult.from_record({"type": "config", "config_id": "c", "status": "ok"})
    assert "mfu" not in result.to_record()
    assert result.replace(mfu=0.5).to_record()["mfu"] == 0.5


def test_with_fields_adds_record_fields_by_their_record_names():
    result = ConfigResult.from_record({"type": "config", "config_id": "c", "status": "ok"})
    changed = result.with_fields(latency_s={"median": 2.0, "values": [2.0, 2.0]},
                                 flops_breakdown={"unet": 1})
    assert changed.median_s == 2.0
    assert changed.detail("flops_breakdown") == {"unet": 1}


def test_an_unknown_status_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match="'finished' is not one of ok, oom"):
        ConfigResult.from_record({"type": "config", "config_id": "c", "status": "finished"})


def test_a_run_file_with_a_malformed_record_is_refused_naming_the_config(tmp_path):
    lines = (DATA / "main-528067b-plain.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    record["latency_s"] = {"values": "fast"}
    lines[1] = json.dumps(record)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UsageError, match=re.escape(f"config record {record['config_id']!r} is malformed")):
        read_run(path)


def test_read_run_gives_typed_results_and_footer():
    run = read_run(OLD_FILES[0])
    assert [r.config_id for r in run.results] == [r["config_id"] for r in run.configs]
    assert run.end.status is Ending.COMPLETE and run.end.configs == len(run.results)


def test_the_documented_statuses_are_the_enum():
    text = (DOCS / "run-file.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `status` | `ok`"))
    assert re.findall(r"`(\w+)`", row)[1:] == [s.value for s in Status if s is not Status.IDLE]


def test_a_summary_of_values_has_every_statistic():
    summary = Summary.of([1.0, 2.0, 3.0])
    assert (summary.median, summary.min, summary.max, summary.n) == (2.0, 1.0, 3.0, 3)
    assert Summary.from_dict(summary.to_dict()) == summary


def test_budget_memory_prefers_the_process_own_device_memory():
    result = ConfigResult.from_record({"type": "config", "config_id": "c", "status": "ok",
                                       "peak_memory_bytes": {"process_rss": 5, "torch_reserved": 7,
                                                             "nvml_process_used": 9}})
    assert result.budget_memory() == ("nvml_process_used", 9)


def test_a_result_survives_pickling_as_ranks_gather_it():
    import pickle

    result = ConfigResult.from_record(config_records(OLD_FILES[0])[0])
    assert pickle.loads(pickle.dumps(result)) == result


def test_a_result_cannot_be_changed_in_place():
    result = ConfigResult.from_record(config_records(OLD_FILES[0])[0])
    with pytest.raises(TypeError):
        result.peak_memory["process_rss"] = 0
    with pytest.raises(AttributeError):
        result.status = Status.ERROR
