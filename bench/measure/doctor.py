"""Will this machine give trustworthy numbers? Facts are gathered once (``gather``), then
judged by pure functions (``judge``), so every verdict is testable without the hardware.

Each check gives PASS, WARN or FAIL with one sentence saying how to fix it. FAIL means
the numbers would be wrong or the run would not start; WARN means they would be
incomplete or noisier than they need to be.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
GOVERNOR = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
# NVML clocks-event bits that mean the GPU slowed itself down (nvml.h); power cap is apart.
THROTTLE_BITS = {0x8: "hw_slowdown", 0x20: "sw_thermal_slowdown", 0x40: "hw_thermal_slowdown",
                 0x80: "hw_power_brake_slowdown"}
SDPA_BACKENDS = ("FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION", "MATH")
# SDXL's attention shapes: UNet heads of 64 dims (bf16/fp16); VAE one head of 512 dims,
# in float32 when force_upcast (the default) and in the model dtype otherwise.
# Whose declared requirements the measurement relies on (with the extras it is used with),
# and the packages among their requirements whose versions are known to matter: what the
# measuring path imports. Wheels carried to an offline machine are installed with
# ``--no-deps``, so there pip checked none of these.
REQUIRERS = {"sdxl-bench": ("measure",), "diffusers": (), "transformers": (), "accelerate": ()}
STACK = ("torch", "diffusers", "transformers", "accelerate")  # run and determinism import these
MATTERS = ("sdxl-bench", "torch", "diffusers", "transformers", "accelerate", "huggingface-hub",
           "safetensors", "tokenizers", "numpy", "pillow", "importlib-metadata", "nvidia-ml-py")
SDPA_SHAPES = {"unet": ((1, 10, 256, 64), "bfloat16"), "vae": ((1, 1, 256, 512), "float32"),
               "vae_bf16": ((1, 1, 256, 512), "bfloat16")}


@dataclass(frozen=True)
class Check:
    name: str
    level: str
    message: str
    fix: str | None = None


@dataclass
class GpuFacts:
    """What NVML says about the chosen GPU (``None`` fields: could not be read)."""

    name: str | None = None
    uuid: str | None = None
    mig: bool = False
    process_memory: int | None = None
    process_memory_reason: str | None = None
    energy_mj: int | None = None
    sm_clock_mhz: int | None = None
    max_sm_clock_mhz: int | None = None
    power_limit_w: float | None = None
    default_power_limit_w: float | None = None
    persistence: int | None = None
    other_pids: list[int] = field(default_factory=list)
    clock_event_reasons: int | None = None


@dataclass
class Facts:
    device: str
    torch_version: str | None = None
    torch_cuda: str | None = None
    cuda_available: bool = False
    device_count: int = 0
    nvml_available: bool = False
    nvml_reason: str | None = None
    driver: str | None = None
    cuda_driver: int | None = None  # nvmlSystemGetCudaDriverVersion, e.g. 12080
    nvml_device_reason: str | None = None  # why the GPU has no NVML handle
    gpu: GpuFacts | None = None
    governor: str | None = None
    loadavg: float | None = None
    cpu_count: int | None = None
    sdpa: dict[str, dict[str, str]] | None = None  # site → backend → "ok" or the error
    tf32: dict[str, Any] | None = None
    versions: dict[str, str | None] = field(default_factory=dict)  # name → installed (None: not)
    # "name version" → the requirements it declares on MATTERS packages (markers applied)
    requirements: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _safe(read, default=None):
    try:
        return read()
    except Exception:
        return default


def gather_gpu(device: str) -> tuple[GpuFacts | None, str | None]:
    """NVML facts about the torch device (by UUID), or (None, why not)."""
    from bench.measure.nvml import NvmlDevice

    dev, reason = NvmlDevice.find(device)
    if dev is None:
        return None, reason
    nv, h = dev._nvml, dev.handle
    used, why = dev.process_memory()
    is_mig = bool(_safe(lambda: nv.nvmlDeviceIsMigDeviceHandle(h), False)) or bool(
        dev.uuid and dev.uuid.startswith("MIG-"))
    name = _safe(lambda: nv.nvmlDeviceGetName(h))
    return GpuFacts(
        name=name if isinstance(name, str) or name is None else name.decode(),
        uuid=dev.uuid, mig=is_mig, process_memory=used, process_memory_reason=why,
        energy_mj=dev.energy_mj(), sm_clock_mhz=_safe(dev.sm_clock_mhz),
        max_sm_clock_mhz=dev.max_sm_clock_mhz(),
        power_limit_w=_safe(lambda: nv.nvmlDeviceGetPowerManagementLimit(h) / 1000),
        default_power_limit_w=_safe(lambda: nv.nvmlDeviceGetPowerManagementDefaultLimit(h) / 1000),
        persistence=_safe(lambda: int(nv.nvmlDeviceGetPersistenceMode(h))),
        other_pids=_safe(dev.other_processes, []), clock_event_reasons=_safe(dev.clock_event_reasons),
    ), None


def probe_sdpa(device: str) -> dict[str, dict[str, str]]:
    """Which SDPA backend runs SDXL's UNet and VAE attention shapes on this GPU."""
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    results: dict[str, dict[str, str]] = {}
    for site, (shape, dtype) in SDPA_SHAPES.items():
        q = torch.randn(*shape, device=device, dtype=getattr(torch, dtype))
        results[site] = {}
        for backend in SDPA_BACKENDS:
            try:
                with sdpa_kernel([getattr(SDPBackend, backend)]):
                    F.scaled_dot_product_attention(q, q, q)
                torch.cuda.synchronize(device)
                results[site][backend] = "ok"
            except Exception as exc:
                results[site][backend] = str(exc).strip().splitlines()[0][:160] or type(exc).__name__
    return results


def canonical(name: str) -> str:
    """A distribution's name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def gather_versions() -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Installed versions of the MATTERS packages, and what the REQUIRERS ask of them."""
    from importlib import metadata

    from packaging.requirements import Requirement

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    versions = {name: version(name) for name in MATTERS}
    requirements: dict[str, list[str]] = {}
    for name, extras in REQUIRERS.items():
        if versions.get(name) is None:
            continue
        wanted = []
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            applies = req.marker is None or any(req.marker.evaluate({"extra": extra})
                                                for extra in ("", *extras))
            if applies and canonical(req.name) in MATTERS:
                wanted.append(f"{canonical(req.name)}{req.specifier}")
        requirements[f"{name} {versions[name]}"] = wanted
    return versions, requirements


def gather(device: str = "auto") -> Facts:
    """Read everything the checks judge (imports torch; touches CUDA only when present)."""
    import torch

    from bench.measure import nvml
    from bench.measure.environment import numerics

    status = nvml.status()
    available = torch.cuda.is_available()
    if device == "auto":
        device = "cuda:0" if available else "cpu"
    facts = Facts(device=device, torch_version=torch.__version__, torch_cuda=torch.version.cuda,
                  cuda_available=available,
                  device_count=torch.cuda.device_count() if available else 0,
                  nvml_available=status.available, nvml_reason=status.reason,
                  driver=status.driver, governor=_safe(lambda: GOVERNOR.read_text().strip()),
                  loadavg=_safe(lambda: os.getloadavg()[0]), cpu_count=os.cpu_count(),
                  tf32=numerics()["tf32"])
    facts.versions, facts.requirements = _safe(gather_versions, ({}, {}))
    if status.available:
        try:
            pynvml = nvml._pynvml()
            pynvml.nvmlInit()
            facts.cuda_driver = int(pynvml.nvmlSystemGetCudaDriverVersion())
        except Exception:
            pass
    if device.startswith("cuda") and available:
        if int(device.split(":")[1]) >= facts.device_count:
            from bench.errors import UsageError

            raise UsageError(f"--device {device!r}: there are {facts.device_count} CUDA devices")
        torch.cuda.set_device(device)
        facts.gpu, facts.nvml_device_reason = gather_gpu(device)
        facts.sdpa = _safe(lambda: probe_sdpa(device))
    return facts


def cuda_version_text(version: int) -> str:
    """NVML's integer CUDA version (12080) as text (12.8)."""
    return f"{version // 1000}.{version % 1000 // 10}"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def check_cuda(f: Facts) -> Check:
    if f.torch_cuda is None:
        return Check("cuda", WARN if not f.device.startswith("cuda") else FAIL,
                     f"torch {f.torch_version} is a CPU build: no GPU can be measured",
                     "install a CUDA build of torch (pip install torch --index-url"
                     " https://download.pytorch.org/whl/cu128 or similar)")
    if f.cuda_driver is not None and _version_tuple(cuda_version_text(f.cuda_driver)) < \
            _version_tuple(f.torch_cuda):
        return Check("cuda", FAIL,
                     f"the driver {f.driver} supports CUDA {cuda_version_text(f.cuda_driver)} but"
                     f" torch {f.torch_version} is built for CUDA {f.torch_cuda}: CUDA is unusable"
                     " and every gpu test would skip",
                     f"update the NVIDIA driver to one for CUDA {f.torch_cuda} (CUDA 13 needs"
                     f" ≥ 580) or install torch built for CUDA ≤ {cuda_version_text(f.cuda_driver)}")
    if f.cuda_available:
        return Check("cuda", PASS, f"torch {f.torch_version} (CUDA {f.torch_cuda}) sees"
                     f" {f.device_count} GPU(s); driver {f.driver}")
    level = FAIL if f.device.startswith("cuda") else WARN  # asked for a GPU: cannot measure one
    return Check("cuda", level, f"CUDA not available (torch built for CUDA {f.torch_cuda}; no"
                 " NVIDIA driver answered): only CPU numbers here",
                 "run on a machine with an NVIDIA GPU and a driver for this CUDA version")


def check_nvml(f: Facts) -> Check:
    if not f.nvml_available:
        return Check("nvml", WARN, f"NVML unavailable: {f.nvml_reason}; memory (NVML views),"
                     " energy and clocks will be null",
                     "install nvidia-ml-py and an NVIDIA driver (on CPU machines this is expected)")
    if f.device.startswith("cuda") and f.gpu is None:
        return Check("nvml", FAIL, f"NVML works but has no handle for {f.device}:"
                     f" {f.nvml_device_reason}", "check CUDA_VISIBLE_DEVICES and that NVML"
                     " and torch see the same GPUs (CUDA_DEVICE_ORDER=PCI_BUS_ID)")
    return Check("nvml", PASS, f"NVML {f.driver}" + (f", matched {f.gpu.uuid}" if f.gpu else ""))


def check_process_memory(f: Facts) -> Check:
    if f.gpu is None:
        return Check("process_memory", WARN, "not checked: no GPU with NVML",
                     "run doctor on the GPU machine")
    if f.gpu.process_memory is None:
        return Check("process_memory", WARN, f"per-process GPU memory unavailable:"
                     f" {f.gpu.process_memory_reason}; records fall back to torch_reserved",
                     "run the container with --pid=host to see this process in NVML,"
                     " or read torch_reserved")
    return Check("process_memory", PASS, "NVML reports this process's GPU memory")


def check_energy(f: Facts) -> Check:
    if f.gpu is None:
        return Check("energy", WARN, "not checked: no GPU with NVML", "run doctor on the GPU machine")
    if f.gpu.energy_mj is None:
        return Check("energy", WARN, "NVML has no total-energy counter here (MIG slice or"
                     " pre-Volta GPU): energy_j_per_image will be null",
                     "measure energy on a whole GPU (not a MIG slice)")
    return Check("energy", PASS, f"energy counter present ({f.gpu.energy_mj / 1e6:.1f} kJ since"
                 " driver load)")


def check_clocks(f: Facts) -> Check:
    g = f.gpu
    if g is None:
        return Check("clocks", WARN, "not checked: no GPU with NVML", "run doctor on the GPU machine")
    throttled = [name for bit, name in THROTTLE_BITS.items() if (g.clock_event_reasons or 0) & bit]
    if throttled:
        return Check("clocks", WARN, f"GPU is slowing itself down now ({', '.join(throttled)})",
                     "check cooling and wait for the GPU to cool before measuring")
    if g.power_limit_w and g.default_power_limit_w and g.power_limit_w < g.default_power_limit_w:
        return Check("clocks", WARN, f"power limit {g.power_limit_w:.0f} W is below the board's"
                     f" default {g.default_power_limit_w:.0f} W: numbers will be lower",
                     f"sudo nvidia-smi -pl {g.default_power_limit_w:.0f}")
    return Check("clocks", PASS, f"SM clock {g.sm_clock_mhz} of {g.max_sm_clock_mhz} MHz, power"
                 f" limit {g.power_limit_w} W")


def check_persistence(f: Facts) -> Check:
    if f.gpu is None or f.gpu.persistence is None:
        return Check("persistence", WARN, "not checked: no GPU with NVML (or not reported)",
                     "run doctor on the GPU machine")
    if not f.gpu.persistence:
        return Check("persistence", WARN, "persistence mode is off: the driver unloads between"
                     " processes and the first CUDA call pays for it", "sudo nvidia-smi -pm 1")
    return Check("persistence", PASS, "persistence mode on")


def check_other_processes(f: Facts) -> Check:
    if f.gpu is None:
        return Check("other_processes", WARN, "not checked: no GPU with NVML",
                     "run doctor on the GPU machine")
    if f.gpu.other_pids:
        return Check("other_processes", WARN, f"{len(f.gpu.other_pids)} other process(es) use this"
                     f" GPU (PIDs {', '.join(map(str, f.gpu.other_pids[:5]))}): they share its"
                     " compute and memory", "stop them, or pick another GPU with --device cuda:N")
    return Check("other_processes", PASS, "no other process on this GPU")


def check_mig(f: Facts) -> Check:
    if f.gpu is None:
        return Check("mig", WARN, "not checked: no GPU with NVML", "run doctor on the GPU machine")
    if f.gpu.mig:
        return Check("mig", WARN, f"{f.gpu.name or f.device} is a MIG slice: a fraction of the GPU;"
                     " MFU needs --peak-tflops and energy is not per slice",
                     "measure on a whole GPU (nvidia-smi -mig 0) for comparable numbers")
    return Check("mig", PASS, "whole GPU (no MIG)")


def check_governor(f: Facts) -> Check:
    if f.governor is None:
        return Check("cpu_governor", WARN, f"CPU frequency governor unknown ({GOVERNOR} unreadable,"
                     " common in VMs)", "check with the host that CPUs run at a fixed frequency")
    if f.governor != "performance":
        return Check("cpu_governor", WARN, f"CPU governor is {f.governor!r}: host-side work"
                     " (launches, the Python loop) varies with CPU frequency",
                     "sudo cpupower frequency-set -g performance")
    return Check("cpu_governor", PASS, "CPU governor is 'performance'")


def check_load(f: Facts) -> Check:
    if f.loadavg is None or not f.cpu_count:
        return Check("cpu_load", WARN, "load average unknown", "check the machine is otherwise idle")
    if f.loadavg > 0.5 * f.cpu_count:
        return Check("cpu_load", WARN, f"load average {f.loadavg:.1f} on {f.cpu_count} cores: the"
                     " machine is busy and latency will be noisy", "wait for an idle machine")
    return Check("cpu_load", PASS, f"load average {f.loadavg:.1f} on {f.cpu_count} cores")


def check_sdpa(f: Facts) -> Check:
    if f.sdpa is None:
        return Check("sdpa", WARN, "SDPA kernels not checked (n/a without CUDA)",
                     "run doctor on the GPU machine")
    working = {site: [b for b, r in results.items() if r == "ok"] for site, results in f.sdpa.items()}
    if not all(working.values()):
        broken = [site for site, ok in working.items() if not ok]
        return Check("sdpa", FAIL, f"no SDPA backend runs SDXL's {', '.join(broken)} attention",
                     "update torch or use --attention math")
    text = "; ".join(f"{site}: {', '.join(ok)}" for site, ok in working.items())
    unet_only = sorted(set(working.get("unet", [])) - set(working.get("vae", [])))
    note = f" ({', '.join(unet_only)} work for the UNet only: --attention scopes them there)" \
        if unet_only else ""
    return Check("sdpa", PASS, f"SDPA backends that run: {text}{note}")


def check_tf32(f: Facts) -> Check:
    t = f.tf32 or {}
    on = t.get("matmul_allow_tf32") or t.get("float32_matmul_precision") != "highest"
    return Check("tf32", PASS, f"float32 matmul TF32 {'on' if on else 'off'}"
                 f" (precision {t.get('float32_matmul_precision')}), cuDNN TF32"
                 f" {'on' if t.get('cudnn_allow_tf32') else 'off'}: recorded in env.tf32")


def unmet(f: Facts) -> list[str]:
    """Each requirement of the stack that the installed versions do not meet (pure)."""
    from packaging.requirements import Requirement

    found = []
    for by, wanted in f.requirements.items():
        for line in wanted:
            req = Requirement(line)
            have = f.versions.get(canonical(req.name))
            if have is None:
                found.append(f"{by} needs {line}: not installed")
            elif not req.specifier.contains(have, prereleases=True):
                found.append(f"{by} needs {line}: {have} is installed")
    return found


def check_versions(f: Facts) -> Check:
    if not f.versions:
        return Check("versions", WARN, "installed versions not read (no packaging module?)",
                     "pip install packaging")
    problems = [f"{name} is not installed: run and determinism cannot start" for name in STACK
                if f.versions.get(name) is None] + unmet(f)
    if problems:
        return Check("versions", FAIL, "; ".join(problems),
                     "install the versions named (where there is no network, carry them:"
                     " benchmarks/gpu_wheels.sh NAME==VERSION, see docs/gpu.md)")
    shown = ", ".join(f"{name} {f.versions[name]}" for name in STACK[:3])
    checked = ", ".join(by.split()[0] for by in f.requirements)
    if f.versions.get("sdxl-bench") is None:
        return Check("versions", WARN, f"{shown}; sdxl-bench is not installed (run from a"
                     f" checkout), so its own requirements were not checked; those of {checked} are met",
                     "pip install -e . (offline: carry its wheel, benchmarks/gpu_wheels.sh)")
    return Check("versions", PASS, f"{shown}: every requirement of {checked} met")


CHECKS = (check_cuda, check_versions, check_nvml, check_process_memory, check_energy, check_clocks,
          check_persistence, check_other_processes, check_mig, check_governor, check_load,
          check_sdpa, check_tf32)


def judge(facts: Facts) -> list[Check]:
    """Every check over the gathered facts (pure)."""
    return [check(facts) for check in CHECKS]


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.level == FAIL for c in checks) else 0
