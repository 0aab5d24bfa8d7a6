"""pytest-benchmark route: an ``sdxl_bench`` fixture that times one config per test.

For teams whose CI already stores and compares pytest-benchmark results
(``--benchmark-autosave``, ``--benchmark-compare-fail``). Each timed round is one
pipeline call with fresh generators (built in ``setup``, outside the clock), the device
synchronized before the clock stops; ``benchmark.pedantic`` gives explicit warm-up
rounds, since ``benchmark(fn)`` on a multi-second call warms nothing up.
Loaded through the ``pytest11`` entry point ``sdxl_bench``; imports torch only when a
test uses the fixture.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

ARRAY_COPY_WARNING = "__array__ implementation doesn't accept a copy keyword"

# Pipelines are expensive to load: one group per (model, device) per pytest process,
# reloaded only when a test asks for another dtype.
_PIPELINES: dict[tuple[str, str], Any] = {}


def plan_one_config(
    scenario: str = "t2i-prompts",
    model: str = "tiny",
    batch_size: int = 1,
    num_images_per_prompt: int = 1,
    device: str = "cpu",
    **options: Any,
):
    """The plan of exactly one config (one batch size, one images-per-prompt value),
    validated like ``sdxl-bench run`` flags: a bad value raises ``UsageError``."""
    import dataclasses

    from bench.errors import UsageError
    from bench.execute.session import prepare_plan
    from bench.plan.request import SweepRequest
    from bench.plan.sweep import SweepOptions

    allowed = {f.name for f in dataclasses.fields(SweepOptions)} - {
        "batch_sizes", "images_per_prompt", "device"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        valid = sorted(allowed | {"scenario", "model", "batch_size", "num_images_per_prompt",
                                  "device", "warmup_rounds", "rounds"})
        raise UsageError(f"sdxl_bench(): unknown keyword {unknown[0]!r}; valid keywords:"
                         f" {', '.join(valid)}")
    return prepare_plan(SweepRequest(
        scenario=scenario,
        model=model,
        options=SweepOptions(
            batch_sizes=(batch_size,),
            images_per_prompt=(num_images_per_prompt,),
            device=device,
            **options,
        ),
    ))


class SdxlBench:
    """Callable behind the fixture: ``sdxl_bench(batch_size=2, ...)`` → extra_info dict."""

    def __init__(self, benchmark) -> None:
        self.benchmark = benchmark

    def __call__(
        self,
        scenario: str = "t2i-prompts",
        model: str = "tiny",
        batch_size: int = 1,
        num_images_per_prompt: int = 1,
        device: str = "auto",
        dtype: str = "float32",
        warmup_rounds: int = 1,
        rounds: int = 5,
        **options: Any,
    ) -> dict:
        from bench.assemble.pipeline_groups import PipelineGroups
        from bench.execute.session import open_session
        from bench.measure.config import prepare_call
        from bench.measure.device import resolve_device, synchronize
        from bench.measure.trackers.memory import MemoryTracker

        device = resolve_device(device)
        plan = plan_one_config(
            scenario, model, batch_size, num_images_per_prompt, device, dtype=dtype, **options
        )
        config = plan.configs[0]
        key = (plan.model.name, device)
        groups = _PIPELINES.setdefault(key, PipelineGroups(plan.model, device))
        session = open_session(plan, pipes=groups)
        call = prepare_call(session.pipes.for_config(config), config, plan.prompts, session.images)

        def one_call(generators):
            call(generators)
            synchronize(device)

        memory = MemoryTracker(device, session.nvml_device)
        with memory.config(call.pipe), warnings.catch_warnings():
            # diffusers' schedulers call np.array on tensors: under numpy 2 each call warns,
            # which is not the user's code and would fill their test summary.
            warnings.filterwarnings("ignore", message=ARRAY_COPY_WARNING, category=DeprecationWarning)
            self.benchmark.pedantic(
                one_call,
                setup=lambda: ((call.fresh_generators(),), {}),
                warmup_rounds=warmup_rounds,
                rounds=rounds,
                iterations=1,
            )
        stats = getattr(self.benchmark, "stats", None)  # None under --benchmark-disable
        median = stats.stats.median if stats else None
        info = {
            "config_id": config.config_id,
            "model": config.model,
            "device": config.device,
            "dtype": config.dtype,
            "batch_size": config.batch_size,
            "num_images_per_prompt": config.num_images_per_prompt,
            "images_per_call": config.images_per_call,
            "num_inference_steps": config.num_inference_steps,
            "height": config.height,
            "width": config.width,
            "images_per_s": config.images_per_call / median if median else None,
            **memory.result(),
        }
        self.benchmark.extra_info.update(info)
        return info


@pytest.fixture
def sdxl_bench(benchmark) -> SdxlBench:
    """Time one SDXL config with pytest-benchmark: ``sdxl_bench(batch_size=2, rounds=8)``."""
    return SdxlBench(benchmark)


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config, machine_info: dict) -> None:
    """GPU and library versions next to pytest-benchmark's CPU info (imports torch)."""
    from bench.measure.device import resolve_device
    from bench.measure.environment import collect
    from bench.store.schema import ENVIRONMENT_FIELDS

    env = collect(resolve_device("auto"))
    machine_info["sdxl_bench"] = {name: env.get(name) for name in ENVIRONMENT_FIELDS}
