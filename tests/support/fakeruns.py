"""Synthetic run files for analysis tests: real files in the run-file schema, made fast."""

from __future__ import annotations

from pathlib import Path

from bench.stats import summarize
from bench.store.run_file import SCHEMA_VERSION, RunWriter


def record(
    latencies: list[float],
    batch_size: int = 1,
    num_images_per_prompt: int = 1,
    status: str = "ok",
    memory: int | None = 2**30,
    **overrides: object,
) -> dict:
    """A config record with the given raw latencies and memory (process_rss view)."""
    images = batch_size * num_images_per_prompt
    latency = summarize(latencies) if latencies else None
    rec = {
        "type": "config",
        "config_id": f"t2i/bs{batch_size}-n{num_images_per_prompt}",
        "scenario": "t2i",
        "task": "text2img",
        "model": "tiny",
        "device": "cpu",
        "dtype": "float32",
        "batch_size": batch_size,
        "num_images_per_prompt": num_images_per_prompt,
        "images_per_call": images,
        "num_inference_steps": 4,
        "steps_run": 4,
        "height": 64,
        "width": 64,
        "status": status,
        "error": None if status == "ok" else "CUDA out of memory",
        "latency_s": latency,
        "images_per_s": images / latency["median"] if latency and status == "ok" else None,
        "stages_s": {
            "text_encoding": summarize([0.01]),
            "denoise_step": summarize([0.02]),
            "denoising": summarize([0.08]),
            "vae_decode": summarize([0.03]),
            "vae_encode": None,
        },
        "peak_memory_bytes": {
            "nvml_device_used": None,
            "nvml_process_used": None,
            "torch_allocated": None,
            "torch_reserved": None,
            "process_rss": memory,
        },
        "device_memory_bytes": None,
        "energy_j_per_image": None,
        "avg_power_w": None,
    }
    rec.update(overrides)
    return rec


def header(device_name: str = "cpu") -> dict:
    return {
        "type": "header",
        "schema": SCHEMA_VERSION,
        "tool": "sdxl-bench",
        "version": "0.1.0",
        "run_id": "test",
        "started_at": "2026-01-01T00:00:00Z",
        "command": ["sdxl-bench", "run"],
        "plan": {},
        "env": {"device_name": device_name, "torch": "2.x", "git_commit": "abc"},
    }


def write_run(path: Path, records: list[dict], device_name: str = "cpu") -> Path:
    with RunWriter(path) as writer:
        writer.write(header(device_name))
        for rec in records:
            writer.write(rec)
        writer.write({"type": "footer", "status": "complete", "configs": len(records)})
    return path
