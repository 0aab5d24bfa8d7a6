"""CUDA setup at its boundary, with torch.cuda monkeypatched on a machine without a GPU:
current device, rank → device, allocator cache around warm-up, OOM classification, MIG
peaks, environment fields, static compilation."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from bench.execute.distributed.world import World, rank_device
from bench.measure.config import run_timed_calls
from bench.measure.hardware import peak_tflops
from bench.measure.oom import is_out_of_memory
from bench.measure.trackers.compile import CompileTracker
from bench.measure.trackers.memory import MemoryTracker
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan


def tiny_plan(device: str, **options):
    plan = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                     SweepOptions(batch_sizes="1", **options))
    return replace(plan, configs=tuple(replace(c, device=device) for c in plan.configs))


def test_open_session_makes_the_chosen_gpu_current_before_anything_else(monkeypatch):
    """Events record on the current device's stream: cuda:1 must be current."""
    from bench.execute import session as session_module
    from bench.measure import environment
    from bench.measure.nvml import NvmlDevice

    calls: list[str] = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: calls.append(f"set_device {d}"))
    monkeypatch.setattr(environment, "collect",
                        lambda d: calls.append("environment") or {"nvml": {}, "device_name": "x"})
    monkeypatch.setattr(NvmlDevice, "find", classmethod(lambda cls, d: (None, "fake")))
    session = session_module.open_session(tiny_plan("cuda:1"), load=False)
    assert calls == ["set_device cuda:1", "environment"]
    assert session.env["nvml"]["device_unavailable"] == "fake"


def test_open_session_on_cpu_leaves_cuda_alone(monkeypatch):
    from bench.execute import session as session_module

    monkeypatch.setattr(torch.cuda, "set_device", lambda d: pytest.fail("CUDA touched"))
    session_module.select_device("cpu")


def world(local_rank: int, local_size: int = 2) -> World:
    return World(local_rank, local_rank, local_size, local_size, "host")


def test_a_rank_that_sees_one_gpu_takes_cuda_0(monkeypatch):
    """SLURM gives each rank its own CUDA_VISIBLE_DEVICES: LOCAL_RANK 1 sees one GPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert rank_device("cuda", world(1)) == "cuda:0"


def test_ranks_sharing_a_node_take_cuda_local_rank(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert rank_device("cuda", world(3, 4)) == "cuda:3"


class FakeCall:
    """A PreparedCall that only logs that the pipeline ran."""

    def __init__(self, config, log: list[str]) -> None:
        self.config, self.pipe, self.log = config, None, log

    def fresh_generators(self) -> list:
        return []

    def __call__(self, generators: list, **extra: object) -> None:
        self.log.append("call")


def test_the_allocator_cache_is_emptied_before_warm_up_not_before_timed_calls(monkeypatch):
    """Emptying after warm-up makes the first timed call cudaMalloc again."""
    log: list[str] = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: log.append("empty_cache"))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda d=None: log.append("reset"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda d=None: 1)
    monkeypatch.setattr(torch.cuda, "max_memory_reserved", lambda d=None: 2)
    run_timed_calls(FakeCall(SimpleNamespace(device="cuda:0", warmup=1, repeats=2), log),
                    [MemoryTracker("cuda:0", None)])
    first_call = log.index("call")
    assert "empty_cache" in log[:first_call]
    assert "empty_cache" not in log[first_call:]
    assert log[first_call + 1] == "reset"  # timed peaks restart without emptying the cache


@pytest.mark.parametrize("message", [
    "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
    "cuDNN error: CUDNN_STATUS_ALLOC_FAILED",
    "cuDNN error: CUDNN_STATUS_NOT_ENOUGH_WORKSPACE",
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory:"
    " you tried to allocate 107374182400 bytes. Error code 12 (Cannot allocate memory)",
])
def test_library_and_cpu_allocation_failures_are_out_of_memory(message):
    assert is_out_of_memory(RuntimeError(message))


def test_other_cudnn_errors_are_not_out_of_memory():
    assert not is_out_of_memory(RuntimeError("cuDNN error: CUDNN_STATUS_NOT_SUPPORTED"))


def test_a_mig_slice_gets_no_whole_gpu_peak_but_a_reason():
    peak, reason = peak_tflops("NVIDIA H100 80GB HBM3 MIG 1g.10gb", "bfloat16")
    assert peak is None and "MIG" in reason and "--peak-tflops" in reason


def test_environment_names_torch_capacity_apart_from_the_records_nvml_figure():
    from bench.measure.environment import collect

    env = collect("cpu")
    assert "device_total_memory_bytes" in env and "device_memory_bytes" not in env


def test_environment_records_tf32_and_cudnn_settings():
    from bench.measure.environment import collect

    env = collect("cpu")
    assert env["tf32"] == {"matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                           "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
                           "float32_matmul_precision": torch.get_float32_matmul_precision()}
    assert set(env["cudnn"]) == {"version", "enabled", "benchmark", "deterministic"}


def test_compiled_models_use_static_shapes_and_say_so(monkeypatch, tiny_pipes):
    """dynamic=None recompiles the second batch size with symbolic shapes."""
    from bench.assemble.optimize import apply_optimizations
    from bench.plan.optimizations import Optimizations

    seen: list[dict] = []
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: seen.append(kw) or fn)
    unet, decoder = tiny_pipes.text2img.unet, tiny_pipes.text2img.vae.decoder
    try:
        apply_optimizations(Optimizations(compile=True), tiny_pipes)
        recorded = CompileTracker("cpu")
        with recorded.config(tiny_pipes.text2img):
            pass
    finally:
        for module in (unet, decoder):
            module.__dict__.pop("forward", None)
        unet.__dict__.pop("sdxl_bench_compile_options", None)
    assert seen and all(kw.get("dynamic") is False for kw in seen)
    assert recorded.result()["compile"]["options"] == {"dynamic": False}
