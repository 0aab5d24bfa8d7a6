"""NVML at the hardware boundary: device matching, MIG, containers, clocks and energy,
driven by a fake ``pynvml`` (tests/measure/fake_pynvml.py) on a machine without a GPU."""

from __future__ import annotations

import os
import time

import pytest

from bench.measure.nvml import NvmlDevice
from bench.measure.trackers.clocks import ClockTracker
from bench.measure.trackers.energy import EnergyTracker
from bench.measure.trackers.memory import MemoryTracker
from tests.measure import fake_pynvml as fake

GPU0 = "GPU-11111111-2222-3333-4444-555555555555"
GPU1 = "GPU-66666666-7777-8888-9999-aaaaaaaaaaaa"
MIG = "MIG-bbbbbbbb-cccc-dddd-eeee-ffffffffffff"


def test_an_unmatched_uuid_gives_no_device_and_never_falls_back_to_an_index(monkeypatch):
    """CUDA_VISIBLE_DEVICES=1: torch's cuda:0 is NVML's index 1; a UUID NVML does not list
    (e.g. a device hidden from NVML) must not silently become NVML's device 0."""
    fake.install(monkeypatch, [fake.FakeGpu(GPU0), fake.FakeGpu(GPU1)])
    fake.fake_torch_cuda(monkeypatch, ["GPU-deadbeef-0000-0000-0000-000000000000"])
    device, reason = NvmlDevice.find("cuda:0")
    assert device is None
    assert "no NVML device has the UUID" in reason
    assert NvmlDevice.open("cuda:0") is None


def test_devices_are_matched_by_uuid_not_by_index(monkeypatch):
    """torch's cuda:0 under CUDA_VISIBLE_DEVICES=1 is NVML's second device."""
    gpus = [fake.FakeGpu(GPU0, used=1), fake.FakeGpu(GPU1, used=2)]
    fake.install(monkeypatch, gpus)
    fake.fake_torch_cuda(monkeypatch, [GPU1])
    device, reason = NvmlDevice.find("cuda:0")
    assert reason is None and device.handle is gpus[1] and device.memory_used() == 2


def test_a_mig_slice_is_matched_by_its_mig_uuid(monkeypatch):
    slice_ = fake.FakeGpu(MIG, name="NVIDIA H100 80GB HBM3 MIG 1g.10gb", total=10 * 2**30)
    fake.install(monkeypatch, [fake.FakeGpu(GPU0, mig_mode=1, mig=[slice_])])
    fake.fake_torch_cuda(monkeypatch, [MIG])
    device, reason = NvmlDevice.find("cuda:0")
    assert reason is None and device.handle is slice_ and device.uuid == MIG
    assert device.memory_total() == 10 * 2**30


def test_process_memory_in_a_container_is_null_with_the_reason():
    """NVML lists host PIDs; this process's own PID is not among them."""
    gpu = fake.FakeGpu(GPU0, processes=[fake.FakeProcess(pid=987654, usedGpuMemory=3 * 2**30)])
    device = NvmlDevice(fake.make([gpu]), gpu)
    value, reason = device.process_memory()
    assert value is None and "host PIDs" in reason


def test_the_memory_record_says_why_the_process_view_is_empty():
    gpu = fake.FakeGpu(GPU0, processes=[fake.FakeProcess(pid=987654, usedGpuMemory=2**30)])
    tracker = MemoryTracker("cpu", NvmlDevice(fake.make([gpu]), gpu), interval_s=0.002)
    with tracker.config(pipe=None):
        time.sleep(0.01)
    result = tracker.result()
    assert result["peak_memory_bytes"]["nvml_process_used"] is None
    assert result["peak_memory_bytes"]["nvml_device_used"] == gpu.used
    assert "host PIDs" in result["peak_memory_unavailable"]["nvml_process_used"]


def test_memory_is_kept_per_timed_call_and_the_config_peak_is_the_largest_call():
    gpu = fake.FakeGpu(GPU0, processes=[fake.FakeProcess(os.getpid(), 2**30)])
    tracker = MemoryTracker("cpu", NvmlDevice(fake.make([gpu]), gpu), interval_s=0.001)
    with tracker.config(pipe=None):
        for used in (3 * 2**30, 5 * 2**30, 4 * 2**30):
            with tracker.call():
                gpu.used = used
                time.sleep(0.005)
    result = tracker.result()
    calls = result["peak_memory_per_call_bytes"]
    assert calls["nvml_device_used"] == [3 * 2**30, 5 * 2**30, 4 * 2**30]
    assert calls["nvml_process_used"] == [2**30] * 3
    assert result["peak_memory_bytes"]["nvml_device_used"] == 5 * 2**30
    assert len(calls["process_rss"]) == 3


def test_rss_is_sampled_per_call_where_the_kernel_refuses_the_high_water_mark_reset(monkeypatch):
    from bench.measure.trackers import memory

    monkeypatch.setattr(memory, "reset_rss_high_water_mark", lambda: False)  # e.g. a locked /proc
    tracker = MemoryTracker("cpu", interval_s=0.001)
    with tracker.config(pipe=None):
        for _ in range(2):
            with tracker.call():
                time.sleep(0.003)
    result = tracker.result()
    assert len(result["peak_memory_per_call_bytes"]["process_rss"]) == 2
    assert result["memory_reset"]["rss_high_water_mark"] is False
    assert result["memory_sampler"]["views"] == ["process_rss"]


def test_process_memory_is_read_for_this_pid():
    gpu = fake.FakeGpu(GPU0, processes=[fake.FakeProcess(1, 7),
                                        fake.FakeProcess(os.getpid(), 5 * 2**30)])
    assert NvmlDevice(fake.make([gpu]), gpu).process_memory() == (5 * 2**30, None)


def test_a_failing_temperature_read_skips_the_whole_sample_and_spoils_nothing():
    """A clock without its temperature used to be kept; result() then raised."""
    gpu = fake.FakeGpu(GPU0, fail={"nvmlDeviceGetTemperature": fake.NVML_ERROR_GPU_IS_LOST})
    tracker = ClockTracker("cuda:0", NvmlDevice(fake.make([gpu]), gpu), interval_s=0.001)
    with tracker.config(pipe=None):
        time.sleep(0.01)
    result = tracker.result()
    assert result["gpu_clocks"] is None
    assert "failed" in result["gpu_clocks_unavailable"]


def test_clock_samples_stay_whole_when_reads_fail_now_and_then():
    gpu = fake.FakeGpu(GPU0)
    nvml = fake.make([gpu])
    reads = {"n": 0}
    temperature = nvml.nvmlDeviceGetTemperature

    def flaky(handle, kind):
        reads["n"] += 1
        if reads["n"] % 2:
            raise fake.NVMLError(fake.NVML_ERROR_GPU_IS_LOST)
        return temperature(handle, kind)

    nvml.nvmlDeviceGetTemperature = flaky
    tracker = ClockTracker("cuda:0", NvmlDevice(nvml, gpu), interval_s=0.001)
    with tracker.config(pipe=None):
        time.sleep(0.02)
    s = tracker.sampler
    assert len(s.clocks) == len(s.temperatures) > 0 and s.errors > 0
    assert tracker.result()["gpu_clocks"]["failed_reads"] == s.errors


def test_power_cap_is_information_not_throttling():
    """sw_power_cap is normal at full load on H100/H200."""
    gpu = fake.FakeGpu(GPU0, reasons=fake.SW_POWER_CAP)
    tracker = ClockTracker("cuda:0", NvmlDevice(fake.make([gpu]), gpu), interval_s=0.001)
    with tracker.config(pipe=None):
        time.sleep(0.005)
    result = tracker.result()
    assert result["throttle_warning"] is None
    assert result["gpu_clocks"]["throttled"] is False and result["gpu_clocks"]["power_capped"]


def test_hardware_slowdown_is_throttling():
    gpu = fake.FakeGpu(GPU0, reasons=fake.HW_SLOWDOWN | fake.SW_POWER_CAP)
    tracker = ClockTracker("cuda:0", NvmlDevice(fake.make([gpu]), gpu), interval_s=0.001)
    with tracker.config(pipe=None):
        time.sleep(0.005)
    warning = tracker.result()["throttle_warning"]
    assert "hw_slowdown" in warning and "sw_power_cap" not in warning


def test_energy_counter_in_millijoules_becomes_joules_per_image():
    gpu = fake.FakeGpu(GPU0, energy_mj=5_000_000)
    tracker = EnergyTracker("cpu", NvmlDevice(fake.make([gpu]), gpu), images_per_call=2)
    with tracker.config(pipe=None):
        with tracker.call():
            gpu.energy_mj += 300_000  # 300 J
    assert tracker.result()["energy_j_per_image"] == pytest.approx(150.0)


def test_energy_is_null_when_the_counter_is_not_supported():
    gpu = fake.FakeGpu(GPU0, energy_mj=None)
    tracker = EnergyTracker("cpu", NvmlDevice(fake.make([gpu]), gpu), images_per_call=1)
    with tracker.config(pipe=None):
        with tracker.call():
            pass
    assert tracker.result()["energy_j_per_image"] is None
    assert tracker.result()["energy_unavailable"] == (
        "no NVML energy counter on this GPU (MIG slice or pre-Volta)")


def test_energy_on_a_gpu_without_nvml_says_nvml_is_missing():
    tracker = EnergyTracker("cuda:0", None, images_per_call=1)
    assert tracker.result() == {"energy_j_per_image": None, "avg_power_w": None,
                                "energy_unavailable": "NVML not available (see env.nvml)"}
