"""Measure: one config in one process — the call, its trackers, device, NVML, OOM, FLOPs."""
