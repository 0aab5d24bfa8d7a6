"""The NVML and CUDA paths for real; skipped (with the reason) where there is no GPU."""

import pytest

from tests.measure.test_measure import measure

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda_pipes(tiny_cache):
    from bench.assemble.pipelines import load_pipelines
    from bench.plan.models import resolve_model

    return load_pipelines(resolve_model("tiny"), "cuda:0", "float16")


def test_every_memory_view_is_measured_on_cuda(cuda_pipes):
    record = measure(cuda_pipes, batch_sizes="2", images_per_prompt="2", device="cuda:0",
                     dtype="float16")
    peaks = record["peak_memory_bytes"]
    assert peaks["torch_allocated"] > 0 and peaks["torch_reserved"] >= peaks["torch_allocated"]
    assert peaks["nvml_device_used"] >= peaks["torch_reserved"]
    assert record["device_memory_bytes"] > peaks["nvml_device_used"]


def test_the_memory_sampler_keeps_sampling_while_the_host_thread_launches_kernels(cuda_pipes):
    """The tiny model is launch-bound: the main thread holds the GIL most of the time, so
    the 5 ms sampler cannot keep its interval exactly; it must still sample throughout
    (a stalled sampler would miss the peak), within a few intervals."""
    record = measure(cuda_pipes, batch_sizes="2", images_per_prompt="1", device="cuda:0",
                     repeats=3)
    sampler = record["memory_sampler"]
    assert sampler["samples"] >= 3
    assert sampler["mean_interval_s"] <= 0.05, sampler


def test_peak_memory_is_reset_between_configs(cuda_pipes):
    big = measure(cuda_pipes, batch_sizes="8", images_per_prompt="2", device="cuda:0")
    small = measure(cuda_pipes, batch_sizes="1", images_per_prompt="1", device="cuda:0")
    assert small["peak_memory_bytes"]["torch_allocated"] < big["peak_memory_bytes"]["torch_allocated"]


def test_every_timed_call_has_its_own_torch_peak_on_cuda(cuda_pipes):
    """Memory verdicts weigh a change against the per-call spread of the process's own
    views: on CUDA, torch's peaks are reset as each timed call starts."""
    record = measure(cuda_pipes, batch_sizes="2", images_per_prompt="1", device="cuda:0",
                     repeats=3)
    per_call = record["peak_memory_per_call_bytes"]
    for view in ("torch_allocated", "torch_reserved"):
        assert len(per_call[view]) == 3
        assert max(per_call[view]) == record["peak_memory_bytes"][view]


def test_cuda_stage_timings_fit_inside_the_call(cuda_pipes):
    record = measure(cuda_pipes, batch_sizes="1", images_per_prompt="1", device="cuda:0")
    for denoising, latency in zip(record["stages_s"]["denoising"]["values"],
                                  record["latency_s"]["values"], strict=True):
        assert 0 < denoising < latency


def test_energy_is_read_from_nvml_on_cuda(cuda_pipes):
    from bench.measure.nvml import NvmlDevice

    device, reason = NvmlDevice.find("cuda:0")
    if device is None or device.energy_mj() is None:
        pytest.skip(f"no NVML energy counter for cuda:0 ({reason or 'not supported'})")
    record = measure(cuda_pipes, batch_sizes="2", images_per_prompt="1", device="cuda:0",
                     repeats=5)
    assert record["energy_j_per_image"] > 0 and record["avg_power_w"] > 0


def test_a_run_on_the_last_gpu_times_that_gpu(tmp_path):
    """Without set_device, events on cuda:N record on cuda:0's idle stream: the event check
    then disagrees with the wall clock, and a context appears on cuda:0."""
    import torch

    from bench.store.run_file import read_run
    from tests.support.cli import run_subprocess

    last = torch.cuda.device_count() - 1
    if last < 1:
        pytest.skip("needs two GPUs: on one, the current device is the chosen one anyway")
    out = tmp_path / "run.jsonl"
    done = run_subprocess("run", "--device", f"cuda:{last}", "--steps", "4", "--height", "256",
                   "--width", "256", "--batch-sizes", "4", "--images-per-prompt", "1",
                   "--scenario", "t2i-prompts", "--warmup", "1", "--repeats", "3", "--quiet",
                   "--out", str(out))
    assert done.code == 0, done.err[-3000:]
    (record,) = read_run(out).configs
    assert record["device"] == f"cuda:{last}"
    assert record["latency_event_check"]["agree"], record["latency_event_check"]
