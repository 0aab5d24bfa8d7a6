"""The determinism checks, run against real pipeline calls.

Every check builds fresh generators for every call (``PreparedCall.fresh_generators``)
except the shared-generator check, which builds the pitfall on purpose. Each returns a
``CheckResult`` with the measured difference and the tolerance it was judged against.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bench.determinism.pixels import bit_identical, default_tolerance, max_abs_diff, psnr_db
from bench.determinism.single import ImageSource, image_sources, single_call
from bench.determinism.verdicts import ERROR, FAIL, INFO, NOT_APPLICABLE, PASS, CheckResult
from bench.measure.config import PreparedCall, prepare_call
from bench.measure.generators import generator_device, make_generators
from bench.measure.images import content_hash, has_nan, is_black
from bench.measure.oom import release_memory
from bench.plan.sweep import Config


def _worst_psnr(pairs) -> float:
    return min((psnr_db(a, b) for a, b in pairs), default=math.inf)


def _positions(indices: list[int]) -> str:
    return ", ".join(str(i) for i in indices) if indices else "none"


@dataclass
class CheckSession:
    """The pipelines and inputs, plus the images made alone (cached by source).

    ``pipes`` is loaded ``Pipelines`` or a ``PipelineGroups`` (one group per dtype and
    optimizations of the sweep, built when a config needs it).
    """

    pipes: object
    prompts: tuple[str, ...]
    input_images: tuple  # PIL images for img2img, empty for text2img
    tolerance: float | None = None  # None: by each config's dtype (``default_tolerance``)
    on_images: Callable[[Config, object], dict] | None = None  # e.g. ImageSaver.record_fields
    _alone: dict = field(default_factory=dict)

    def sources(self, config: Config) -> list[ImageSource]:
        return image_sources(config, len(self.prompts), len(self.input_images))

    def pipes_for(self, config: Config):
        for_config = getattr(self.pipes, "for_config", None)
        return for_config(config) if for_config else self.pipes

    def alone(self, config: Config, source: ImageSource):
        """The image for (prompt, input image, seed) made in a call of its own."""
        key = (config.task, config.dtype, config.optimizations, config.num_inference_steps,
               config.height, config.width, config.guidance_scale, config.strength,
               config.generator_device, source.prompt_index, source.input_image_index, source.seed)
        if key not in self._alone:
            image = None
            if source.input_image_index is not None:
                image = self.input_images[source.input_image_index]
            call = single_call(self.pipes_for(config), config, self.prompts[source.prompt_index],
                               image, source.seed)
            self._alone[key] = call(call.fresh_generators())[0]
        return self._alone[key]

    def check_config(self, config: Config, run_wide: bool = False) -> list[CheckResult]:
        """All per-config checks; with ``run_wide`` also the generator count and device checks."""
        call = prepare_call(self.pipes_for(config), config, self.prompts, self.input_images)
        results = []
        if run_wide:
            count_result, first = check_generator_count(call)
            results.append(count_result)
        else:
            first = call(call.fresh_generators())
        second = call(call.fresh_generators())
        saved = self.on_images(config, first) if self.on_images else {}
        checked = [first, second]
        results.append(check_repeatability(config, first, second, list(call.inputs.prompt_indices),
                                           saved))
        invariance, references = self.check_batch_invariance(config, first)
        results.append(invariance)
        checked.append(references)
        shared_result, shared = check_shared_generator(call, first, self.tolerance_for(config))
        results.append(shared_result)
        checked.append(shared)
        if run_wide:
            device_result, other = check_generator_device(call, first)
            results.append(device_result)
            checked.append(other)
        results.append(check_image_sanity(config, checked))
        return results

    def tolerance_for(self, config: Config) -> float:
        return self.tolerance if self.tolerance is not None else default_tolerance(config.dtype)

    def check_batch_invariance(self, config: Config, batched) -> tuple[CheckResult, list]:
        tolerance = self.tolerance_for(config)
        if config.images_per_call == 1:
            return CheckResult(
                "batch-invariance", NOT_APPLICABLE, "one image per call: this is the single layout",
                config, tolerance=tolerance,
            ), []
        sources = self.sources(config)
        references = [self.alone(config, source) for source in sources]
        diffs = [max_abs_diff(b, r) for b, r in zip(batched, references, strict=True)]
        exact = sum(bit_identical(b, r) for b, r in zip(batched, references, strict=True))
        worst = max(diffs)
        over = [i for i, d in enumerate(diffs) if d > tolerance]
        verdict = FAIL if over else PASS
        detail = f"{len(diffs) - len(over)}/{len(diffs)} within tolerance of alone ({exact} bit-identical)"
        if over:
            detail += f"; beyond it: images {_positions(over)}"
        return CheckResult(
            "batch-invariance", verdict, detail, config, worst,
            _worst_psnr(zip(batched, references, strict=True)), tolerance,
            {"per_image_max_abs_diff": diffs,
             "reference_sha256": [content_hash(r) for r in references]},
        ), references


def check_repeatability(config: Config, first, second, prompt_indices: list[int],
                        saved: dict | None = None) -> CheckResult:
    """The identical call twice with fresh generators must give bit-identical images."""
    same = [bit_identical(a, b) for a, b in zip(first, second, strict=True)]
    worst = max((max_abs_diff(a, b) for a, b in zip(first, second, strict=True)), default=0.0)
    differing = [i for i, s in enumerate(same) if not s]
    if differing:
        verdict = FAIL
        detail = f"NOT repeatable: images {_positions(differing)} of {len(same)} changed"
    else:
        verdict = PASS
        detail = f"{len(same)}/{len(same)} bit-identical"
    return CheckResult(
        "repeatability", verdict, detail, config, worst, _worst_psnr(zip(first, second, strict=True)), 0.0,
        {"image_sha256": [content_hash(a) for a in first],
         "repeat_sha256": [content_hash(b) for b in second],
         "prompt_indices": prompt_indices, **(saved or {})},
    )


PINNED_GLOBAL_SEED = 20261205  # torch's global RNG, pinned for both shared-generator calls


def _with_global_rng_pinned(call: PreparedCall, generators: list):
    """One call with torch's global RNG seeded the same every time and restored after:
    only the generators passed in can then make two calls differ."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(PINNED_GLOBAL_SEED)
        return call(generators)


def check_shared_generator(call: PreparedCall, per_seed, tolerance: float) -> tuple[CheckResult, list]:
    """``[generator] * n`` against one generator per image: the pitfall, shown on real calls.

    Both calls run with torch's global RNG pinned to the same seed, so a pipeline that
    ignores the generators (drawing its noise from the global RNG or its own) makes the
    same images twice and is reported as "generators ignored" — without the pin its
    images would differ anyway and look like the pitfall shown. ``per_seed`` (the config's
    first call, global RNG not pinned) only tells whether the images follow the global RNG.
    """
    config = call.config
    n = config.images_per_call
    if n == 1:
        return CheckResult("shared-generator", NOT_APPLICABLE, "one image per call: nothing to share",
                           config, tolerance=tolerance), []
    device = generator_device(config.generator_device, config.device)
    shared_generator = make_generators([config.seed], device)[0]
    shared = _with_global_rng_pinned(call, [shared_generator] * n)
    pinned = _with_global_rng_pinned(call, call.fresh_generators())
    diffs = [max_abs_diff(a, b) for a, b in zip(pinned, shared, strict=True)]
    changed = [i for i, d in enumerate(diffs) if d > tolerance]
    follows_global = any(max_abs_diff(a, b) > tolerance
                         for a, b in zip(pinned, per_seed, strict=True))
    if changed:
        verdict, outcome = PASS, "pitfall-shown"
        detail = f"pitfall shown: [generator] * {n} changed images {_positions(changed)}"
    else:
        verdict, outcome = FAIL, "generators-ignored"
        detail = (f"generators ignored: [generator] * {n} and one generator per image made the"
                  " same images with torch's global RNG pinned, so the pipeline does not draw"
                  " its noise from the generators passed to it and a seed does not fix an image"
                  + ("; its images follow torch's global RNG instead" if follows_global else ""))
    return CheckResult(
        "shared-generator", verdict, detail, config, max(diffs[1:]),
        _worst_psnr(zip(pinned, shared, strict=True)), tolerance,
        {"outcome": outcome, "per_image_max_abs_diff": diffs,
         "follows_global_rng": follows_global,
         "shared_sha256": [content_hash(s) for s in shared]},
    ), list(shared)


def check_generator_device(call: PreparedCall, first) -> tuple[CheckResult, list]:
    """CPU-seeded against device-seeded generators (CUDA only): recorded, not judged."""
    config = call.config
    if not config.device.startswith("cuda"):
        return CheckResult(
            "generator-device", NOT_APPLICABLE,
            f"not applicable on {config.device}",
            config, extra={"generator_device": config.generator_device},
        ), []
    other = "device" if config.generator_device == "cpu" else "cpu"
    other_call = replace(call, config=replace(config, generator_device=other))
    images = other_call(other_call.fresh_generators())
    diffs = [max_abs_diff(a, b) for a, b in zip(first, images, strict=True)]
    same = all(bit_identical(a, b) for a, b in zip(first, images, strict=True))
    detail = f"cpu vs {config.device} generators: " + ("identical images" if same else "different images")
    return CheckResult(
        "generator-device", INFO, detail, config, max(diffs),
        _worst_psnr(zip(first, images, strict=True)), None,
        {"generator_device": config.generator_device, "compared_with": other,
         "other_sha256": [content_hash(i) for i in images]},
    ), list(images)


class _CountingPipe:
    """Passes calls through to the pipeline and counts them, to see whether one happened."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        return self.pipe(**kwargs)


def check_generator_count(call: PreparedCall) -> tuple[CheckResult, object]:
    """A list of the wrong length is refused before diffusers is called, naming both numbers.

    The same counting wrapper then makes the config's first real call, so the check also
    shows that it would have seen a call that slipped through. Returns that call's images.
    """
    config = call.config
    counter = _CountingPipe(call.pipe)
    counted = replace(call, pipe=counter)
    expected = config.images_per_call
    wrong = expected + 1
    try:
        counted(make_generators(range(wrong), "cpu"))
        message = None
    except ValueError as exc:
        message = str(exc)
    refused_early = message is not None and counter.calls == 0
    named = message is not None and all(
        re.search(rf"\b{number}\b", message) for number in (wrong, expected)
    )
    images = counted(call.fresh_generators())
    seen = counter.calls == 1
    if refused_early and named and seen:
        verdict, detail = PASS, f"{wrong} generators for {expected} images: refused, pipeline not called"
    elif message is None:
        verdict, detail = FAIL, f"{wrong} generators for {expected} images were not refused"
    elif not refused_early:
        verdict, detail = FAIL, f"refused only after the pipeline ran ({counter.calls - 1} calls)"
    elif not named:
        verdict, detail = FAIL, f"the refusal does not name {wrong} and {expected}: {message!r}"
    else:
        verdict, detail = FAIL, "the counting wrapper missed a real call: the check cannot see calls"
    return CheckResult("generator-count", verdict, detail, config,
                       extra={"message": message, "pipeline_calls_before_refusal": 0
                              if refused_early else counter.calls}), images


def check_image_sanity(config: Config, batches: list) -> CheckResult:
    """Every checked image: no NaN, not all black (the fp16 VAE overflow symptoms)."""
    images = [image for batch in batches for image in batch]
    nan = sum(has_nan(image) for image in images)
    black = sum(is_black(image) for image in images)
    verdict = FAIL if nan or black else PASS
    detail = f"{len(images)} images: {nan} with NaN, {black} all black"
    return CheckResult("image-sanity", verdict, detail, config,
                       extra={"checked_images": len(images), "nan_images": nan, "black_images": black})


@dataclass
class CheckExecutor:
    """Executor for the sweep loop: every check of one config, one record per check."""

    checks: CheckSession
    strict: bool
    results: list = field(default_factory=list)
    run_wide: bool = True  # the run-wide checks go with the first config

    def __call__(self, plan, config) -> list[dict]:
        try:
            results = self.checks.check_config(config, run_wide=self.run_wide)
            self.run_wide = False
        except Exception as exc:  # one failing config must not lose the others
            results = [CheckResult("run", ERROR, f"{type(exc).__name__}: {exc}", config)]
            release_memory(config.device)
        self.results.extend(results)
        return [result.record(strict=self.strict) for result in results]
