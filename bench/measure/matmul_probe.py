"""``env --probe``: measured matmul TFLOP/s next to the datasheet peak, per dtype.

A measurement (it runs matmuls on the device), so it lives in ``measure``; ``env`` prints
the fields with the rest of the environment.
"""

from __future__ import annotations

from bench.errors import UsageError
from bench.measure.hardware import peak_tflops, probe_matmul
from bench.plan.sweep import DTYPES


def probe_dtypes(text: str | None, device: str) -> tuple[str, ...]:
    """The dtypes ``--probe-dtype`` names (checked), else those worth probing on ``device``."""
    if text is None:
        return ("float32", "float16", "bfloat16") if device.startswith("cuda") else ("float32",)
    values = tuple(v.strip() for v in text.split(","))
    for value in values:
        if value not in DTYPES:
            raise UsageError(f"--probe-dtype {text!r}: {value!r} is not one of {', '.join(DTYPES)}")
    return values


def probe_fields(device: str, device_name: str | None, dtypes_text: str | None) -> dict:
    """Environment fields: each dtype's measured matmul TFLOP/s and its datasheet peak."""
    dtypes = probe_dtypes(dtypes_text, device)
    probe, datasheet = {}, {}
    for dtype in dtypes:
        result = probe_matmul(device, dtype)
        probe[dtype] = round(result["tflops"], 3)
        peak, source = peak_tflops(device_name, dtype)
        datasheet[dtype] = peak if peak is not None else None
    size = result["size"]
    return {"probe_matmul_tflops": probe, "probe_matmul_size": f"{size}x{size} @ {size}x{size}",
            "datasheet_peak_tflops": datasheet}
