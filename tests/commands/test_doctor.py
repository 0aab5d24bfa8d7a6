"""``sdxl-bench doctor``: verdicts over gathered facts (pure), the facts gathered through a
fake pynvml for MIG, container and old-driver machines, and the CLI on this CPU machine."""

from __future__ import annotations

import json

import pytest
import torch

from bench.measure import doctor
from bench.measure.doctor import FAIL, PASS, WARN, Facts, GpuFacts
from tests.measure import fake_pynvml as fake
from tests.support.cli import run_forked

GPU = "GPU-11111111-2222-3333-4444-555555555555"
MIG = "MIG-bbbbbbbb-cccc-dddd-eeee-ffffffffffff"


def by_name(checks: list) -> dict:
    return {c.name: c for c in checks}


def gathered(monkeypatch, gpus: list, visible: list[str], **nvml) -> Facts:
    """``doctor.gather`` on a machine with these NVML devices and torch-visible UUIDs."""
    fake.install(monkeypatch, gpus, **nvml)
    fake.fake_torch_cuda(monkeypatch, visible)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: None)
    monkeypatch.setattr(doctor, "probe_sdpa", lambda d: {"unet": {"MATH": "ok"}, "vae": {"MATH": "ok"}})
    return doctor.gather("cuda:0")


def test_a_mig_slice_is_a_warning_with_its_fix(monkeypatch):
    slice_ = fake.FakeGpu(MIG, name="NVIDIA H100 80GB HBM3 MIG 1g.10gb", energy_mj=None)
    facts = gathered(monkeypatch, [fake.FakeGpu(GPU, mig_mode=1, mig=[slice_])], [MIG])
    checks = by_name(doctor.judge(facts))
    assert checks["mig"].level == WARN and "nvidia-smi -mig 0" in checks["mig"].fix
    assert checks["energy"].level == WARN


def test_a_container_without_per_process_memory_is_a_warning_with_its_fix(monkeypatch):
    gpu = fake.FakeGpu(GPU, processes=[fake.FakeProcess(pid=4242424, usedGpuMemory=2**30)])
    checks = by_name(doctor.judge(gathered(monkeypatch, [gpu], [GPU])))
    assert checks["process_memory"].level == WARN
    assert "host PIDs" in checks["process_memory"].message and "--pid=host" in checks[
        "process_memory"].fix
    assert checks["other_processes"].level == WARN


def test_a_driver_older_than_torchs_cuda_fails(monkeypatch):
    """torch cu130 on a driver for CUDA 12.4: is_available() False, gpu tests would skip."""
    fake.install(monkeypatch, [fake.FakeGpu(GPU)], driver="550.54.15", cuda_driver=12040)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    checks = doctor.judge(doctor.gather("auto"))
    cuda = by_name(checks)["cuda"]
    assert cuda.level == FAIL and "12.4" in cuda.message and "13.0" in cuda.message
    assert "driver" in cuda.fix and doctor.exit_code(checks) == 1


def test_a_healthy_gpu_passes_the_gpu_checks(monkeypatch):
    facts = gathered(monkeypatch, [fake.FakeGpu(GPU, processes=[])], [GPU])
    facts.cuda_available, facts.torch_cuda = True, "12.8"
    checks = by_name(doctor.judge(facts))
    for name in ("cuda", "nvml", "energy", "clocks", "persistence", "other_processes", "mig", "sdpa"):
        assert checks[name].level == PASS, checks[name]


def test_asking_for_cuda_where_there_is_none_fails():
    facts = Facts(device="cuda:0", torch_version="2.14", torch_cuda="13.0", cuda_available=False)
    assert doctor.check_cuda(facts).level == FAIL


def test_a_lowered_power_limit_is_a_warning():
    facts = Facts(device="cuda:0", gpu=GpuFacts(power_limit_w=500.0, default_power_limit_w=700.0))
    check = doctor.check_clocks(facts)
    assert check.level == WARN and "nvidia-smi -pl 700" in check.fix


def test_power_cap_alone_is_not_a_clock_warning():
    facts = Facts(device="cuda:0", gpu=GpuFacts(clock_event_reasons=fake.SW_POWER_CAP))
    assert doctor.check_clocks(facts).level == PASS


def test_no_sdpa_kernel_for_the_vae_fails():
    facts = Facts(device="cuda:0", sdpa={"unet": {"FLASH_ATTENTION": "ok"},
                                         "vae": {"FLASH_ATTENTION": "No available kernel"}})
    assert doctor.check_sdpa(facts).level == FAIL


def test_a_non_performance_governor_is_a_warning():
    check = doctor.check_governor(Facts(device="cpu", governor="powersave"))
    assert check.level == WARN and "cpupower" in check.fix


def test_doctor_on_this_cpu_machine_warns_honestly_and_exits_0():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = run_forked("doctor", timeout=120)
    assert done.code == 0, done.err
    lines = [line for line in done.out.splitlines() if not line.startswith(" ")]
    assert all(line.split()[0] in (PASS, WARN) for line in lines)
    assert any(line.startswith("WARN  nvml") for line in lines)


def test_doctor_json_has_facts_and_checks():
    done = run_forked("doctor", "--json", "--device", "cpu", timeout=120)
    payload = json.loads(done.out)
    assert payload["facts"]["device"] == "cpu" and payload["exit_code"] == done.code
    assert {c["level"] for c in payload["checks"]} <= {PASS, WARN, FAIL}


def test_doctor_with_a_bad_device_is_one_line_and_exit_2():
    done = run_forked("doctor", "--device", "gpu7", timeout=120)
    assert done.code == 2 and len(done.err.strip().splitlines()) == 1


def installed(**versions: str | None) -> dict[str, str | None]:
    """The measuring stack installed, with these versions instead."""
    return {"sdxl-bench": "0.1.0", "torch": "2.11.0+cu130", "diffusers": "0.42.1",
            "transformers": "5.17.0", "accelerate": "1.15.0", **versions}


def test_a_carried_diffusers_that_needs_a_newer_hub_than_installed_fails_naming_both():
    """Carried wheels are installed with --no-deps: pip checked nothing on the GPU machine."""
    facts = Facts(device="cuda:0", versions=installed(**{"huggingface-hub": "1.20.0"}),
                  requirements={"diffusers 0.42.1": ["huggingface-hub<3.0,>=1.32.0"]})
    check = doctor.check_versions(facts)
    assert check.level == FAIL and check.message == \
        "diffusers 0.42.1 needs huggingface-hub<3.0,>=1.32.0: 1.20.0 is installed"
    assert "gpu_wheels.sh" in check.fix


def test_a_missing_requirement_of_the_stack_fails():
    facts = Facts(device="cpu", versions=installed(**{"importlib-metadata": None}),
                  requirements={"diffusers 0.42.1": ["importlib-metadata"]})
    check = doctor.check_versions(facts)
    assert check.level == FAIL and "importlib-metadata: not installed" in check.message


def test_a_missing_diffusers_fails_even_where_nothing_declares_it():
    """Run from a checkout, with no carried wheels: no installed metadata asks for diffusers."""
    facts = Facts(device="cuda:0", versions=installed(diffusers=None, **{"sdxl-bench": None}))
    check = doctor.check_versions(facts)
    assert check.level == FAIL and check.message == \
        "diffusers is not installed: run and determinism cannot start"


def test_an_uninstalled_sdxl_bench_is_a_warning_that_its_requirements_went_unchecked():
    facts = Facts(device="cpu", versions=installed(**{"sdxl-bench": None}),
                  requirements={"diffusers 0.42.1": []})
    check = doctor.check_versions(facts)
    assert check.level == WARN and "sdxl-bench is not installed" in check.message


def test_met_requirements_pass_and_name_the_versions():
    facts = Facts(device="cpu", versions=installed(**{"huggingface-hub": "1.33.0"}),
                  requirements={"diffusers 0.42.1": ["huggingface-hub<3.0,>=1.32.0"],
                                "sdxl-bench 0.1.0": ["torch>=2.4"]})
    check = doctor.check_versions(facts)
    assert check.level == PASS and "torch 2.11.0+cu130" in check.message


def test_the_stack_requirements_are_read_with_sdxl_benchs_measure_extra():
    versions, requirements = doctor.gather_versions()
    (mine,) = [wanted for by, wanted in requirements.items() if by.startswith("sdxl-bench ")]
    assert any(line.startswith("torch") for line in mine)  # measure extra: applied
    assert not any(line.startswith("ruff") for line in mine)  # dev extra: not a MATTERS package
    assert torch.__version__.startswith(versions["torch"])  # the distribution: no local part
