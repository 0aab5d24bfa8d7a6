"""A run file is never overwritten or shared: existing files are refused without --force,
a second writer is refused with the holder's pid, and --resume FILE alone continues a run
from the flags recorded in its header."""

from __future__ import annotations

import json
import os

import pytest

from bench.store.run_file import RunFileLock, read_run
from tests.support.cli import run_forked

QUICK = ["--device", "cpu", "--threads", "1", "--steps", "1", "--height", "32", "--width", "32",
         "--warmup", "0", "--repeats", "1", "--quiet"]


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_existing_out_is_refused_and_left_as_it_was(tmp_path):
    out = tmp_path / "baseline.jsonl"
    out.write_text("my baseline\n")
    result = run_forked("run", *QUICK, "--out", str(out))
    assert result.code == 2
    assert "exists; add --force to replace it" in result.err
    assert out.read_text() == "my baseline\n"


def test_force_replaces_an_existing_out(tmp_path):
    out = tmp_path / "old.jsonl"
    out.write_text("old\n")
    result = run_forked("run", *QUICK, "--batch-sizes", "1", "--images-per-prompt", "1",
                            "--out", str(out), "--force")
    assert result.code == 0, result.err
    assert read_run(out).footer["status"] == "complete"


@pytest.mark.parametrize("flag", ["--out", "--save-images"])
def test_an_empty_file_or_folder_name_is_refused(tmp_path, flag):
    result = run_forked("run", *QUICK, flag, "")
    assert result.code == 2
    assert f"{flag} ''" in result.err


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path):
    out = tmp_path / "shared.jsonl"
    with RunFileLock(out):
        result = run_forked("run", *QUICK, "--batch-sizes", "1", "--images-per-prompt", "1",
                                "--out", str(out))
    assert result.code == 2
    assert f"being written by another sdxl-bench (pid {os.getpid()})" in result.err
    assert not out.exists()


def test_a_stale_lock_of_a_dead_run_does_not_block_the_next(tmp_path):
    out = tmp_path / "run.jsonl"
    (tmp_path / "run.jsonl.lock").write_text("999999")  # a killed run leaves this behind
    result = run_forked("run", *QUICK, "--batch-sizes", "1", "--images-per-prompt", "1",
                            "--out", str(out))
    assert result.code == 0, result.err
    assert not (tmp_path / "run.jsonl.lock").exists()


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory):
    """A finished two-config run cut back to its header and first record (as a Ctrl-C
    after the first config leaves it)."""
    out = tmp_path_factory.mktemp("partial") / "run.jsonl"
    done = run_forked("run", *QUICK, "--batch-sizes", "1,2", "--images-per-prompt", "1",
                          "--out", str(out))
    assert done.code == 0, done.err
    header, first = out.read_text().splitlines()[:2]
    return header + "\n" + first + "\n"


def test_resume_alone_finishes_the_run_from_its_recorded_flags(tmp_path, partial_run):
    path = tmp_path / "run.jsonl"
    path.write_text(partial_run)
    result = run_forked("run", "--resume", str(path), "--quiet")
    assert result.code == 0, result.err
    run = read_run(path)
    assert [r["batch_size"] for r in run.configs] == [1, 2]
    assert run.configs[1]["num_inference_steps"] == 1  # the recorded --steps, not the default
    assert run.footer["status"] == "complete"


def test_resume_accepts_flags_that_agree_with_the_recording(tmp_path, partial_run):
    path = tmp_path / "run.jsonl"
    path.write_text(partial_run)
    result = run_forked("run", "--resume", str(path), "--steps", "1", "--quiet")
    assert result.code == 0, result.err


def test_resume_refuses_a_flag_that_differs_from_the_recording(tmp_path, partial_run):
    path = tmp_path / "run.jsonl"
    path.write_text(partial_run)
    result = run_forked("run", "--resume", str(path), "--steps", "3")
    assert result.code == 2
    assert "--steps '3' differs from the run's '1'" in result.err
    assert path.read_text() == partial_run


def test_resume_refuses_a_run_measured_with_other_threads(tmp_path, partial_run):
    header, first = partial_run.splitlines()
    data = json.loads(header)
    data["env"]["torch_threads"] = 7
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(data) + "\n" + first + "\n")
    result = run_forked("run", "--resume", str(path))
    assert result.code == 2
    assert "torch_threads was 7, now 1" in result.err


@pytest.mark.parametrize("kind, extra, message", [
    ("determinism", {"mode": "determinism"}, "is a determinism run"),
    ("data-parallel", {"distributed": {"world_size": 2}}, "is a data-parallel run (2 ranks)"),
])
def test_resume_refuses_files_of_another_kind(tmp_path, partial_run, kind, extra, message):
    header, first = partial_run.splitlines()
    path = tmp_path / f"{kind}.jsonl"
    path.write_text(json.dumps({**json.loads(header), **extra}) + "\n" + first + "\n")
    result = run_forked("run", "--resume", str(path))
    assert result.code == 2
    assert message in result.err


def test_resume_and_force_together_are_refused(tmp_path, partial_run):
    path = tmp_path / "run.jsonl"
    path.write_text(partial_run)
    result = run_forked("run", "--resume", str(path), "--force")
    assert result.code == 2
    assert "drop one" in result.err
