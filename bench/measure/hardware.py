"""Peak compute of known GPUs (dense datasheet TFLOP/s per dtype) and a matmul probe.

float16/bfloat16 are the dense tensor-core figures with FP32 accumulation (what torch
uses); float32 is the plain FP32 (non-tensor-core) figure. torch lets cuDNN run float32
convolutions in TF32 by default, so a float32 MFU against the FP32 peak can exceed 1.
Sparse ("with sparsity") datasheet figures are twice these and never used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuPeak:
    label: str
    patterns: tuple[str, ...]  # all must occur in the device name (case-insensitive)
    tflops: dict  # dtype → dense TFLOP/s


# Order matters: more specific names first ("H100 PCIe" before "H100").
GPU_PEAKS = (
    GpuPeak("NVIDIA H100 PCIe", ("h100", "pcie"), {"float32": 51.2, "float16": 756.0, "bfloat16": 756.0}),
    GpuPeak("NVIDIA H100 NVL", ("h100", "nvl"), {"float32": 60.0, "float16": 835.0, "bfloat16": 835.0}),
    GpuPeak("NVIDIA H100 SXM", ("h100",), {"float32": 67.0, "float16": 989.4, "bfloat16": 989.4}),
    GpuPeak("NVIDIA H200 NVL", ("h200", "nvl"), {"float32": 60.0, "float16": 835.0, "bfloat16": 835.0}),
    GpuPeak("NVIDIA H200 SXM", ("h200",), {"float32": 67.0, "float16": 989.4, "bfloat16": 989.4}),
    GpuPeak("NVIDIA A100", ("a100",), {"float32": 19.5, "float16": 312.0, "bfloat16": 312.0}),
    GpuPeak("NVIDIA L40S", ("l40s",), {"float32": 91.6, "float16": 362.05, "bfloat16": 362.05}),
    GpuPeak("NVIDIA L40", ("l40",), {"float32": 90.5, "float16": 181.0, "bfloat16": 181.0}),
    GpuPeak("NVIDIA L4", ("l4",), {"float32": 30.3, "float16": 121.0, "bfloat16": 121.0}),
    GpuPeak("NVIDIA A10G (A10 datasheet)", ("a10g",), {"float32": 31.2, "float16": 125.0,
                                                       "bfloat16": 125.0}),
    GpuPeak("NVIDIA A10", ("a10",), {"float32": 31.2, "float16": 125.0, "bfloat16": 125.0}),
    GpuPeak("NVIDIA GeForce RTX 4090", ("rtx 4090",), {"float32": 82.6, "float16": 165.2,
                                                      "bfloat16": 165.2}),
    GpuPeak("NVIDIA T4", ("t4",), {"float32": 8.1, "float16": 65.0}),
)


def find_gpu(device_name: str) -> GpuPeak | None:
    name = device_name.lower()
    for gpu in GPU_PEAKS:
        if all(p in name for p in gpu.patterns):
            return gpu
    return None


def peak_tflops(device_name: str | None, dtype: str, override: dict[str, float] | None = None
                ) -> tuple[float | None, str]:
    """(peak TFLOP/s, where it came from) — or (None, why there is none)."""
    if override and dtype in override:
        return override[dtype], "--peak-tflops"
    if not device_name or device_name.startswith("CPU"):
        return None, ("no datasheet peak for CPUs: pass --peak-tflops (e.g. from"
                      " `sdxl-bench env --probe`)")
    if " mig " in f" {device_name.lower()} ":
        return None, (f"{device_name!r} is a MIG slice: the peak table holds whole GPUs and a"
                      " slice has a fraction of the SMs; pass --peak-tflops (e.g. from"
                      " `sdxl-bench env --probe` on the slice)")
    gpu = find_gpu(device_name)
    if gpu is None:
        return None, f"{device_name!r} is not in the peak table: pass --peak-tflops"
    if dtype not in gpu.tflops:
        return None, f"{gpu.label} has no dense {dtype} figure in the peak table: pass --peak-tflops"
    return gpu.tflops[dtype], f"datasheet: {gpu.label}, dense {dtype}"


def probe_matmul(device: str, dtype: str, size: int | None = None, seconds: float = 1.0) -> dict:
    """Achieved TFLOP/s of a large square matmul on the device: a measured ceiling."""
    import torch

    from bench.measure.device import synchronize

    cuda = device.startswith("cuda")
    n = size or (8192 if cuda else 1024)
    torch_dtype = getattr(torch, dtype)
    a = torch.randn(n, n, device=device, dtype=torch_dtype)
    b = torch.randn(n, n, device=device, dtype=torch_dtype)
    torch.matmul(a, b)  # warm-up: kernel choice, allocation
    synchronize(device)
    calls, start = 0, time.perf_counter()
    while True:
        torch.matmul(a, b)
        calls += 1
        if calls % 4 == 0:
            synchronize(device)
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
    return {"device": device, "dtype": dtype, "size": n, "calls": calls, "seconds": elapsed,
            "tflops": 2 * n**3 * calls / elapsed / 1e12}
