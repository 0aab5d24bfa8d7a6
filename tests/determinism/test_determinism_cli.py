"""``sdxl-bench determinism`` end to end on the tiny preset, in real subprocesses."""

from __future__ import annotations

import json
import shutil

import pytest

from bench.determinism.manifest import load_png, read_manifest
from bench.determinism.pixels import DEFAULT_TOLERANCE
from bench.measure.images import pixels_hash
from bench.store.run_file import read_run
from tests.support.cli import REPO, run_forked

SMALL = ("--steps", "2", "--height", "32", "--width", "32", "--threads", "1", "--quiet")
PLANTED = REPO / "tests" / "planted"


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """One determinism run over four layouts, images saved."""
    folder = tmp_path_factory.mktemp("determinism")
    out, images = folder / "det.jsonl", folder / "images"
    proc = run_forked("determinism", "--batch-sizes", "1,2", "--images-per-prompt", "1,2", *SMALL,
                          "--out", str(out), "--save-images", str(images))
    return proc, read_run(out), images


@pytest.fixture(scope="module")
def noisy_model(tmp_path_factory, tiny_cache):
    """The tiny pipeline folder, its scheduler replaced by the planted noisy one."""
    from bench.assemble.pipelines import tiny_folder

    folder = tmp_path_factory.mktemp("models") / "tiny-noisy"
    shutil.copytree(tiny_folder(), folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["scheduler"] = ["planted_noise", "NoisyEulerScheduler"]
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def determinism_records(run, check: str) -> list[dict]:
    return [r for r in run.records if r.get("type") == "determinism" and r["check"] == check]


def test_determinism_prints_a_verdict_for_every_check(checked):
    proc, _, _ = checked
    assert proc.code == 0, proc.err
    for text in ("repeat", "batch inv.", "shared gen.", "NaN/black", "generator-count: PASS",
                 "generator-device: N/A", "determinism: all checks passed"):
        assert text in proc.out, text


def test_determinism_records_every_check_with_its_difference_and_tolerance(checked):
    _, run, _ = checked
    assert run.header["mode"] == "determinism" and run.footer["status"] == "complete"
    invariance = {r["config_id"]: r for r in determinism_records(run, "batch-invariance")}
    assert invariance["t2i-prompts-x-images/bs2-n2"]["verdict"] == "pass"
    assert 0 < invariance["t2i-prompts-x-images/bs2-n2"]["max_abs_diff"] <= DEFAULT_TOLERANCE
    assert invariance["t2i-prompts-x-images/bs2-n2"]["tolerance"] == DEFAULT_TOLERANCE
    assert invariance["t2i-prompts-x-images/bs1-n1"]["verdict"] == "n/a"
    shared = {r["config_id"]: r for r in determinism_records(run, "shared-generator")}
    assert shared["t2i-prompts-x-images/bs2-n2"]["max_abs_diff"] > 0.05


def test_determinism_hashes_every_image_of_every_config(checked):
    _, run, _ = checked
    repeats = determinism_records(run, "repeatability")
    assert [len(r["image_sha256"]) for r in repeats] == [1, 2, 2, 4]
    assert all(r["image_sha256"] == r["repeat_sha256"] for r in repeats)


def test_determinism_saves_every_checked_image_with_its_seed_in_a_manifest(checked):
    _, _, images = checked
    manifest = read_manifest(images)
    entries = manifest.data["images"]
    assert len(entries) == 1 + 2 + 2 + 4
    entry = next(e for e in entries if e["config_id"].endswith("bs2-n2") and e["index"] == 3)
    assert (entry["seed"], entry["prompt_index"], entry["copy_index"]) == (3, 1, 1)
    assert entry["file"] == "t2i-prompts-x-images_bs2-n2_i3_p1_c1_s3.png"
    assert pixels_hash(load_png(manifest.image_path(entry))) == entry["sha256"]


def test_checks_run_without_deterministic_algorithms_unless_strict(checked):
    _, run, _ = checked
    assert run.header["determinism"]["deterministic_algorithms"] is False


def test_strict_mode_runs_the_checks_in_a_fresh_deterministic_process(tmp_path):
    out = tmp_path / "strict.jsonl"
    proc = run_forked("determinism", "--strict", "--batch-sizes", "1", "--images-per-prompt", "2",
                          *SMALL, "--out", str(out))
    assert proc.code == 0, proc.err
    assert "fresh process" in proc.err
    run = read_run(out)
    settings = run.header["determinism"]
    assert settings == {"strict": True, "deterministic_algorithms": True, "cudnn_deterministic": True,
                        "cudnn_benchmark": False, "cublas_workspace_config": ":4096:8"}
    assert "--strict" not in run.header["command"]
    assert all(r["strict"] for r in run.records if r["type"] == "determinism")


def test_planted_unseeded_noise_is_reported_as_not_repeatable(tmp_path, noisy_model):
    out = tmp_path / "noisy.jsonl"
    proc = run_forked("determinism", "--scenario", str(PLANTED / "noisy_scenario.py"),
                          "--model", str(noisy_model), "--batch-sizes", "2", "--images-per-prompt", "1",
                          *SMALL, "--out", str(out))
    assert proc.code == 1, proc.err
    assert "NOT repeatable" in proc.out
    [repeat] = determinism_records(read_run(out), "repeatability")
    assert repeat["verdict"] == "fail" and repeat["max_abs_diff"] > 0
    assert repeat["image_sha256"] != repeat["repeat_sha256"]


def test_determinism_refuses_a_single_run_file(checked, tmp_path):
    _, run, _ = checked
    proc = run_forked("determinism", str(run.path))
    assert proc.code == 2
    assert proc.err.strip().startswith("sdxl-bench: error: determinism takes two run files")


def test_determinism_refuses_a_tolerance_outside_full_scale():
    proc = run_forked("determinism", "--tolerance", "2")
    assert proc.code == 2
    assert proc.err.strip() == "sdxl-bench: error: --tolerance 2.0: must be between 0 and 1 (full scale)"


@pytest.mark.gpu
def test_strict_checks_on_cuda_are_repeatable_and_record_the_generator_device(tmp_path):
    out = tmp_path / "cuda.jsonl"
    proc = run_forked("determinism", "--strict", "--device", "cuda", "--batch-sizes", "2",
                          "--images-per-prompt", "1", *SMALL, "--out", str(out))
    run = read_run(out)
    [repeat] = determinism_records(run, "repeatability")
    assert repeat["verdict"] == "pass", proc.out
    [device] = determinism_records(run, "generator-device")
    assert device["verdict"] == "info" and device["max_abs_diff"] is not None
    assert run.header["determinism"]["deterministic_algorithms"] is True
