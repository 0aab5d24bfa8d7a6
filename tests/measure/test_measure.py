"""Measurement on the real tiny pipelines: arithmetic, generators, stages, image checks."""

import pytest

from bench.measure.config import default_trackers, measure_config, prepare_call
from bench.measure.nvml import NvmlDevice
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan

SMALL = dict(steps=2, height=32, width=32, warmup=1, repeats=3, device="cpu")


def config_for(scenario="t2i-prompts-x-images", **options):
    plan = make_plan(load_scenario(scenario), resolve_model("tiny"), SweepOptions(**{**SMALL, **options}))
    return plan, plan.configs[0]


def measure(pipes, scenario="t2i-prompts-x-images", images=(), **options):
    plan, config = config_for(scenario, **options)
    call = prepare_call(pipes, config, plan.prompts, images)
    trackers = default_trackers(config, NvmlDevice.open(config.device))
    return measure_config(call, trackers, plan.scenario.check_repeats).to_record()  # as written


@pytest.fixture
def call_spy(tiny_pipes, monkeypatch):
    """Records the generator list of every real pipeline call (the call still runs)."""
    seen = []
    for pipe in (tiny_pipes.text2img, tiny_pipes.img2img):
        cls = type(pipe)
        original = cls.__call__

        def spy(self, *args, _original=original, **kwargs):
            seen.append(kwargs.get("generator"))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__call__", spy)
    return seen


def test_images_per_s_is_images_per_call_over_median_latency(tiny_pipes):
    record = measure(tiny_pipes, batch_sizes="2", images_per_prompt="2")
    assert record["images_per_call"] == 4
    assert record["images_per_s"] == pytest.approx(4 / record["latency_s"]["median"])
    assert record["latency_s"]["n"] == 3 and len(record["latency_s"]["values"]) == 3


def test_every_call_gets_one_fresh_generator_per_image(tiny_pipes, call_spy):
    measure(tiny_pipes, batch_sizes="3", images_per_prompt="2")
    assert len(call_spy) == 1 + 3  # warm-up + repeats
    assert all(len(gens) == 6 for gens in call_spy)
    first_ids = {id(g) for g in call_spy[0]}
    assert all(first_ids.isdisjoint({id(g) for g in gens}) for gens in call_spy[1:])
    assert [g.initial_seed() for g in call_spy[-1]] == [0, 1, 2, 3, 4, 5]


def test_wrong_generator_count_is_refused_before_diffusers_is_called(tiny_pipes, call_spy):
    from bench.measure.generators import make_generators

    plan, config = config_for(batch_sizes="2", images_per_prompt="2")
    call = prepare_call(tiny_pipes, config, plan.prompts, ())
    with pytest.raises(ValueError, match="3 generators for 4 images"):
        call(make_generators([0, 1, 2], "cpu"))
    assert call_spy == []


def test_stage_timings_are_cleared_at_the_start_of_every_call(tiny_pipes):
    record = measure(tiny_pipes, batch_sizes="1", images_per_prompt="1", steps=3)
    stages = record["stages_s"]
    assert record["steps_run_measured"] == 3
    assert stages["denoise_step"]["n"] == 3 * 3  # three steps in each of three calls
    assert stages["denoising"]["n"] == 3 and stages["text_encoding"]["n"] == 3
    for denoising, latency in zip(stages["denoising"]["values"], record["latency_s"]["values"], strict=True):
        assert denoising < latency  # an interval spanning two calls would exceed the call
    assert stages["vae_encode"] is None


def test_img2img_runs_int_steps_times_strength_and_encodes_the_image(tiny_pipes):
    from bench.measure.inputs import default_images

    record = measure(tiny_pipes, "i2i-prompts", images=default_images(3, 32, 32),
                     batch_sizes="2", steps=5, strength=0.5)
    assert record["steps_run"] == 2 and record["steps_run_measured"] == 2
    assert record["stages_s"]["vae_encode"]["n"] == 3


def test_seeded_scenario_verifies_that_repeats_are_bit_identical(tiny_pipes):
    record = measure(tiny_pipes, "t2i-seeded", batch_sizes="2", images_per_prompt="2")
    assert record["repeats_identical"] is True

    assert len(record["image_sha256"]) == 4 and len(set(record["image_sha256"])) == 4

def test_one_timed_call_cannot_claim_identical_repeats(tiny_pipes):
    record = measure(tiny_pipes, "t2i-seeded", batch_sizes="1", images_per_prompt="1", repeats=1)
    assert record["repeats_identical"] is None


def test_same_seed_same_prompt_gives_the_same_image_across_configs(tiny_pipes):
    a = measure(tiny_pipes, batch_sizes="1", images_per_prompt="1", seed=7)
    b = measure(tiny_pipes, batch_sizes="1", images_per_prompt="1", seed=7)
    c = measure(tiny_pipes, batch_sizes="1", images_per_prompt="1", seed=8)
    assert a["image_sha256"] == b["image_sha256"] != c["image_sha256"]


def test_nan_images_are_flagged(tiny_cache):
    import torch

    from bench.assemble.pipelines import load_pipelines

    pipes = load_pipelines(resolve_model("tiny"), "cpu", "float32")
    with torch.no_grad():
        pipes.text2img.vae.decoder.conv_out.bias.fill_(float("nan"))
    record = measure(pipes, batch_sizes="2", images_per_prompt="1", repeats=1)
    assert record["nan_images"] == 2


def test_cpu_memory_is_kept_per_timed_call_after_the_heap_was_trimmed(tiny_pipes):
    record = measure(tiny_pipes, batch_sizes="1", images_per_prompt="1")
    calls = record["peak_memory_per_call_bytes"]
    assert list(calls) == ["process_rss"] and len(calls["process_rss"]) == 3
    assert max(calls["process_rss"]) == record["peak_memory_bytes"]["process_rss"]
    assert record["memory_reset"] == {"malloc_trim": True, "rss_high_water_mark": True}  # glibc Linux


def test_cpu_memory_is_the_process_rss_peak_and_gpu_views_are_null(tiny_pipes):
    record = measure(tiny_pipes, batch_sizes="1", images_per_prompt="1")
    peaks = record["peak_memory_bytes"]
    assert peaks["process_rss"] > 100 * 2**20
    assert peaks["nvml_device_used"] is None and peaks["torch_allocated"] is None
    assert record["energy_j_per_image"] is None
    assert record["energy_unavailable"].startswith("cpu: no GPU energy counter")
