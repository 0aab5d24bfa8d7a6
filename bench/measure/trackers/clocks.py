"""GPU clocks during the timed calls: SM clock, temperature and throttle reasons (NVML only).

A benchmark on a throttled GPU measures the cooling, not the code: the record then
carries a warning naming the reasons. On a CPU (or without NVML) the fields are null
and ``gpu_clocks_unavailable`` says why.
"""

from __future__ import annotations

from contextlib import contextmanager

from bench.measure.trackers import Tracker
from bench.measure.trackers.polling import PollingThread

# NVML clocks-event reason bits (nvml.h); idle, application and display clock settings
# lower clocks on purpose and are not throttling. The software power cap holds clocks to
# the board's power limit, which is normal at full load on H100/H200: reported as
# information (``power_capped``), never as throttling.
REASONS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
THROTTLING = {"hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown",
              "hw_power_brake_slowdown"}
POWER_CAP = "sw_power_cap"


def reason_names(mask: int) -> list[str]:
    names = [name for bit, name in REASONS.items() if mask & bit]
    unknown = mask & ~sum(REASONS)
    return names + ([f"unknown_0x{unknown:x}"] if unknown else [])


class ClockSampler(PollingThread):
    """Reads clock, temperature and reasons every ``interval_s`` until stopped."""

    def __init__(self, device, interval_s: float) -> None:
        super().__init__("sdxl-bench-clock-sampler", interval_s)
        self.device = device
        self.clocks: list[int] = []
        self.temperatures: list[int] = []
        self.reasons = 0
        self.errors = 0

    def sample(self) -> None:
        """One whole sample (clock, temperature, reasons) or none: a failing read skips
        the sample, so the lists always pair up."""
        try:
            clock = self.device.sm_clock_mhz()
            temperature = self.device.temperature_c()
            reasons = self.device.clock_event_reasons()
        except Exception:  # a driver hiccup skips one sample
            self.errors += 1
            return
        self.clocks.append(clock)
        self.temperatures.append(temperature)
        self.reasons |= reasons


class ClockTracker(Tracker):
    def __init__(self, device: str, nvml_device=None, interval_s: float = 0.02) -> None:
        self.device = device
        self.nvml = nvml_device
        self.interval_s = interval_s
        self.sampler: ClockSampler | None = None

    @contextmanager
    def config(self, pipe):
        if self.nvml is None:
            yield
            return
        self.sampler = ClockSampler(self.nvml, self.interval_s)
        self.sampler.start()
        try:
            yield
        finally:
            self.sampler.stop()

    def unavailable_reason(self) -> str:
        if not self.device.startswith("cuda"):
            return f"device {self.device} is not a GPU: NVML reports NVIDIA GPUs only"
        return "NVML is not available (see env.nvml)"

    def result(self) -> dict:
        """The clock fields; never raises (a failing read must not spoil a config)."""
        s = self.sampler
        if s is not None and not s.clocks and s.errors:
            return {"gpu_clocks": None, "throttle_warning": None,
                    "gpu_clocks_unavailable": f"every NVML clock read failed ({s.errors} tries)"}
        if s is None or not s.clocks:
            return {"gpu_clocks": None, "gpu_clocks_unavailable": self.unavailable_reason(),
                    "throttle_warning": None}
        try:
            max_clock = self.nvml.max_sm_clock_mhz()
        except Exception:
            max_clock = None
        names = reason_names(s.reasons)
        throttled = sorted(set(names) & THROTTLING)
        warning = None
        if throttled:
            warning = (f"GPU throttled during the timed calls ({', '.join(throttled)}):"
                       f" SM clock {min(s.clocks)}–{max(s.clocks)} MHz, up to {max(s.temperatures)} °C")
        return {
            "gpu_clocks": {
                "sm_clock_mhz": {"min": min(s.clocks), "mean": sum(s.clocks) / len(s.clocks),
                                 "max": max(s.clocks)},
                "sm_clock_max_mhz": max_clock,
                "temperature_c": {"min": min(s.temperatures), "max": max(s.temperatures)},
                "clock_event_reasons": names,
                "throttled": bool(throttled),
                "power_capped": POWER_CAP in names,
                "samples": len(s.clocks),
                "failed_reads": s.errors,
                "interval_s": self.interval_s,
            },
            "gpu_clocks_unavailable": None,
            "throttle_warning": warning,
        }
