"""The NVML and CUDA paths for real; skipped (with the reason) where there is no GPU."""

import pytest

from tests.measure.test_measure import measure

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda_pipes(tiny_cache):
    from bench.build.pipelines import load_pipelines
    from bench.plan.models import resolve_model

    return load_pipelines(resolve_model("tiny"), "cuda:0", "float16")


def test_every_memory_view_is_measured_on_cuda(cuda_pipes):
    record = measure(cuda_pipes, batch_sizes="2", images_per_prompt="2", device="cuda:0",
                     dtype="float16")
    peaks = record["peak_memory_bytes"]
    assert peaks["torch_allocated"] > 0 and peaks["torch_reserved"] >= peaks["torch_allocated"]
    assert peaks["nvml_device_used"] >= peaks["torch_reserved"]
    assert record["device_memory_bytes"] > peaks["nvml_device_used"]
    assert record["memory_sampler"]["mean_interval_s"] <= 0.010


def test_peak_memory_is_reset_between_configs(cuda_pipes):
    big = measure(cuda_pipes, batch_sizes="8", images_per_prompt="2", device="cuda:0")
    small = measure(cuda_pipes, batch_sizes="1", images_per_prompt="1", device="cuda:0")
    assert small["peak_memory_bytes"]["torch_allocated"] < big["peak_memory_bytes"]["torch_allocated"]


def test_cuda_stage_timings_fit_inside_the_call(cuda_pipes):
    record = measure(cuda_pipes, batch_sizes="1", images_per_prompt="1", device="cuda:0")
    for denoising, latency in zip(record["stages_s"]["denoising"]["values"],
                                  record["latency_s"]["values"], strict=True):
        assert 0 < denoising < latency


def test_energy_is_read_from_nvml_on_cuda(cuda_pipes):
    record = measure(cuda_pipes, batch_sizes="2", images_per_prompt="1", device="cuda:0",
                     repeats=5)
    assert record["energy_j_per_image"] is None or record["energy_j_per_image"] > 0
