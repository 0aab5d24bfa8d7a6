"""Field lists are derived from one definition, not retyped: the config key and the call
arguments outside it from ``Config``'s field metadata, the memory view every output names
from ``BUDGET_VIEWS``, and ``GIB`` from ``bench.units``."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

import pytest

from bench.analyse.recommend import Budget
from bench.plan.sweep import Config
from bench.present.console import results_table
from bench.present.document import to_markdown
from bench.present.report import recommendation_blocks
from bench.result import ConfigResult
from bench.store.schema import (
    KEY,
    NEITHER,
    UNMATCHED,
    UNMATCHED_ARGUMENTS,
    ConfigKey,
    config_key,
    field_names,
    make_config_key_type,
    unmatched_arguments,
)
from bench.units import GIB

RECORD = {
    "type": "config", "config_id": "t2i-prompts/bs2-n1", "status": "ok",
    "scenario": "t2i-prompts", "task": "text2img", "model": "tiny", "device": "cpu",
    "dtype": "float32", "batch_size": 2, "num_images_per_prompt": 1,
    "num_inference_steps": 4, "height": 64, "width": 64, "guidance_scale": 5.0,
    "strength": None, "seed": 0, "generator_device": "cpu", "images_per_call": 2,
    "optimizations": {"attention": "math"}, "images_per_s": 1.0,
    "latency_s": {"median": 2.0, "p90": 2.0, "values": [2.0]},
}


@dataclass(frozen=True)
class WiderConfig(Config):
    """Config as it would be after someone adds a key field and a call argument."""

    sampler: str = field(default="euler", metadata={"match": "key"})
    eta: float = field(default=0.0, metadata={"match": "unmatched"})


@dataclass(frozen=True)
class UnclassifiedConfig(Config):
    sampler: str = "euler"


def test_every_config_field_says_how_it_matches():
    kinds = {f.name: f.metadata.get("match") for f in fields(Config)}
    assert {name for name, kind in kinds.items() if kind not in (KEY, UNMATCHED, NEITHER)} == set()


def test_a_config_field_without_match_metadata_is_refused():
    with pytest.raises(TypeError, match="'sampler' has no metadata"):
        make_config_key_type(UnclassifiedConfig)


def test_config_key_is_the_key_fields_in_config_order_then_world_size():
    assert [f.name for f in fields(ConfigKey)] == [
        "scenario", "model", "dtype", "batch_size", "num_images_per_prompt",
        "num_inference_steps", "height", "width", "optimizations", "world_size",
    ]


def test_unmatched_arguments_are_the_call_arguments_outside_the_key():
    assert set(UNMATCHED_ARGUMENTS) == {"guidance_scale", "strength", "seed", "generator_device",
                                        "task"}


def key(record: dict, key_type=None):
    result = ConfigResult.from_record(record)
    return config_key(result) if key_type is None else config_key(result, key_type)


def test_config_key_text_is_unchanged():
    record = {**RECORD, "world_size": 2}
    assert str(key(record)) == "t2i-prompts bs2 n1 4steps 64x64 float32 attn-math np2 tiny"


def test_config_key_is_frozen_ordered_and_hashable():
    small, large = key(RECORD), key({**RECORD, "batch_size": 4})
    assert sorted([large, small]) == [small, large] and len({small, key(RECORD)}) == 1
    with pytest.raises(AttributeError):
        small.batch_size = 3


def test_device_is_not_part_of_the_key():
    """The same workload on two machines must match."""
    assert key(RECORD) == key({**RECORD, "device": "cuda"})


def test_a_new_key_field_on_config_changes_the_key_without_editing_the_schema():
    wider = make_config_key_type(WiderConfig)
    euler = key({**RECORD, "sampler": "euler"}, wider)
    ddim = key({**RECORD, "sampler": "ddim"}, wider)
    assert euler != ddim and str(euler) != str(ddim) and str(ddim).endswith(" sampler=ddim")


def test_a_new_unmatched_field_on_config_is_reported_without_editing_the_schema():
    names = field_names(WiderConfig, UNMATCHED)
    assert unmatched_arguments(ConfigResult.from_record({**RECORD, "eta": 0.5}), names)["eta"] == 0.5


def test_console_and_report_name_the_same_memory_view_for_a_record_with_several():
    """torch_allocated and process_rss: the console's old private order said process_rss."""
    record = ConfigResult.from_record(
        {**RECORD, "peak_memory_bytes": {"torch_allocated": 2 * GIB, "process_rss": 3 * GIB}})
    caption = results_table([record]).caption
    console_view = re.search(r"peak memory view: (\w+)", caption).group(1)
    text = to_markdown("t", recommendation_blocks([record], Budget(max_memory_gib=1.0)))
    report_view = re.search(r"peak memory \((\w+)\)", text).group(1)
    assert console_view == report_view == "torch_allocated"


def test_gib_is_defined_only_in_bench_units():
    bench = Path(__file__).resolve().parents[2] / "bench"
    defining = sorted(
        path.relative_to(bench).as_posix()
        for path in bench.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "GIB" for t in node.targets)
    )
    assert defining == ["units.py"]
