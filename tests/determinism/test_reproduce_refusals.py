"""``reproduce`` refuses what it cannot finish before it loads a model and makes the image:
an ``--out`` it cannot write, a saved image it cannot read. One line, exit 2. The manifest
is made here from a real plan; no model is loaded."""

from __future__ import annotations

import json
from pathlib import Path

from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan
from tests.support.cli import run_in_process


def saved_images(tmp_path: Path, png: bytes = b"not a png at all") -> Path:
    """A --save-images folder holding one image (``png``) and its manifest."""
    plan = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"), SweepOptions(
        batch_sizes="1", images_per_prompt="1", steps=2, height=32, width=32, device="cpu"))
    config = plan.configs[0]
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "img0.png").write_bytes(png)
    entry = {"id": "img0", "file": "img0.png", "config_id": config.config_id, "index": 0,
             "prompt_index": 0, "copy_index": 0, "input_image_index": None,
             "prompt": plan.prompts[0], "seed": 0, "generator_device": "cpu",
             "generator_on": "cpu", "model": "tiny", "sha256": "0" * 64}
    (folder / "manifest.json").write_text(json.dumps({
        "tool": "sdxl-bench", "manifest_version": 1, "model": "tiny",
        "prompts": list(plan.prompts), "input_images": [], "num_default_images": 3,
        "configs": {config.config_id: config.describe()}, "images": [entry]}))
    return folder


def one_line(result, fragment: str) -> None:
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    assert fragment in lines[0]


def test_a_corrupt_saved_image_is_named_before_anything_is_made(tmp_path):
    folder = saved_images(tmp_path)
    result = run_in_process("reproduce", str(folder), "img0", "--out", str(tmp_path / "r.png"))
    one_line(result, f"saved image {folder / 'img0.png'} cannot be read")
    assert not (tmp_path / "r.png").exists()


def test_an_out_that_cannot_be_written_is_refused_before_the_image_is_made(tmp_path):
    folder = saved_images(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_in_process("reproduce", str(folder), "img0", "--prompt", "a cat",
                            "--out", str(blocker / "r.png"))
    one_line(result, f"--out '{blocker / 'r.png'}' cannot be written")


def test_an_unwritable_default_place_says_where_and_how_to_choose_another(tmp_path):
    folder = saved_images(tmp_path)
    (folder / "reproduced").write_text("a file where the folder would go")
    result = run_in_process("reproduce", str(folder), "img0", "--prompt", "a cat")
    one_line(result, "(the default place, beside the manifest; give --out FILE.png)")
