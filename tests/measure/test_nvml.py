"""NVML paths: absent on this machine (the real thing), and the sampler against a fake
``pynvml`` module at the hardware boundary. The same code runs for real in test_gpu.py."""

import os
import threading
import time
from types import SimpleNamespace

import pytest

from bench.measure import nvml
from bench.measure.nvml import NvmlDevice
from bench.measure.trackers.energy import EnergyTracker
from bench.measure.trackers.memory import MemoryTracker


class FakePynvml:
    """pynvml's surface as NvmlDevice uses it; memory climbs while a test 'runs'."""

    def __init__(self):
        self.used = 1_000
        self.process_used = 500
        self.energy = 10_000  # millijoules

    def nvmlDeviceGetMemoryInfo(self, handle):
        return SimpleNamespace(used=self.used, total=80 * 2**30)

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        return [SimpleNamespace(pid=1, usedGpuMemory=7),
                SimpleNamespace(pid=os.getpid(), usedGpuMemory=self.process_used)]

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        return self.energy


def test_nvml_status_on_a_machine_without_a_driver_says_why():
    status = nvml.status()
    if status.available:
        pytest.skip("NVML is available here")
    assert not status.available and status.reason


def test_nvml_status_without_pynvml_names_the_missing_package(monkeypatch):
    def missing():
        raise ImportError("No module named 'pynvml'")

    monkeypatch.setattr(nvml, "_pynvml", missing)
    status = nvml.status()
    assert not status.available and "pynvml is not installed" in status.reason


def test_open_on_cpu_gives_no_device():
    assert NvmlDevice.open("cpu") is None


def test_sampler_catches_a_short_peak_between_calls():
    fake = FakePynvml()
    tracker = MemoryTracker("cpu", NvmlDevice(fake, handle=0), interval_s=0.005)

    def spike():
        time.sleep(0.05)
        fake.used, fake.process_used = 9_000, 4_000  # a 40 ms peak the sampler must see
        time.sleep(0.04)
        fake.used, fake.process_used = 2_000, 600

    with tracker.config(pipe=None):
        worker = threading.Thread(target=spike)
        worker.start()
        worker.join()
        time.sleep(0.02)
    result = tracker.result()
    assert result["peak_memory_bytes"]["nvml_device_used"] == 9_000
    assert result["peak_memory_bytes"]["nvml_process_used"] == 4_000
    assert result["device_memory_bytes"] == 80 * 2**30
    sampler = result["memory_sampler"]
    assert sampler["samples"] >= 10
    assert sampler["mean_interval_s"] <= 0.010


def test_energy_per_image_is_the_counter_delta_over_images():
    fake = FakePynvml()
    tracker = EnergyTracker("cpu", NvmlDevice(fake, handle=0), images_per_call=4)
    with tracker.config(pipe=None):
        for _ in range(2):
            with tracker.call():
                fake.energy += 6_000  # 6 J per call
    result = tracker.result()
    assert result["energy_j_per_image"] == pytest.approx(12.0 / 8)
    assert result["avg_power_w"] > 0


def test_energy_is_null_without_nvml():
    tracker = EnergyTracker("cpu", None, images_per_call=1)
    with tracker.config(pipe=None):
        with tracker.call():
            pass
    assert tracker.result() == {"energy_j_per_image": None, "avg_power_w": None,
                                "energy_unavailable": "cpu: no GPU energy counter"}
