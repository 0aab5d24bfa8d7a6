"""``run --save-images``, ``reproduce`` and ``determinism A B`` on real tiny runs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from bench.determinism.manifest import load_png, read_manifest
from bench.measure.images import pixels_hash
from bench.store.run_file import read_run
from tests.conftest import TINY_RUN
from tests.support.cli import run_forked

CHOSEN = "t2i-prompts-x-images_bs2-n2_i3_p1_c1_s3"


@pytest.fixture(scope="module")
def saved_run(tiny_run):
    """A batch run (2 prompts x 2 images) with its images saved: the session's shared run."""
    return tiny_run.path, tiny_run.images


@pytest.fixture(scope="module")
def second_run(tmp_path_factory):
    """The same sweep again, in another process, without saved images."""
    out = tmp_path_factory.mktemp("second") / "run.jsonl"
    proc = run_forked(*TINY_RUN, "--out", str(out))
    assert proc.code == 0, proc.err
    return out


def other_machine(saved_run, tmp_path, levels: int, keep_images: bool = True):
    """A copy of the saved run whose image 0 differs by ``levels`` 8-bit levels at one pixel
    (what another machine could produce), its hash updated to match."""
    out, images = saved_run
    copy_images = tmp_path / "images"
    shutil.copytree(images, copy_images)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    config = next(r for r in records if r["type"] == "config")
    png = copy_images / config["image_files"][0]
    pixels = load_png(png).copy()
    pixels[0, 0, 0] = (int(pixels[0, 0, 0]) + levels) % 256
    Image.fromarray(pixels).save(png)
    config["image_sha256"][0] = pixels_hash(pixels)
    if keep_images:
        config["images_dir"] = str(copy_images)
    else:
        del config["images_dir"], config["image_files"]
    copy = tmp_path / "run.jsonl"
    copy.write_text("".join(json.dumps(r) + "\n" for r in records))
    return copy


def test_run_saves_the_last_timed_call_images_with_a_manifest(saved_run):
    out, images = saved_run
    run = read_run(out)
    [config] = run.configs
    assert run.header["images_dir"] == str(images) == config["images_dir"]
    manifest = read_manifest(images / "manifest.json")
    assert [e["id"] + ".png" for e in manifest.data["images"]] == config["image_files"]
    assert [e["sha256"] for e in manifest.data["images"]] == config["image_sha256"]


def test_reproduce_exact_rebuilds_the_batch_and_matches_the_hash(saved_run, tmp_path):
    _, images = saved_run
    out = tmp_path / "exact.png"
    proc = run_forked("reproduce", str(images), CHOSEN, "--exact", "--out", str(out), "--threads", "1")
    assert proc.code == 0, proc.err
    assert "hash matches" in proc.out
    entry = read_manifest(images).entry(CHOSEN)
    assert pixels_hash(load_png(out)) == entry["sha256"]


def test_reproduce_alone_is_within_the_batch_invariance_tolerance(saved_run, tmp_path):
    _, images = saved_run
    out = tmp_path / "alone.png"
    proc = run_forked("reproduce", str(images), CHOSEN, "--out", str(out), "--threads", "1")
    assert proc.code == 0, proc.err
    assert "within tolerance" in proc.out
    original = load_png(images / f"{CHOSEN}.png").astype(int)
    assert np.abs(load_png(out).astype(int) - original).max() <= 1


def test_reproduce_reports_a_saved_image_that_no_longer_matches(saved_run, tmp_path):
    _, images = saved_run
    copy = tmp_path / "images"
    shutil.copytree(images, copy)
    Image.fromarray(255 - load_png(copy / f"{CHOSEN}.png")).save(copy / f"{CHOSEN}.png")
    proc = run_forked("reproduce", str(copy), CHOSEN, "--threads", "1")
    assert proc.code == 1
    assert "BEYOND TOLERANCE" in proc.out


def test_reproduce_with_a_new_prompt_makes_a_refined_image_from_the_same_seed(saved_run, tmp_path):
    _, images = saved_run
    out = tmp_path / "refined.png"
    proc = run_forked("reproduce", str(images), CHOSEN, "--prompt", "a cat on a roof at night",
                          "--out", str(out), "--threads", "1")
    assert proc.code == 0, proc.err
    assert "refined from seed 3" in proc.out
    assert pixels_hash(load_png(out)) != read_manifest(images).entry(CHOSEN)["sha256"]


def test_reproduce_refuses_an_unknown_image_id(saved_run):
    _, images = saved_run
    proc = run_forked("reproduce", str(images), "no-such-image")
    assert proc.code == 2
    assert proc.err.startswith("sdxl-bench: error: image 'no-such-image' is not in")
    assert len(proc.err.strip().splitlines()) == 1


def test_two_runs_of_the_same_sweep_match_exactly(saved_run, second_run):
    proc = run_forked("determinism", str(saved_run[0]), str(second_run))
    assert proc.code == 0, proc.err
    assert "4 of 4 images matched exactly, 0 within tolerance, 0 did not" in proc.out


def test_an_image_one_level_off_matches_within_tolerance(saved_run, tmp_path):
    proc = run_forked("determinism", str(saved_run[0]), str(other_machine(saved_run, tmp_path, 1)))
    assert proc.code == 0, proc.err
    assert "3 of 4 images matched exactly, 1 within tolerance, 0 did not" in proc.out


def test_an_image_far_off_is_reported_as_different(saved_run, tmp_path):
    proc = run_forked("determinism", str(saved_run[0]), str(other_machine(saved_run, tmp_path, 60)))
    assert proc.code == 1
    assert "1 did not" in proc.out
    assert "differ: t2i-prompts-x-images/bs2-n2 image 0 (seed 0)" in proc.out


def test_without_saved_images_only_hashes_are_compared_and_it_says_so(saved_run, tmp_path):
    copy = other_machine(saved_run, tmp_path, 1, keep_images=False)
    proc = run_forked("determinism", str(saved_run[0]), str(copy))
    assert proc.code == 1
    assert "hashes only" in proc.out
    assert "hash-differs: t2i-prompts-x-images/bs2-n2 image 0" in proc.out
