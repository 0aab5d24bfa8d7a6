"""Trackers and derivations for the distance to the limit: clocks/throttling, compile events,
latency clock check, memory-sampler cost, peak table, MFU, matmul probe."""

from __future__ import annotations

import time

import pytest
import torch

from bench.measure.hardware import peak_tflops, probe_matmul
from bench.measure.limits import limit_fields
from bench.measure.trackers.clocks import ClockTracker
from bench.measure.trackers.compile import CompileTracker
from bench.measure.trackers.latency import LatencyTracker
from bench.measure.trackers.memory import Sampler, current_rss
from bench.plan.models import resolve_model
from bench.plan.request import parse_peak_override
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan
from bench.result import ConfigResult, Status


class FakeNvmlClocks:
    """NVML's clock, temperature and clocks-event answers for a GPU this machine lacks."""

    def __init__(self, reasons: int) -> None:
        self.reasons = reasons
        self.clock = 1980

    def sm_clock_mhz(self) -> int:
        self.clock -= 10
        return self.clock

    def max_sm_clock_mhz(self) -> int:
        return 1980

    def temperature_c(self) -> int:
        return 83

    def clock_event_reasons(self) -> int:
        return self.reasons


def sample_clocks(reasons: int) -> dict:
    tracker = ClockTracker("cuda:0", FakeNvmlClocks(reasons), interval_s=0.001)
    with tracker.config(pipe=None):
        time.sleep(0.02)
    return tracker.result()


def test_thermal_throttling_puts_a_warning_in_the_record():
    result = sample_clocks(0x20 | 0x1)  # sw thermal slowdown (+ idle, which is not throttling)
    assert result["gpu_clocks"]["throttled"] is True
    assert "sw_thermal_slowdown" in result["throttle_warning"]
    assert "gpu_idle" not in result["throttle_warning"]


def test_idle_clock_reasons_are_not_throttling():
    result = sample_clocks(0x1)
    assert result["gpu_clocks"]["clock_event_reasons"] == ["gpu_idle"]
    assert result["throttle_warning"] is None


def test_clock_samples_record_range_and_temperature():
    clocks = sample_clocks(0)["gpu_clocks"]
    assert clocks["sm_clock_mhz"]["min"] < clocks["sm_clock_mhz"]["max"] <= 1980
    assert clocks["temperature_c"]["max"] == 83 and clocks["samples"] >= 2


def test_clocks_are_null_on_cpu_with_the_reason():
    tracker = ClockTracker("cpu", None)
    with tracker.config(pipe=None):
        pass
    result = tracker.result()
    assert result["gpu_clocks"] is None and "not a GPU" in result["gpu_clocks_unavailable"]


def test_compile_tracker_times_warmup_and_counts_recompiles_in_timed_calls():
    torch._dynamo.reset()
    fn = torch.compile(lambda x: torch.sin(x) * 2, backend="eager", dynamic=False)
    tracker = CompileTracker("cpu")
    with tracker.warmup():
        fn(torch.ones(3))
    with tracker.call():
        fn(torch.ones(3))  # same shape: cached
    with tracker.call():
        fn(torch.ones(5))  # new shape: recompiled inside a timed call
    result = tracker.result()
    assert len(result["warmup_s"]) == 1 and result["warmup_s"][0] > 0
    assert result["compile"]["compilations"] == 2
    assert result["compile"]["recompilations"] == 1
    assert result["compile"]["compilations_in_timed_calls"] == 1


def test_latency_on_cpu_says_which_clock_and_has_no_event_check():
    tracker = LatencyTracker("cpu")
    with tracker.call():
        time.sleep(0.01)
    result = tracker.result()
    assert result["latency_s"]["median"] >= 0.01
    assert "synchronised" in result["latency_method"]
    assert result["latency_event_check"] is None and result["latency_event_check_unavailable"]


@pytest.mark.gpu
def test_cuda_events_agree_with_the_synchronised_wall_clock():
    tracker = LatencyTracker("cuda:0")
    a = torch.randn(4096, 4096, device="cuda")
    for _ in range(3):
        with tracker.call():
            for _ in range(20):
                a @ a
    check = tracker.result()["latency_event_check"]
    assert check["agree"], check


def test_memory_sampler_measures_its_own_cost():
    sampler = Sampler({"process_rss": current_rss}, interval_s=0.001)
    sampler.start()
    time.sleep(0.05)
    sampler.stop()
    assert sampler.samples >= 5
    assert 0 < sampler.busy_s < sampler.elapsed_s


@pytest.mark.parametrize("name, dtype, peak", [
    ("NVIDIA H100 80GB HBM3", "bfloat16", 989.4),
    ("NVIDIA H100 PCIe", "float16", 756.0),
    ("NVIDIA H200", "bfloat16", 989.4),
    ("NVIDIA A100-SXM4-80GB", "bfloat16", 312.0),
    ("NVIDIA L4", "float16", 121.0),
    ("NVIDIA L40S", "bfloat16", 362.05),
    ("NVIDIA A10G", "float16", 125.0),
    ("NVIDIA GeForce RTX 4090", "bfloat16", 165.2),
    ("NVIDIA H100 80GB HBM3", "float32", 67.0),
])
def test_peak_table_gives_dense_datasheet_figures(name, dtype, peak):
    assert peak_tflops(name, dtype)[0] == peak


def test_unknown_devices_have_no_peak_but_a_reason():
    peak, reason = peak_tflops("CPU: AMD EPYC", "float32")
    assert peak is None and "--peak-tflops" in reason


def test_peak_override_wins_over_the_table():
    override = parse_peak_override("500")
    assert peak_tflops("NVIDIA H100 80GB HBM3", "bfloat16", override) == (500.0, "--peak-tflops")


def test_peak_override_per_dtype_leaves_other_dtypes_to_the_table():
    override = parse_peak_override("float32=40,bfloat16=700")
    assert peak_tflops("NVIDIA H100 80GB HBM3", "bfloat16", override)[0] == 700.0
    assert peak_tflops("NVIDIA H100 80GB HBM3", "float16", override)[0] == 989.4


def result(**fields) -> ConfigResult:
    return ConfigResult.from_record({"type": "config", "status": "ok", **fields})


def test_mfu_is_achieved_over_peak():
    config = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                       SweepOptions(batch_sizes="1")).configs[0]
    fields = limit_fields(config, result(images_per_s=2.0), "NVIDIA H100 80GB HBM3", None)
    assert fields["achieved_tflops"] == pytest.approx(fields["flops_per_image"] * 2.0 / 1e12)
    assert fields["mfu"] == pytest.approx(fields["achieved_tflops"] / 67.0)


def test_compilation_in_timed_calls_is_a_record_warning():
    config = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                       SweepOptions(batch_sizes="1")).configs[0]
    fields = limit_fields(config, result(compile={"compilations_in_timed_calls": 2}), None)
    assert any("2 compilation(s) during timed calls" in w for w in fields["warnings"])


def test_matmul_probe_measures_the_cpu():
    result = probe_matmul("cpu", "float32", size=128, seconds=0.05)
    assert result["tflops"] > 0 and result["calls"] >= 4


@pytest.mark.gpu
def test_matmul_probe_on_the_gpu_stays_under_the_datasheet_peak():
    name = torch.cuda.get_device_name(0)
    peak, _ = peak_tflops(name, "bfloat16")
    result = probe_matmul("cuda:0", "bfloat16", seconds=0.5)
    assert result["tflops"] > 0
    if peak:
        assert result["tflops"] < peak * 1.05


def test_an_impossible_mfu_is_a_record_warning():
    config = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                       SweepOptions(batch_sizes="1")).configs[0]
    tiny_peak = {"float32": 1e-6}  # far below what any call achieves
    fields = limit_fields(config, result(images_per_s=2.0), None, tiny_peak)
    assert fields["mfu"] > 1
    assert any("is impossible" in w and "--peak-tflops" in w for w in fields["warnings"])


def test_a_possible_mfu_is_no_warning():
    config = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"),
                       SweepOptions(batch_sizes="1")).configs[0]
    fields = limit_fields(config, result(images_per_s=2.0), "NVIDIA H100 80GB HBM3", None)
    assert not any("impossible" in w for w in fields["warnings"])


def test_an_in_process_sweep_counts_flops_before_its_first_config(tiny_pipes, monkeypatch):
    """Counted after the first config, the FLOP counter's resident memory would raise the
    RSS peak of every later config only: peak memory would depend on config order."""
    from bench.assemble.pipeline_groups import PipelineGroups
    from bench.execute import executors
    from bench.measure import flops

    plan = make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"), SweepOptions(
        batch_sizes="1", sizes="32,48", steps=2, warmup=0, repeats=1))
    groups = PipelineGroups(plan.model, "cpu")  # holding the session's loaded pipelines
    groups.key, groups.pipes = (plan.configs[0].dtype, plan.configs[0].optimizations), tiny_pipes
    counted_when_measuring = []
    measure = executors.measure_in_process

    def spy(*args, **kwargs):
        counted_when_measuring.append(flops.component_flops.cache_info().currsize)
        return measure(*args, **kwargs)

    monkeypatch.setattr(executors, "measure_in_process", spy)
    flops.component_flops.cache_clear()
    record = executors.InProcess(groups, ())(plan, plan.configs[0])
    assert record.status is Status.OK
    assert counted_when_measuring == [2]  # both image sizes, before the first config ran
