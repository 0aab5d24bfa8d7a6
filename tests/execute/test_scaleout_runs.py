"""Real data-parallel runs: ranks started by torch.distributed.run, gloo, the tiny preset.

Three launches shared by the tests (module fixtures): a ``--scaling`` run at 1 and 2
ranks saving its images, a plain single-process run, and a 2-rank run started with
torchrun directly in which rank 1 fails for real (raises, then dies).
"""

from __future__ import annotations

import os
import socket
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.store.run_file import read_run
from tests.support.cli import BENCH, REPO, command, run_subprocess

TINY = ["--device", "cpu", "--threads", "1", "--steps", "2", "--height", "32", "--width", "32",
        "--warmup", "0", "--repeats", "2", "--quiet"]
SWEEP = ["--batch-sizes", "1,3", "--images-per-prompt", "2"]
# The same seeds through a different batch shape may move a pixel by a rounding step.
PIXEL_TOLERANCE = 2


def run_cli(args: list[str], prefix: list[str] | None = None, env: dict | None = None):
    """``run_subprocess`` with ``env`` added to this process's environment (which holds the
    conftest's SDXL_BENCH_CACHE)."""
    return run_subprocess(*args, prefix=prefix, env={**os.environ, **(env or {})})


def by_id(run) -> dict:
    return {r["config_id"]: r for r in run.configs}


def pixels(record: dict) -> np.ndarray:
    """The saved images of a record, in image order (``--save-images``)."""
    folder = Path(record["images_dir"])
    return np.stack([np.asarray(Image.open(folder / name)) for name in record["image_files"]])


@pytest.fixture(scope="module")
def scaling(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scaling")
    out = folder / "run.jsonl"
    done = run_cli(["run", *TINY, *SWEEP, "--nproc", "2", "--scaling", "--save-images",
                    str(folder / "images"), "--out", str(out)])
    assert done.code == 0, done.err[-3000:]
    return read_run(out), out, done.out


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain") / "run.jsonl"
    done = run_cli(["run", *TINY, "--batch-sizes", "3", "--images-per-prompt", "2", "--out", str(out),
                    "--save-images", str(out.parent / "images")])
    assert done.code == 0, done.err[-3000:]
    return read_run(out)


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    out = tmp_path_factory.mktemp("failing") / "run.jsonl"
    torchrun = ["-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc-per-node=2"]
    done = run_cli(["run", *TINY, "--batch-sizes", "2,4,6", "--images-per-prompt", "1",
                    "--out", str(out)], prefix=[*torchrun, *BENCH],
                   env={"SDXL_BENCH_FAULT": "1:1:raise,1:2:exit"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn line or a missing footer fails the test
        return done, read_run(out)


def test_aggregate_images_per_s_is_all_images_over_the_slowest_ranks_median(scaling):
    record = by_id(scaling[0])["t2i-prompts-x-images/bs3-n2/np2"]
    per_rank = [r["latency_s"]["values"] for r in record["ranks"]]
    assert (record["world_size"], record["images_per_call"]) == (2, 6)
    assert record["latency_s"]["values"] == [max(calls) for calls in zip(*per_rank, strict=True)]
    assert record["images_per_s"] == pytest.approx(6 / record["latency_s"]["median"])


def test_uneven_split_gives_each_rank_a_contiguous_slice_of_global_images(scaling):
    record = by_id(scaling[0])["t2i-prompts-x-images/bs3-n2/np2"]
    assert [(r["image_indices"], r["prompt_indices"]) for r in record["ranks"]] == [
        ([0, 4], [0, 0, 1, 1]), ([4, 6], [2, 2])]


def test_rank_with_no_prompt_idles_and_the_record_says_so(scaling):
    record = by_id(scaling[0])["t2i-prompts-x-images/bs1-n2/np2"]
    assert (record["status"], record["idle_ranks"], len(record["image_sha256"])) == ("ok", [1], 2)


def test_two_rank_images_match_one_rank_images_image_by_image(scaling):
    records = by_id(scaling[0])
    one = pixels(records["t2i-prompts-x-images/bs3-n2/np1"]).astype(int)
    two = pixels(records["t2i-prompts-x-images/bs3-n2/np2"]).astype(int)
    assert one.shape == two.shape == (6, 32, 32, 3)
    assert np.abs(one - two).max() <= PIXEL_TOLERANCE


def test_saved_images_are_the_hashed_images_in_global_order(scaling):
    from bench.measure.images import content_hash

    record = by_id(scaling[0])["t2i-prompts-x-images/bs3-n2/np2"]
    saved = pixels(record).astype("float32") / 255.0
    assert [content_hash(image) for image in saved] == record["image_sha256"]


def test_one_rank_under_torchrun_equals_the_single_process_run_bit_for_bit(scaling, plain):
    ranked = by_id(scaling[0])["t2i-prompts-x-images/bs3-n2/np1"]
    assert ranked["image_sha256"] == plain.configs[0]["image_sha256"]


def test_two_rank_images_match_the_single_process_run_image_by_image(scaling, plain):
    single = pixels(plain.configs[0]).astype(int)
    two = pixels(by_id(scaling[0])["t2i-prompts-x-images/bs3-n2/np2"]).astype(int)
    assert single.shape == two.shape == (6, 32, 32, 3)
    assert np.abs(single - two).max() <= PIXEL_TOLERANCE


def test_ranks_save_images_under_the_single_process_runs_names(scaling, plain):
    two = by_id(scaling[0])["t2i-prompts-x-images/bs3-n2/np2"]
    assert two["image_files"] == plain.configs[0]["image_files"]
    assert Path(two["images_dir"]).name == "np2" and (Path(two["images_dir"]) / "manifest.json").is_file()


def test_scaling_images_of_each_world_size_are_kept_apart(scaling):
    records = by_id(scaling[0])
    one = Path(records["t2i-prompts-x-images/bs3-n2/np1"]["images_dir"])
    two = Path(records["t2i-prompts-x-images/bs3-n2/np2"]["images_dir"])
    assert one != two and (one / "manifest.json").is_file() and (two / "manifest.json").is_file()


def test_scaling_efficiency_is_recorded_from_the_measured_throughputs(scaling):
    run, out, _ = scaling
    records = by_id(run)
    one = records["t2i-prompts-x-images/bs3-n2/np1"]["images_per_s"]
    two = records["t2i-prompts-x-images/bs3-n2/np2"]["images_per_s"]
    (scaling_record,) = [r for r in run.records if r["type"] == "scaling"
                         and r["config_id"] == "t2i-prompts-x-images/bs3-n2"]
    assert scaling_record["points"][1]["efficiency"] == pytest.approx(two / (2 * one))
    assert run.footer["status"] == "complete" and out.with_suffix(".scaling.png").is_file()


def test_data_parallel_record_carries_every_field_of_the_single_process_record(scaling, plain):
    single = by_id(plain)["t2i-prompts-x-images/bs3-n2"]
    ranked = by_id(scaling[0])["t2i-prompts-x-images/bs3-n2/np2"]
    assert single["status"] == ranked["status"] == "ok"
    assert set(single) - set(ranked) == set()


def test_data_parallel_record_adds_its_aggregate_fields(scaling, plain):
    single = by_id(plain)["t2i-prompts-x-images/bs3-n2"]
    ranked = by_id(scaling[0])["t2i-prompts-x-images/bs3-n2/np2"]
    assert set(ranked) - set(single) == {"world_size", "backend", "ranks", "idle_ranks",
                                         "stages_rank", "base_config_id"}


def test_header_lists_every_rank_with_its_device(failing):
    ranks = failing[1].header["distributed"]["ranks"]
    assert [(r["rank"], r["device"]) for r in ranks] == [(0, "cpu"), (1, "cpu")]


def test_rank_zeros_table_to_a_pipe_is_printed_whole_not_cut_to_80_columns(scaling):
    printed = scaling[2]
    assert "images/s" in printed and "n/prompt" in printed
    assert "…" not in printed  # rich's mark of a figure or header cut short


def test_header_records_the_users_command_with_its_launcher_flags(scaling):
    header = scaling[0].header
    assert header["command"][:2] == ["sdxl-bench", "run"] and "--scaling" in header["command"]
    assert header["distributed"]["scaling"] == [1, 2]


def test_rank_exception_is_recorded_with_the_rank_that_raised(failing):
    _, run = failing
    record = by_id(run)["t2i-prompts-x-images/bs4-n1"]
    assert record["status"] == "error"
    assert record["error"].startswith("rank 1: RuntimeError: injected failure")


def test_dead_rank_ends_the_run_with_finished_records_and_a_footer(failing):
    _, run = failing
    statuses = [r["status"] for r in run.configs]
    assert statuses[0] == "ok" and statuses[2] in ("interrupted", "crashed")
    assert run.footer["status"] == "interrupted"


def test_dead_rank_fails_torchrun_which_names_it(failing):
    done, _ = failing
    assert done.code != 0
    assert "rank      : 1" in done.err and "exitcode  : 17" in done.err


def test_two_nodes_meet_at_the_endpoint_and_node_zero_writes_the_file(tmp_path):
    with socket.socket() as probe:  # a free port for node 0's rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    node = ["run", *TINY, "--batch-sizes", "3", "--images-per-prompt", "1", "--repeats", "1",
            "--nproc", "1", "--nnodes", "2", "--rdzv-endpoint", f"127.0.0.1:{port}"]
    other = subprocess.Popen(command(*node, "--node-rank", "1", "--out", str(tmp_path / "n1")),
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = run_cli([*node, "--node-rank", "0", "--out", str(tmp_path / "n0")])
    assert (done.code, other.wait(timeout=120)) == (0, 0), done.err[-3000:]
    run = read_run(tmp_path / "n0")
    assert run.header["distributed"]["nnodes"] == 2 and not (tmp_path / "n1").exists()
    assert [(r["node_rank"], r["image_indices"]) for r in run.configs[0]["ranks"]] == [
        (0, [0, 2]), (1, [2, 3])]


@pytest.mark.gpu
def test_ranks_measure_on_their_own_gpus(tmp_path):
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip("needs two GPUs: one rank on one GPU cannot show a rank timing another GPU")
    nproc = 2
    out = tmp_path / "run.jsonl"
    done = run_cli(["run", "--device", "cuda", "--steps", "2", "--height", "64", "--width", "64",
                    "--batch-sizes", "3", "--images-per-prompt", "1", "--warmup", "1",
                    "--repeats", "2", "--quiet", "--nproc", str(nproc), "--out", str(out)])
    assert done.code == 0, done.err[-3000:]
    (record,) = read_run(out).configs
    assert [r["device"] for r in record["ranks"]] == [f"cuda:{i}" for i in range(nproc)]
    assert record["status"] == "ok" and record["peak_memory_bytes"]["torch_allocated"] > 0
    for rank in record["ranks"]:  # each rank's stage events recorded on its own GPU's stream
        denoising, latency = rank["stages_s"]["denoising"]["median"], rank["latency_s"]["median"]
        assert 0 < denoising < latency, rank
