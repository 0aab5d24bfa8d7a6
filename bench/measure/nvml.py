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


def _text(value) -> str:
    return value if isinstance(value, str) else value.decode()


def bare_uuid(uuid: str) -> str:
    """A UUID without NVML's ``GPU-``/``MIG-`` prefix, as torch prints it."""
    return str(uuid).removeprefix("GPU-").removeprefix("MIG-")


def nvml_handles(nvml) -> list[tuple[str, object]]:
    """(UUID, handle) of every NVML device, MIG slices included (``MIG-…`` UUIDs), in
    NVML's numbering, which ignores ``CUDA_VISIBLE_DEVICES``."""
    found = []
    for i in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(i)
        found.append((_text(nvml.nvmlDeviceGetUUID(handle)), handle))
        try:
            current = nvml.nvmlDeviceGetMigMode(handle)[0]
        except Exception:  # NOT_SUPPORTED on GPUs without MIG
            continue
        if not current:
            continue
        for j in range(nvml.nvmlDeviceGetMaxMigDeviceCount(handle)):
            try:
                mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, j)
            except Exception:  # NOT_FOUND: slot without an instance
                continue
            found.append((_text(nvml.nvmlDeviceGetUUID(mig)), mig))
    return found


def torch_uuid(device: str) -> str:
    import torch

    index = int(device.split(":", 1)[1]) if ":" in device else 0
    return str(getattr(torch.cuda.get_device_properties(index), "uuid", "") or "")


class NvmlDevice:
    """One GPU's NVML handle, opened for the device torch calls ``cuda:N``."""

    def __init__(self, nvml, handle, uuid: str | None = None) -> None:
        self._nvml = nvml
        self.handle = handle
        self.uuid = uuid
        self.pid = os.getpid()

    @classmethod
    def find(cls, device: str) -> tuple[NvmlDevice | None, str | None]:
        """(the handle for a torch device, None) or (None, why there is none).

        Matched by UUID only: NVML indices ignore ``CUDA_VISIBLE_DEVICES`` (and MIG), so an
        index fallback would read another GPU's memory, energy and clocks.
        """
        if not device.startswith("cuda"):
            return None, f"device {device} is not a GPU: NVML reports NVIDIA GPUs only"
        try:
            nvml = _pynvml()
            nvml.nvmlInit()
        except Exception as exc:
            return None, f"NVML could not start: {type(exc).__name__}: {exc}"
        try:
            uuid = torch_uuid(device)
        except Exception as exc:
            return None, f"torch cannot describe {device}: {exc}"
        if not uuid:
            return None, f"torch reports no UUID for {device}: cannot match it to an NVML device"
        try:
            handles = nvml_handles(nvml)
        except Exception as exc:
            return None, f"NVML could not list devices: {type(exc).__name__}: {exc}"
        for nvml_uuid, handle in handles:
            if bare_uuid(nvml_uuid) == bare_uuid(uuid):
                return cls(nvml, handle, nvml_uuid), None
        return None, (f"no NVML device has the UUID of {device} ({uuid}); NVML lists"
                      f" {', '.join(u for u, _ in handles) or 'none'}: NVML fields stay null"
                      " rather than read another GPU")

    @classmethod
    def open(cls, device: str) -> NvmlDevice | None:
        """The handle for a torch device, or ``None`` (CPU, no NVML, no UUID match)."""
        return cls.find(device)[0]

    def memory_used(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self.handle).used)

    def memory_total(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self.handle).total)

    def process_memory_used(self) -> int | None:
        """This process's GPU memory, or ``None`` where the driver hides it."""
        return self.process_memory()[0]

    def process_memory(self) -> tuple[int | None, str | None]:
        """(this process's GPU memory, None) or (None, why NVML cannot say).

        Inside a container NVML lists host PIDs, so this process's own PID is absent."""
        try:
            procs = list(self._nvml.nvmlDeviceGetComputeRunningProcesses(self.handle))
        except Exception as exc:
            return None, f"NVML cannot list the GPU's processes: {type(exc).__name__}: {exc}"
        for proc in procs:
            if proc.pid == self.pid:
                used = proc.usedGpuMemory
                if used is None:
                    return None, "NVML lists this process but hides its memory (usedGpuMemory n/a)"
                return int(used), None
        if not procs:
            return None, (f"NVML lists no compute process on this GPU (not even PID {self.pid}):"
                          " a container's PID namespace hides them")
        return None, (f"NVML lists {len(procs)} process(es) on this GPU but not PID {self.pid}:"
                      " inside a container NVML reports host PIDs")

    def other_processes(self) -> list[int]:
        """PIDs NVML lists on this GPU other than this process (host PIDs in containers)."""
        return [p.pid for p in self._nvml.nvmlDeviceGetComputeRunningProcesses(self.handle)
                if p.pid != self.pid]

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
