"""NVML access (through ``pynvml``) that degrades to "unavailable, because …".

NVML missing is normal on CPU machines: callers get ``None`` handles and a reason to
report. Devices are matched to torch's by UUID, because NVML and CUDA may number GPUs
differently unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class NvmlStatus:
    available: bool
    reason: str | None = None
    driver: str | None = None


def _pynvml():
    import pynvml  # provided by nvidia-ml-py

    return pynvml


def status() -> NvmlStatus:
    """Whether NVML can be used here, and why not."""
    try:
        nvml = _pynvml()
    except ImportError as exc:
        return NvmlStatus(False, f"pynvml is not installed ({exc})")
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, …
        return NvmlStatus(False, f"NVML could not start: {exc} (no NVIDIA driver or GPU)")
    try:
        driver = nvml.nvmlSystemGetDriverVersion()
        return NvmlStatus(True, None, driver if isinstance(driver, str) else driver.decode())
    finally:
        nvml.nvmlShutdown()


class NvmlDevice:
    """One GPU's NVML handle, opened for the device torch calls ``cuda:N``."""

    def __init__(self, nvml, handle) -> None:
        self._nvml = nvml
        self.handle = handle
        self.pid = os.getpid()

    @classmethod
    def open(cls, device: str) -> NvmlDevice | None:
        """The handle for a torch device, or ``None`` (CPU, no NVML, no match)."""
        if not device.startswith("cuda"):
            return None
        try:
            nvml = _pynvml()
            nvml.nvmlInit()
        except Exception:
            return None
        import torch

        index = int(device.split(":", 1)[1]) if ":" in device else 0
        uuid = str(getattr(torch.cuda.get_device_properties(index), "uuid", "") or "")
        for i in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            nvml_uuid = nvml.nvmlDeviceGetUUID(handle)
            nvml_uuid = nvml_uuid if isinstance(nvml_uuid, str) else nvml_uuid.decode()
            if uuid and nvml_uuid.removeprefix("GPU-") == uuid.removeprefix("GPU-"):
                return cls(nvml, handle)
        return cls(nvml, nvml.nvmlDeviceGetHandleByIndex(index))

    def memory_used(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self.handle).used)

    def memory_total(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self.handle).total)

    def process_memory_used(self) -> int | None:
        """This process's GPU memory, or ``None`` where the driver hides it."""
        for proc in self._nvml.nvmlDeviceGetComputeRunningProcesses(self.handle):
            if proc.pid == self.pid:
                used = proc.usedGpuMemory
                return int(used) if used is not None else None
        return None

    def energy_mj(self) -> int | None:
        """Total energy since the driver loaded, in millijoules (None if unsupported)."""
        try:
            return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))
        except Exception:
            return None

    def sm_clock_mhz(self) -> int:
        return int(self._nvml.nvmlDeviceGetClockInfo(self.handle, self._nvml.NVML_CLOCK_SM))

    def max_sm_clock_mhz(self) -> int | None:
        try:
            return int(self._nvml.nvmlDeviceGetMaxClockInfo(self.handle, self._nvml.NVML_CLOCK_SM))
        except Exception:
            return None

    def temperature_c(self) -> int:
        return int(self._nvml.nvmlDeviceGetTemperature(self.handle, self._nvml.NVML_TEMPERATURE_GPU))

    def clock_event_reasons(self) -> int:
        """Bit mask of why clocks are below maximum (NVML "throttle"/"clock event" reasons)."""
        read = (getattr(self._nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
                or self._nvml.nvmlDeviceGetCurrentClocksThrottleReasons)
        return int(read(self.handle))
