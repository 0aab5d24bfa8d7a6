"""Scale-out logic without processes: shares, world info, aggregation, scaling, flags."""

from __future__ import annotations

import pytest

from bench.analyse.scaling import efficiency, scaling_results
from bench.execute.distributed.launch import rank_argv, torchrun_command
from bench.execute.distributed.ranks import injected_fault
from bench.execute.distributed.shards import (
    RankShare,
    aggregate_result,
    call_latencies,
    shard_inputs,
)
from bench.execute.distributed.world import share, world_from_env
from bench.measure.inputs import layout_call
from bench.plan.sweep import Config
from bench.result import ConfigResult, Status
from bench.store.run_file import drop_torn_tail
from tests.support.cli import run_subprocess


def make_config(batch_size: int = 3, n: int = 1, repeats: int = 2) -> Config:
    return Config(scenario="t2i", task="text2img", model="tiny", device="cpu", dtype="float32",
                  batch_size=batch_size, num_images_per_prompt=n, num_inference_steps=2,
                  height=32, width=32, guidance_scale=5.0, strength=None, seed=10,
                  generator_device="cpu", warmup=0, repeats=repeats)


def rank_result(rank: int, start: int, stop: int, latencies: list[float], **extra) -> RankShare:
    record = {"type": "config", "images_per_call": stop - start, "status": "ok", "error": None,
              "latency_s": {"median": sorted(latencies)[len(latencies) // 2], "values": latencies},
              "image_sha256": [f"h{i}" for i in range(start, stop)],
              "prompt_indices": list(range(start, stop)),
              "peak_memory_bytes": {"process_rss": 100 * (rank + 1), "torch_allocated": None},
              "energy_j_per_image": None, "avg_power_w": None, **extra}
    return RankShare({"rank": rank}, ConfigResult.from_record(record), (start, stop))


def other_share(rank: int, status: str, error: str | None, start: int, stop: int) -> RankShare:
    result = ConfigResult.from_record({"type": "config", "status": status, "error": error,
                                       "latency_s": None, "images_per_call": stop - start})
    return RankShare({"rank": rank}, result, (start, stop))


@pytest.mark.parametrize("total,world_size", [(3, 2), (7, 3), (2, 2), (8, 4), (5, 8)])
def test_shares_cover_every_item_once_in_order_differing_by_at_most_one(total, world_size):
    shares = [share(total, world_size, rank) for rank in range(world_size)]
    assert [i for s in shares for i in s] == list(range(total))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert len(shares[0]) == max(map(len, shares))


def test_uneven_share_gives_the_extra_prompt_to_the_first_rank():
    assert (share(3, 2, 0), share(3, 2, 1)) == (range(0, 2), range(2, 3))


def test_shard_of_prompt_entries_carries_its_images_prompt_indices():
    inputs = layout_call(("a", "b", "c"), (), 3, 2)
    part = shard_inputs(inputs, range(2, 3))
    assert (part.prompts, part.num_images_per_prompt, part.prompt_indices) == (("c",), 2, (2, 2))


def test_shard_of_expanded_img2img_pairs_splits_images_not_prompts():
    inputs = layout_call(("a", "b"), ("i0", "i1"), 2, 2)  # expanded: 4 entries, 1 image each
    part = shard_inputs(inputs, range(1, 3))
    assert (part.prompts, part.images, part.prompt_indices) == (("a", "b"), ("i0", "i1"), (0, 1))


def test_world_is_none_outside_torchrun():
    assert world_from_env({"PATH": "/bin"}) is None


def test_world_reads_torchrun_variables():
    world = world_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1",
                            "LOCAL_WORLD_SIZE": "2"})
    assert (world.rank, world.local_rank, world.world_size, world.local_world_size) == (3, 1, 4, 2)


def test_aggregate_without_energy_keeps_the_ranks_reason():
    reason = "cpu: no GPU energy counter"
    results = [rank_result(r, r, r + 1, [0.2], energy_unavailable=reason) for r in (0, 1)]
    record = aggregate_result(make_config(batch_size=2, repeats=1), results, [0.2],
                              {"world_size": 2})
    assert (record.energy_j_per_image, record.energy_unavailable) == (None, reason)


def test_aggregate_throughput_is_all_images_over_the_slowest_ranks_latency():
    results = [rank_result(0, 0, 2, [0.2, 0.4, 0.3]), rank_result(1, 2, 3, [0.5, 0.1, 0.1])]
    pairs = zip(call_latencies(results[0].result, 3), call_latencies(results[1].result, 3),
                strict=True)
    maxima = [max(a, b) for a, b in pairs]
    record = aggregate_result(make_config(repeats=3), results, maxima, {"world_size": 2})
    assert record.latency_values == (0.5, 0.4, 0.3)
    assert record.images_per_s == pytest.approx(3 / 0.4)


def test_aggregate_lists_images_in_global_order_and_sums_memory():
    results = [rank_result(0, 0, 2, [0.2, 0.2]), rank_result(1, 2, 3, [0.1, 0.1])]
    record = aggregate_result(make_config(), results, [0.2, 0.2], {"world_size": 2})
    assert record.image_sha256 == ("h0", "h1", "h2")
    assert record.peak_memory == {"process_rss": 300, "torch_allocated": None}


def test_aggregate_sums_each_calls_memory_over_ranks():
    results = [rank_result(0, 0, 2, [0.2, 0.2], peak_memory_per_call_bytes={"process_rss": [90, 100]}),
               rank_result(1, 2, 3, [0.1, 0.1], peak_memory_per_call_bytes={"process_rss": [200, 150]})]
    record = aggregate_result(make_config(), results, [0.2, 0.2], {"world_size": 2})
    assert record.peak_memory_per_call == {"process_rss": (290, 250)}


def test_aggregate_reports_the_failing_rank_and_no_throughput():
    failed = other_share(1, "error", "RuntimeError: boom", 2, 3)
    record = aggregate_result(make_config(), [rank_result(0, 0, 2, [0.2, 0.2]), failed],
                              [0.2, 0.2], {"world_size": 2})
    assert (record.status, record.error, record.images_per_s) == (
        Status.ERROR, "rank 1: RuntimeError: boom", None)


def test_idle_rank_is_named_and_adds_no_images():
    idle = other_share(1, "idle", None, 1, 1)
    record = aggregate_result(make_config(batch_size=1), [rank_result(0, 0, 1, [0.2, 0.2]), idle],
                              [0.2, 0.2], {"world_size": 2})
    assert (record.detail("idle_ranks"), record.images_per_s) == ((1,), pytest.approx(1 / 0.2))


def test_call_latencies_pads_a_rank_that_timed_nothing_with_zeros():
    assert call_latencies(ConfigResult.from_record({"latency_s": None}), 3) == [0.0, 0.0, 0.0]


def test_efficiency_relates_n_ranks_to_n_copies_of_one():
    assert efficiency(15.0, 2, 10.0) == pytest.approx(0.75)


def test_scaling_records_compute_speedup_and_efficiency_per_config():
    configs = [ConfigResult.from_record(r) for r in (
        {"config_id": "s/bs4-n1/np1", "base_config_id": "s/bs4-n1", "world_size": 1,
         "status": "ok", "images_per_s": 10.0},
        {"config_id": "s/bs4-n1/np2", "base_config_id": "s/bs4-n1", "world_size": 2,
         "status": "ok", "images_per_s": 18.0})]
    (record,) = scaling_results(configs)
    assert [(p.world_size, p.speedup, p.efficiency) for p in record.points] == [
        (1, 1.0, 1.0), (2, 1.8, pytest.approx(0.9))]


def test_scaling_has_no_efficiency_without_a_one_rank_throughput():
    configs = [ConfigResult.from_record(r) for r in (
        {"config_id": "a/np1", "base_config_id": "a", "world_size": 1, "status": "oom",
         "images_per_s": None},
        {"config_id": "a/np2", "base_config_id": "a", "world_size": 2, "status": "ok",
         "images_per_s": 5.0})]
    (record,) = scaling_results(configs)
    assert record.points[1].efficiency is None


def test_torn_tail_is_cut_before_appending(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text('{"type": "header"}\n{"type": "con')
    drop_torn_tail(path)
    assert path.read_text() == '{"type": "header"}\n'


RUN_OPTIONS = ["--nproc", "--nnodes", "--node-rank", "--rdzv-endpoint", "--scaling", "--steps",
               "--out", "--device", "--dist-timeout"]


def test_rank_argv_drops_launcher_flags_in_every_spelling():
    argv = ["run", "--nproc", "2", "--steps", "2", "--nnodes=2", "--node-rank", "1",
            "--rdzv-endpoint", "h:29500", "--scaling", "--device", "cpu", "--npr", "4"]
    assert rank_argv(argv, RUN_OPTIONS) == ["run", "--steps", "2", "--device", "cpu"]


def test_rank_argv_takes_the_optional_scaling_list():
    assert rank_argv(["run", "--scaling", "1,2", "--steps", "2"], RUN_OPTIONS) == ["run", "--steps", "2"]


def test_multi_node_command_uses_static_rendezvous_at_the_endpoint():
    command = torchrun_command(["run"], 4, nnodes=2, node_rank=1, rdzv_endpoint="node0:29500")
    assert command[-6:] == ["--nnodes=2", "--node-rank=1", "--rdzv-endpoint=node0:29500", "-m",
                            "bench", "run"]


def test_fault_hook_names_rank_and_config():
    spec = "1:0:raise,0:2:exit"
    assert [injected_fault(1, 0, spec), injected_fault(0, 2, spec), injected_fault(0, 0, spec)] == [
        "raise", "exit", None]


@pytest.mark.parametrize("flags,message", [
    (["--scaling"], "--scaling needs --nproc N"),
    (["--nproc", "0"], "--nproc 0: must be a positive integer"),
    (["--nproc", "2", "--nnodes", "2"], "--rdzv-endpoint None: multi-node needs HOST:PORT"),
    (["--nproc", "2", "--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "h:1"],
     "--node-rank 2: must be in 0 … 1"),
    (["--nproc", "2", "--scaling", "1,3"], "sizes must not exceed --nproc 2"),
    (["--nproc", "2", "--device", "cuda:1"], "would put every rank on one GPU"),
    (["--nproc", "2", "--isolate"], "--isolate is not available with --nproc"),
])
def test_bad_scale_out_flags_are_one_line_usage_errors(flags, message):
    done = run_subprocess("run", "--device", "cpu", *flags, timeout=60)
    assert (done.code, done.err.count("\n")) == (2, 1)
    assert message in done.err
