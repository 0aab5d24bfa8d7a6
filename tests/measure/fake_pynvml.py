"""A fake ``pynvml`` module at the hardware boundary, in NVML's own units and codes.

Values follow ``nvml.h`` and nvidia-ml-py: memory in bytes, power in milliwatts, energy in
millijoules, clocks in MHz, clocks-event reasons as the header's bit values, errors as
``NVMLError`` subclasses carrying NVML return codes, UUIDs as ``GPU-…`` and ``MIG-…``
strings, process lists with host PIDs. ``install(monkeypatch, …)`` puts it in
``sys.modules`` so ``import pynvml`` inside the code under test finds it.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

# nvml.h return codes
NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_GPU_IS_LOST = 15

# nvmlClocksEventReason* bits (nvml.h)
GPU_IDLE = 0x1
APPLICATIONS_CLOCKS_SETTING = 0x2
SW_POWER_CAP = 0x4
HW_SLOWDOWN = 0x8
SYNC_BOOST = 0x10
SW_THERMAL_SLOWDOWN = 0x20
HW_THERMAL_SLOWDOWN = 0x40
HW_POWER_BRAKE_SLOWDOWN = 0x80


class NVMLError(Exception):
    """pynvml's error: ``value`` is the NVML return code; str() is NVML's message."""

    _messages = {NVML_ERROR_NOT_SUPPORTED: "Not Supported", NVML_ERROR_NO_PERMISSION:
                 "Insufficient Permissions", NVML_ERROR_NOT_FOUND: "Not Found",
                 NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
                 NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
                 NVML_ERROR_GPU_IS_LOST: "GPU is lost", NVML_ERROR_INVALID_ARGUMENT:
                 "Invalid Argument", NVML_ERROR_UNINITIALIZED: "Uninitialized"}

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return self._messages.get(self.value, f"Unknown Error {self.value}")


@dataclass
class FakeProcess:
    pid: int
    usedGpuMemory: int | None  # noqa: N815 (pynvml's name); None = NVML_VALUE_NOT_AVAILABLE


@dataclass
class FakeGpu:
    """One NVML device (a full GPU or a MIG slice)."""

    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    total: int = 80 * 2**30  # bytes
    used: int = 2 * 2**30
    energy_mj: int | None = 1_000_000  # None: counter not supported
    sm_clock: int = 1980
    max_sm_clock: int = 1980
    temperature: int = 45
    reasons: int = 0
    power_limit_mw: int = 700_000
    default_power_limit_mw: int = 700_000
    power_mw: int = 120_000
    persistence: int = 1
    processes: list[FakeProcess] = field(default_factory=list)
    mig_mode: int = 0
    mig: list[FakeGpu] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)  # function name → NVML error code


def make(gpus: list[FakeGpu], driver: str = "570.86.15", cuda_driver: int = 12080,
         init_error: int | None = None) -> types.ModuleType:
    """A ``pynvml`` module over ``gpus`` (indices in list order, as NVML numbers them)."""
    mod = types.ModuleType("pynvml")
    mod.NVMLError = NVMLError
    mod.NVML_CLOCK_SM = 1
    mod.NVML_TEMPERATURE_GPU = 0
    mod.NVML_FEATURE_ENABLED, mod.NVML_FEATURE_DISABLED = 1, 0
    mod.NVML_DEVICE_MIG_ENABLE = 1
    for name, value in globals().items():
        if name.startswith("NVML_ERROR_"):
            setattr(mod, name, value)
    mod.calls = []

    def call(gpu: FakeGpu, fn: str):
        mod.calls.append(fn)
        if fn in gpu.fail:
            raise NVMLError(gpu.fail[fn])
        return gpu

    def init() -> None:
        if init_error is not None:
            raise NVMLError(init_error)

    mod.nvmlInit = init
    mod.nvmlShutdown = lambda: None
    mod.nvmlSystemGetDriverVersion = lambda: driver
    mod.nvmlSystemGetCudaDriverVersion = lambda: cuda_driver
    mod.nvmlSystemGetCudaDriverVersion_v2 = lambda: cuda_driver
    mod.nvmlDeviceGetCount = lambda: len(gpus)

    def by_index(i: int) -> FakeGpu:
        if not 0 <= i < len(gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return gpus[i]

    mod.nvmlDeviceGetHandleByIndex = by_index
    mod.nvmlDeviceGetUUID = lambda h: call(h, "nvmlDeviceGetUUID").uuid
    mod.nvmlDeviceGetName = lambda h: call(h, "nvmlDeviceGetName").name

    def mig_mode(h: FakeGpu) -> list[int]:
        if h.fail.get("nvmlDeviceGetMigMode") or not h.mig and not h.mig_mode:
            raise NVMLError(h.fail.get("nvmlDeviceGetMigMode", NVML_ERROR_NOT_SUPPORTED))
        return [h.mig_mode, h.mig_mode]

    mod.nvmlDeviceGetMigMode = mig_mode
    mod.nvmlDeviceGetMaxMigDeviceCount = lambda h: 7 if h.mig_mode else 0

    def mig_handle(h: FakeGpu, i: int) -> FakeGpu:
        if i >= len(h.mig):
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return h.mig[i]

    mod.nvmlDeviceGetMigDeviceHandleByIndex = mig_handle
    mod.nvmlDeviceIsMigDeviceHandle = lambda h: h.uuid.startswith("MIG-")
    mod.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(
        total=call(h, "nvmlDeviceGetMemoryInfo").total, used=h.used, free=h.total - h.used)
    mod.nvmlDeviceGetComputeRunningProcesses = lambda h: list(
        call(h, "nvmlDeviceGetComputeRunningProcesses").processes)

    def energy(h: FakeGpu) -> int:
        call(h, "nvmlDeviceGetTotalEnergyConsumption")
        if h.energy_mj is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return h.energy_mj

    mod.nvmlDeviceGetTotalEnergyConsumption = energy
    mod.nvmlDeviceGetClockInfo = lambda h, kind: call(h, "nvmlDeviceGetClockInfo").sm_clock
    mod.nvmlDeviceGetMaxClockInfo = lambda h, kind: call(h, "nvmlDeviceGetMaxClockInfo").max_sm_clock
    mod.nvmlDeviceGetTemperature = lambda h, kind: call(h, "nvmlDeviceGetTemperature").temperature
    mod.nvmlDeviceGetCurrentClocksEventReasons = lambda h: call(
        h, "nvmlDeviceGetCurrentClocksEventReasons").reasons
    mod.nvmlDeviceGetPowerManagementLimit = lambda h: call(
        h, "nvmlDeviceGetPowerManagementLimit").power_limit_mw
    mod.nvmlDeviceGetPowerManagementDefaultLimit = lambda h: call(
        h, "nvmlDeviceGetPowerManagementDefaultLimit").default_power_limit_mw
    mod.nvmlDeviceGetPowerUsage = lambda h: call(h, "nvmlDeviceGetPowerUsage").power_mw
    mod.nvmlDeviceGetPersistenceMode = lambda h: call(h, "nvmlDeviceGetPersistenceMode").persistence
    return mod


def install(monkeypatch, gpus: list[FakeGpu], **kwargs) -> types.ModuleType:
    """Make ``import pynvml`` return a fake over ``gpus``; undone after the test."""
    mod = make(gpus, **kwargs)
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    return mod


def torch_uuid(nvml_uuid: str) -> str:
    """The UUID as torch prints it (``str(props.uuid)``): no ``GPU-``/``MIG-`` prefix."""
    return nvml_uuid.removeprefix("GPU-").removeprefix("MIG-")


def fake_torch_cuda(monkeypatch, uuids: list[str], names: list[str] | None = None) -> None:
    """torch.cuda as a machine with these visible devices (by torch's numbering) reports it."""
    import torch

    names = names or ["NVIDIA H100 80GB HBM3"] * len(uuids)

    def props(device):
        index = device if isinstance(device, int) else int(str(device).split(":")[1]) \
            if ":" in str(device) else 0
        return types.SimpleNamespace(uuid=torch_uuid(uuids[index]), name=names[index],
                                     total_memory=80 * 2**30, multi_processor_count=132,
                                     major=9, minor=0)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(uuids))
    monkeypatch.setattr(torch.cuda, "get_device_properties", props)
