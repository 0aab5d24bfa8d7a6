"""The environment a run was measured in: devices, drivers, library versions, commit."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from bench import __version__
from bench.measure import nvml


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def numerics() -> dict:
    """The settings that change float32 results and speed: TF32 and cuDNN (imports torch)."""
    import torch

    cudnn = torch.backends.cudnn
    try:
        cudnn_version = cudnn.version()
    except Exception:  # no cuDNN in this build
        cudnn_version = None
    return {
        "tf32": {
            "matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn_allow_tf32": bool(cudnn.allow_tf32),
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
        },
        "cudnn": {"version": cudnn_version, "enabled": bool(cudnn.enabled),
                  "benchmark": bool(cudnn.benchmark), "deterministic": bool(cudnn.deterministic)},
    }


def collect(device: str | None = None) -> dict:
    """Everything a reader needs to know where numbers came from (imports torch)."""
    import torch

    status = nvml.status()
    env = {
        "device": device,
        "device_name": None,
        # Capacity as torch sees it; records' ``device_memory_bytes`` is NVML's figure.
        "device_total_memory_bytes": None,
        "driver": status.driver,
        "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "cuda_device_count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "torch": torch.__version__,
        "diffusers": _version("diffusers"),
        "transformers": _version("transformers"),
        "sdxl_bench": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "host": platform.node() or None,
        "torch_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
        "nvml": {"available": status.available, "reason": status.reason},
        "cuda_device_order": os.environ.get("CUDA_DEVICE_ORDER"),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        **numerics(),
    }
    if device and device.startswith("cuda"):
        props = torch.cuda.get_device_properties(device)
        env["device_name"] = props.name
        env["device_total_memory_bytes"] = int(props.total_memory)
    else:
        env["device_name"] = f"CPU: {env['cpu']}"
    return env
