"""A local pipeline folder defaults to the size diffusers itself would use for it."""

from __future__ import annotations

import json

from bench.plan.models import resolve_model


def pipeline_folder(tmp_path, sample_size, blocks):
    folder = tmp_path / "pipe"
    (folder / "unet").mkdir(parents=True)
    (folder / "vae").mkdir()
    (folder / "model_index.json").write_text("{}")
    (folder / "unet" / "config.json").write_text(json.dumps({"sample_size": sample_size}))
    (folder / "vae" / "config.json").write_text(json.dumps({"block_out_channels": blocks}))
    return folder


def test_folder_size_is_unet_sample_size_times_vae_scale(tmp_path):
    folder = pipeline_folder(tmp_path, 8, [32, 32, 64, 64])
    assert resolve_model(str(folder)).default_size == 64


def test_folder_size_reads_a_listed_sample_size(tmp_path):
    folder = pipeline_folder(tmp_path, [96, 96], [128, 256, 512, 512])
    assert resolve_model(str(folder)).default_size == 768


def test_folder_without_readable_configs_falls_back_to_sdxl_size(tmp_path):
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "model_index.json").write_text("{}")
    assert resolve_model(str(folder)).default_size == 1024
