"""Bad flags and inputs of the measuring commands (``run``, ``max-batch``): every row of the
README's "What happens when…" table, plus a few more, each a real ``python -m bench``
subprocess started in an empty folder that exits 2 with one line on stderr naming the
value, no traceback, no model loaded (the fresh cache folder the run would build the model
into stays absent) and no ``reports/`` folder made where it was started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.cli import REPO, run_subprocess


@pytest.fixture
def files(tmp_path: Path) -> dict:
    broken = tmp_path / "broken_scenario.py"
    broken.write_text("raise ValueError('boom in scenario')\n")
    exiting = tmp_path / "exiting_scenario.py"
    exiting.write_text("import sys\nsys.exit(3)\n")
    text = tmp_path / "notes.txt"
    text.write_text("not a picture\n")
    empty_dir = tmp_path / "not_a_pipeline"
    empty_dir.mkdir()
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text('{"hello": "world"}\n')
    return {"broken": str(broken), "exiting": str(exiting), "text": str(text), "empty_dir": str(empty_dir),
            "under_file": str(text / "run.jsonl"), "foreign": str(foreign),
            "missing": str(tmp_path / "missing.py")}


ROWS = [
    ("batch size zero", ["run", "--batch-sizes", "0"], "--batch-sizes '0'"),
    ("batch size negative", ["run", "--batch-sizes", "-2"], "--batch-sizes '-2'"),
    ("empty list", ["run", "--batch-sizes", ""], "--batch-sizes ''"),
    ("empty list item", ["run", "--batch-sizes", "1,,2"], "--batch-sizes '1,,2'"),
    ("letters in list", ["run", "--batch-sizes", "a,b"], "'a' is not a positive integer"),
    ("images per prompt zero", ["run", "--images-per-prompt", "1,0"], "--images-per-prompt '1,0'"),
    ("steps zero", ["run", "--steps", "0"], "--steps '0': '0' is not a positive integer"),
    ("steps not an integer", ["run", "--steps", "x"], "--steps 'x': 'x' is not a positive integer"),
    ("repeats fractional", ["run", "--repeats", "1.5"], "--repeats: '1.5' is not an integer"),
    ("repeats zero", ["run", "--repeats", "0"], "--repeats 0"),
    ("warmup negative", ["run", "--warmup", "-1"], "--warmup -1"),
    ("height not multiple of 8", ["run", "--height", "65"], "--height 65: must be a positive multiple of 8"),
    ("width zero", ["run", "--width", "0"], "--width 0"),
    ("strength above 1", ["run", "--scenario", "i2i-prompts", "--strength", "1.5"], "--strength 1.5"),
    ("strength zero", ["run", "--scenario", "i2i-prompts", "--strength", "0"], "--strength 0.0"),
    ("strength too small for steps", ["run", "--scenario", "i2i-prompts", "--steps", "3",
                                      "--strength", "0.2"], "int(3 x 0.2) = 0"),
    ("images cannot pair with prompts", ["run", "--scenario", "i2i-prompts", "--image", "a.png",
                                         "--image", "b.png"], "2 images cannot pair with 3 prompts"),
    ("unknown scenario", ["run", "--scenario", "nope"], "--scenario 'nope' is unknown"),
    ("scenario file missing", ["run", "--scenario", "{missing}"], "file does not exist"),
    ("scenario file fails to import", ["run", "--scenario", "{broken}"],
     "broken_scenario.py failed to import: ValueError: boom in scenario"),
    ("scenario file calls sys.exit", ["run", "--scenario", "{exiting}"],
     "exiting_scenario.py called sys.exit(3) while being imported"),
    ("unknown model preset", ["run", "--model", "tinny"], "--model 'tinny' is not a preset"),
    ("model folder not a pipeline", ["run", "--model", "{empty_dir}"], "no model_index.json"),
    ("image file missing", ["run", "--scenario", "i2i-prompts", "--image", "/nonexistent/x.png"],
     "--image '/nonexistent/x.png' cannot be read"),
    ("image not an image", ["run", "--scenario", "i2i-prompts", "--image", "{text}"],
     "is not an image"),
    ("image URL unreachable", ["run", "--scenario", "i2i-prompts", "--image",
                               "http://127.0.0.1:9/x.png"],
     "--image 'http://127.0.0.1:9/x.png' cannot be read"),
    ("output not writable", ["run", "--out", "{under_file}"], "cannot be written"),
    ("unknown option", ["run", "--bogus", "2"], "unrecognized arguments"),
    ("bad dtype", ["run", "--dtype", "fp8"], "--dtype 'fp8': 'fp8' is not one of float32"),
    ("bad choice", ["run", "--generator-device", "gpu"], "invalid choice: 'gpu'"),
    ("strength for text2img", ["run", "--strength", "0.5"], "--strength applies to image-to-image"),
    ("image for text2img", ["run", "--image", "a.png"], "--image applies to image-to-image"),
    ("axis the scenario does not sweep", ["run", "--scenario", "t2i-prompts", "--images-per-prompt",
                                          "2"], "does not sweep num_images_per_prompt"),
    ("memory budget not positive", ["run", "--memory-budget", "0"], "--memory-budget 0"),
    ("resume with a different out", ["run", "--resume", "{foreign}", "--out", "x.jsonl"],
     "drop --out"),
    ("resume a missing file", ["run", "--resume", "/nonexistent/run.jsonl"], "does not exist"),
    ("resume a foreign file", ["run", "--resume", "{foreign}"], "not an sdxl-bench record"),
    ("max-batch given batch sizes", ["max-batch", "--batch-sizes", "4"], "max-batch chooses"),
    ("max-batch limit zero", ["max-batch", "--limit", "0"], "--limit 0"),
    ("max-batch given several dtypes", ["max-batch", "--images-per-prompt", "1", "--dtype",
                                        "float32,bfloat16"],
     "probes one config per size, but the flags sweep --dtype;"),
    # Once in test_cli.py; its other two cases (--batch-sizes 1,,2 and --scenario nope) are rows above.
    ("height not multiple of 8 (30)", ["run", "--height", "30"], "--height 30"),
    ("model folder missing", ["run", "--model", "./missing"], "--model './missing'"),
    ("image file missing (other path)", ["run", "--scenario", "i2i-prompts", "--image", "/no/such.png"],
     "--image '/no/such.png'"),
    ("output under /proc", ["run", "--out", "/proc/forbidden/run.jsonl"], "cannot be written"),
]


def run_cli(args: list[str], cache: Path, *extra: str, cwd: Path = REPO):
    """``python -m bench EXTRA ARGS`` with a cache folder of its own, started in ``cwd``."""
    env = {**os.environ, "SDXL_BENCH_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    return run_subprocess(*extra, *args, env=env, cwd=cwd, timeout=120)


@pytest.mark.parametrize(("args", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input_is_one_line_exit_2_before_loading(args, expected, files, tmp_path):
    cache = tmp_path / "cache-never-built"
    result = run_cli([a.format(**files) for a in args], cache, cwd=tmp_path)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("sdxl-bench: error: ")
    assert expected.format(**files) in lines[0]
    assert "Traceback" not in result.err
    assert not cache.exists()  # the tiny model was never built or loaded
    assert not (tmp_path / "reports").exists()  # no default output folder was made


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(where, tmp_path):
    args = ["run", "--repeats", "0"]
    result = run_cli(args + ["--debug"], tmp_path / "c") if where == "after" else run_cli(
        args, tmp_path / "c", "--debug")
    assert result.code != 0
    assert "Traceback" in result.err
    assert "UsageError: --repeats 0" in result.err
