"""The CLI as a user meets it: real subprocesses, real tiny runs, the run file read back."""

import json
import os
import time

import pytest

from bench.plan.scenario import builtin_names
from bench.store.run_file import read_run
from tests.conftest import TINY_RUN
from tests.support.cli import REPO, run_forked, run_subprocess

FAST = ["--steps", "2", "--height", "32", "--width", "32", "--warmup", "1", "--repeats", "2",
        "--quiet"]
CONFIG_FIELDS = {
    "scenario", "task", "model", "device", "dtype", "batch_size", "num_images_per_prompt",
    "images_per_call", "num_inference_steps", "height", "width", "status", "latency_s",
    "images_per_s", "peak_memory_bytes", "energy_j_per_image", "steps_run", "stages_s",
}


def test_help_answers_without_importing_torch():
    code = ("import sys, bench.cli; bench.cli.build_parser().format_help();"
            " print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    start = time.perf_counter()
    out = run_subprocess(prefix=["-c", code])
    assert out.out.strip() == "[]"
    assert time.perf_counter() - start < 5  # generous: a loaded 2-core machine
    assert run_subprocess("--help").code == 0


def test_run_writes_header_one_record_per_grid_point_and_footer(tmp_path):
    out = tmp_path / "run.jsonl"
    result = run_forked("run", *FAST, "--batch-sizes", "1,2", "--images-per-prompt", "1,2",
                            "--out", str(out))
    assert result.code == 0, result.err
    run = read_run(out)
    assert run.header["schema"] == 1 and run.header["plan"]["config_ids"] == [
        c["config_id"] for c in run.configs
    ]
    assert [(c["batch_size"], c["num_images_per_prompt"]) for c in run.configs] == [
        (1, 1), (1, 2), (2, 1), (2, 2)
    ]
    assert run.footer["status"] == "complete" and run.footer["configs"] == 4
    for record in run.configs:
        assert CONFIG_FIELDS <= set(record)
        assert record["status"] == "ok"
        assert record["images_per_s"] == pytest.approx(
            record["images_per_call"] / record["latency_s"]["median"]
        )
    env = run.header["env"]
    assert env["torch"] and env["diffusers"] and env["transformers"] and env["python"]
    assert env["nvml"]["available"] is False and env["nvml"]["reason"]
    assert str(out) in result.out and "images/s" in result.out


@pytest.mark.parametrize("scenario", builtin_names())
def test_every_builtin_scenario_runs_through_the_cli(tmp_path, scenario, request):
    if scenario == TINY_RUN[TINY_RUN.index("--scenario") + 1]:
        shared = request.getfixturevalue("tiny_run")  # already this scenario at --batch-sizes 2
        out, result = shared.path, shared.result  # and --images-per-prompt 2
    else:
        out = tmp_path / "run.jsonl"
        result = run_forked("run", "--scenario", scenario, *FAST, "--batch-sizes", "2",
                                "--images-per-prompt", "2", "--out", str(out))
        if "--batch-sizes" in result.err or "--images-per-prompt" in result.err:
            axes_free = [a for a in ("--batch-sizes", "--images-per-prompt") if a not in result.err]
            result = run_forked("run", "--scenario", scenario, *FAST, axes_free[0], "2",
                                    "--out", str(out))
    assert result.code == 0, result.err
    (record,) = read_run(out).configs
    assert record["status"] == "ok" and record["scenario"] == scenario
    assert record["images_per_call"] == 2 or record["images_per_call"] == 4
    assert len(record["image_sha256"]) == record["images_per_call"]
    assert record["nan_images"] == 0 and record["black_images"] == 0


def test_user_scenario_file_runs_with_user_prompts(tmp_path):
    module = tmp_path / "my_scenario.py"
    module.write_text(
        "from bench.plan.scenario import Scenario\n"
        "SCENARIO = Scenario(name='mine', description='one prompt, batch axis',"
        " prompts=('a red cube',), axes=('batch_size',))\n"
    )
    out = tmp_path / "run.jsonl"
    result = run_forked("run", "--scenario", str(module), *FAST, "--batch-sizes", "1",
                            "--prompt", "a blue sphere", "--out", str(out))
    assert result.code == 0, result.err
    run = read_run(out)
    assert run.configs[0]["scenario"] == "mine"
    assert run.header["plan"]["prompts"] == ["a blue sphere"]


def test_img2img_with_user_image_file(tmp_path):
    from PIL import Image

    picture = tmp_path / "in.png"
    Image.new("RGB", (40, 24), (10, 200, 30)).save(picture)
    out = tmp_path / "run.jsonl"
    result = run_forked("run", "--scenario", "i2i-prompts", *FAST, "--batch-sizes", "2",
                            "--image", str(picture), "--out", str(out))
    assert result.code == 0, result.err
    assert read_run(out).configs[0]["status"] == "ok"


def test_list_names_every_scenario_and_preset():
    result = run_forked("list")
    assert result.code == 0
    for name in [*builtin_names(), "tiny", "sdxl-arch"]:
        assert name in result.out


def test_env_says_why_nvml_is_unavailable():
    result = run_forked("env", "--json")
    env = json.loads(result.out)
    assert env["nvml"]["available"] or env["nvml"]["reason"]
    assert env["torch"] and env["device"] in ("cpu", "cuda:0")


def test_run_with_no_arguments_is_a_quick_tiny_sweep(tmp_path):
    """(Its duration, about 20 s on an idle 2-core CPU, is measured in the README, not here.)"""
    result = run_subprocess("run", "--quiet", cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.code == 0, result.err
    (path,) = (tmp_path / "reports" / "runs").glob("*_t2i-prompts-x-images_tiny_cpu.jsonl")
    run = read_run(path)
    assert len(run.configs) == 6 and all(c["status"] == "ok" for c in run.configs)
