"""The determinism checks on real tiny-preset pipeline calls (in process, pipelines loaded once)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from bench.determinism.checks import (
    CheckSession,
    check_generator_count,
    check_generator_device,
    check_shared_generator,
)
from bench.determinism.pixels import DEFAULT_TOLERANCE, bit_identical
from bench.measure.config import PreparedCall, prepare_call
from bench.measure.generators import make_generators
from bench.plan.scenario import DEFAULT_PROMPTS
from bench.plan.sweep import Config

PROMPTS = DEFAULT_PROMPTS[:2]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: on a shared 2-core machine extra threads only contend."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(batch_size: int, n: int, **changes) -> Config:
    fields = dict(
        scenario="t", task="text2img", model="tiny", device="cpu", dtype="float32",
        batch_size=batch_size, num_images_per_prompt=n, num_inference_steps=2, height=32,
        width=32, guidance_scale=5.0, strength=None, seed=0, generator_device="cpu", warmup=0,
        repeats=1,
    )
    return Config(**{**fields, **changes})


class RecordingPipe:
    """Counts the pipeline calls that reach it and forwards them."""

    def __init__(self, pipe) -> None:
        self.pipe, self.calls = pipe, 0

    def __call__(self, **kwargs):
        self.calls += 1
        return self.pipe(**kwargs)


def test_wrong_generator_count_is_refused_before_the_pipeline_is_called(tiny_pipes):
    call = prepare_call(tiny_pipes, tiny_config(2, 2), PROMPTS, ())
    recording = RecordingPipe(call.pipe)
    with pytest.raises(ValueError, match=r"3 generators for 4 images") as refused:
        replace(call, pipe=recording)(make_generators([0, 1, 2], "cpu"))
    assert recording.calls == 0
    assert "batch_size 2" in str(refused.value) and "num_images_per_prompt 2" in str(refused.value)


def test_generator_count_check_passes_on_the_harness_call(tiny_pipes):
    call = prepare_call(tiny_pipes, tiny_config(1, 2), PROMPTS, ())
    result, images = check_generator_count(call)
    assert result.verdict == "pass", result.detail
    assert len(images) == 2


@dataclass(frozen=True)
class UncheckedCall(PreparedCall):
    """A call that forgets the count check: what the generator-count check must catch."""

    def __call__(self, generators, **extra):
        return self.pipe(**self.kwargs, generator=generators, **extra).images


def test_generator_count_check_fails_when_the_refusal_is_missing(tiny_pipes):
    call = prepare_call(tiny_pipes, tiny_config(1, 2), PROMPTS, ())
    unchecked = UncheckedCall(call.pipe, call.config, call.inputs, call.kwargs)
    result, _ = check_generator_count(unchecked)
    assert result.verdict == "fail"


def test_shared_generator_changes_every_image_after_the_first(tiny_pipes):
    call = prepare_call(tiny_pipes, tiny_config(2, 2), PROMPTS, ())
    per_seed = call(call.fresh_generators())
    result, shared = check_shared_generator(call, per_seed, DEFAULT_TOLERANCE)
    assert result.verdict == "pass"
    diffs = result.extra["per_image_max_abs_diff"]
    assert diffs[0] <= DEFAULT_TOLERANCE  # the first draw of seed 0 is the same either way
    assert all(d > 0.05 for d in diffs[1:]), diffs
    assert "pitfall shown" in result.detail and result.extra["outcome"] == "pitfall-shown"


def test_shared_generator_check_fails_if_generators_do_not_reach_the_noise(tiny_pipes):
    call = prepare_call(tiny_pipes, tiny_config(1, 2), PROMPTS, ())
    per_seed = call(call.fresh_generators())
    ignoring = replace(call, pipe=lambda generator, **kw: call.pipe(
        **kw, generator=make_generators(call.config.seeds, "cpu")))
    result, _ = check_shared_generator(ignoring, per_seed, DEFAULT_TOLERANCE)
    assert result.verdict == "fail"


def generator_ignoring_pipeline(pipe):
    """A real SDXL pipeline that drops the ``generator`` argument, as some community and
    wrapper pipelines do: its noise then comes from torch's global RNG."""
    from diffusers import StableDiffusionXLPipeline

    class GeneratorIgnoringPipeline(StableDiffusionXLPipeline):
        def __call__(self, *args, generator=None, **kwargs):
            return super().__call__(*args, **kwargs)

    ignoring = GeneratorIgnoringPipeline(**pipe.components)
    ignoring.set_progress_bar_config(disable=True)
    return ignoring


def test_shared_generator_check_says_generators_are_ignored_by_a_pipeline_that_drops_them(tiny_pipes):
    call = prepare_call(tiny_pipes, tiny_config(1, 2), PROMPTS, ())
    ignoring = replace(call, pipe=generator_ignoring_pipeline(call.pipe))
    per_seed = ignoring(ignoring.fresh_generators())
    result, _ = check_shared_generator(ignoring, per_seed, DEFAULT_TOLERANCE)
    assert result.verdict == "fail", result.detail
    assert result.detail.startswith("generators ignored") and "pitfall" not in result.detail
    assert result.extra["outcome"] == "generators-ignored"
    assert result.extra["follows_global_rng"] is True


def test_batched_images_match_images_made_alone_within_the_default_tolerance(tiny_pipes):
    session = CheckSession(tiny_pipes, PROMPTS, ())
    config = tiny_config(2, 2)
    call = prepare_call(tiny_pipes, config, PROMPTS, ())
    result, references = session.check_batch_invariance(config, call(call.fresh_generators()))
    assert result.verdict == "pass", result.detail
    assert len(references) == 4
    assert result.max_abs_diff < 1e-4  # CPU float32: ~1e-6, far below one 8-bit level


def test_batch_invariance_fails_when_the_batch_has_other_seeds(tiny_pipes):
    session = CheckSession(tiny_pipes, PROMPTS, ())
    config = tiny_config(2, 1)
    other_seeds = prepare_call(tiny_pipes, replace(config, seed=100), PROMPTS, ())
    result, _ = session.check_batch_invariance(config, other_seeds(other_seeds.fresh_generators()))
    assert result.verdict == "fail"


def test_repeatability_holds_for_identical_calls_on_tiny(tiny_pipes):
    results = CheckSession(tiny_pipes, PROMPTS, ()).check_config(tiny_config(2, 1))
    repeat = next(r for r in results if r.check == "repeatability")
    assert repeat.verdict == "pass" and repeat.max_abs_diff == 0.0
    assert len(repeat.extra["image_sha256"]) == 2


def test_generator_device_is_not_applicable_on_cpu(tiny_pipes):
    call = prepare_call(tiny_pipes, tiny_config(1, 1), PROMPTS, ())
    result, _ = check_generator_device(call, call(call.fresh_generators()))
    assert result.verdict == "n/a" and "not applicable on cpu" in result.detail


@pytest.mark.gpu
def test_generator_device_compares_cpu_and_cuda_generators_on_cuda():
    from bench.assemble.pipelines import load_pipelines, quiet_libraries
    from bench.plan.models import resolve_model

    quiet_libraries()
    pipes = load_pipelines(resolve_model("tiny"), "cuda:0", "float32")
    call = prepare_call(pipes, tiny_config(1, 2, device="cuda:0"), PROMPTS, ())
    first = call(call.fresh_generators())
    result, other = check_generator_device(call, first)
    assert result.verdict == "info"
    assert result.extra["compared_with"] == "device"
    assert not all(bit_identical(a, b) for a, b in zip(first, other, strict=True))
    assert np.isfinite(result.max_abs_diff)
