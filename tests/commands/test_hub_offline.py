"""The real-weights path, proven offline: a hub cache laid out as huggingface_hub does
(``models--owner--name/snapshots/<revision>/`` + ``refs/main``) holding the tiny pipeline
with fp16 variant files, loaded by ``--model owner/name --variant fp16`` with
``HF_HUB_OFFLINE=1`` through ``run``, ``determinism`` and ``max-batch`` (subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bench.store.run_file import read_run
from tests.support.cli import run_subprocess

REPO_ID = "sdxl-bench-test/tiny-sdxl"
REVISION = "0123456789abcdef0123456789abcdef01234567"
SMALL = ("--height", "32", "--width", "32", "--steps", "2", "--threads", "1")


def lay_out_hub_cache(root: Path, repo_id: str = REPO_ID) -> Path:
    """A hub cache holding the tiny pipeline saved with ``variant="fp16"``; returns the
    snapshot folder."""
    import torch
    from diffusers import StableDiffusionXLPipeline

    from bench.assemble.pipelines import quiet_libraries, tiny_folder

    quiet_libraries()
    repo = root / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / REVISION
    pipe = StableDiffusionXLPipeline.from_pretrained(str(tiny_folder()), torch_dtype=torch.float16)
    pipe.save_pretrained(snapshot, variant="fp16")
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION)
    return snapshot


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hf") / "hub"
    lay_out_hub_cache(root)
    return root


def offline_env(hub_root: Path) -> dict:
    env = dict(os.environ, HF_HUB_CACHE=str(hub_root), HF_HOME=str(hub_root.parent),
               HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", OMP_NUM_THREADS="1")
    env.pop("HUGGINGFACE_HUB_CACHE", None)
    return env


def test_the_snapshot_holds_fp16_variant_files(hub):
    files = {p.name for p in hub.rglob("*.safetensors")}
    assert "diffusion_pytorch_model.fp16.safetensors" in files
    assert "model.fp16.safetensors" in files


def test_run_loads_a_hub_model_variant_offline(hub, tmp_path):
    out = tmp_path / "run.jsonl"
    done = run_subprocess("run", "--model", REPO_ID, "--variant", "fp16", *SMALL, "--batch-sizes", "1",
                   "--warmup", "0", "--repeats", "1", "--quiet", "--out", str(out),
                   env=offline_env(hub))
    assert done.code == 0, done.err[-2000:]
    run = read_run(out)
    assert run.configs and all(r["status"] == "ok" for r in run.configs)
    assert run.header["plan"]["model"] == REPO_ID


def test_determinism_runs_on_a_hub_model_variant_offline(hub, tmp_path):
    out = tmp_path / "det.jsonl"
    done = run_subprocess("determinism", "--model", REPO_ID, "--variant", "fp16", *SMALL,
                   "--batch-sizes", "2", "--quiet", "--out", str(out), env=offline_env(hub))
    assert done.code in (0, 1), done.err[-2000:]  # 1: a check failed, still ran
    assert any(r.get("type") == "determinism" for r in map(json.loads, out.read_text().splitlines()))


def test_max_batch_runs_on_a_hub_model_variant_offline(hub):
    done = run_subprocess("max-batch", "--model", REPO_ID, "--variant", "fp16", *SMALL,
                   "--scenario", "t2i-prompts", "--limit", "2", "--json", env=offline_env(hub))
    assert done.code == 0, done.err[-2000:]
    assert json.loads(done.out)["max_size"] == 2


def test_a_missing_variant_is_one_line_and_exit_2(hub):
    done = run_subprocess("run", "--model", REPO_ID, "--variant", "bf16", *SMALL, "--batch-sizes", "1",
                   "--repeats", "1", "--warmup", "0", "--quiet", env=offline_env(hub))
    assert done.code == 2, done.err[-2000:]
    assert len(done.err.strip().splitlines()) == 1 and "bf16" in done.err


def test_a_partial_snapshot_is_one_line_and_exit_2(hub, tmp_path):
    partial = tmp_path / "hub"
    shutil.copytree(hub, partial, symlinks=True)
    shutil.rmtree(next(partial.glob("models--*/snapshots/*/unet")))
    done = run_subprocess("run", "--model", REPO_ID, "--variant", "fp16", *SMALL, "--batch-sizes", "1",
                   "--repeats", "1", "--warmup", "0", "--quiet", env=offline_env(partial))
    assert done.code == 2, done.err[-2000:]
    assert len(done.err.strip().splitlines()) == 1 and "unet" in done.err
