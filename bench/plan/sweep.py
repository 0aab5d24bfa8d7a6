"""Planning: scenario + flags → a validated, frozen list of configs. No torch here
(except to ask whether a requested optimization is supported).

Every bad input is rejected here, before any model is loaded, with a one-line
``UsageError`` that names the value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from bench.errors import UsageError
from bench.plan import optimizations as opt
from bench.plan.models import ModelSpec
from bench.plan.optimizations import Optimizations
from bench.plan.scenario import Scenario

DTYPES = ("float32", "float16", "bfloat16")
MAX_SEED = 2**63  # torch generators take 64-bit seeds; run files and numpy want int64
GENERATOR_DEVICES = ("cpu", "device")


def parse_int_list(text: str, flag: str) -> tuple[int, ...]:
    """``"1,2,4"`` → ``(1, 2, 4)``; every item a positive integer, no empties, no repeats."""
    items = text.split(",")
    values = []
    for item in items:
        item = item.strip()
        if not item.isdigit() or int(item) < 1:
            raise UsageError(
                f"{flag} {text!r}: {item!r} is not a positive integer"
                " (expected a comma-separated list such as 1,2,4)"
            )
        values.append(int(item))
    if len(set(values)) != len(values):
        raise UsageError(f"{flag} {text!r}: repeated value (each value once)")
    return tuple(values)


def positive_int(value: int, flag: str) -> int:
    if value < 1:
        raise UsageError(f"{flag} {value}: must be a positive integer")
    return value


@dataclass(frozen=True)
class Config:
    """One point of a sweep: everything needed to make one pipeline call.

    Every field says how run files are matched across runs (``bench.store.schema`` derives
    the key from this, so a field is classified once, here): ``"key"`` identifies the
    workload, ``"unmatched"`` is a call argument outside the key that a comparison reports
    when it differs, ``"neither"`` is neither (device deliberately: the same workload on
    two machines must match).
    """

    scenario: str = field(metadata={"match": "key"})
    task: str = field(metadata={"match": "unmatched"})
    model: str = field(metadata={"match": "key"})
    device: str = field(metadata={"match": "neither"})
    dtype: str = field(metadata={"match": "key"})
    batch_size: int = field(metadata={"match": "key"})
    num_images_per_prompt: int = field(metadata={"match": "key"})
    num_inference_steps: int = field(metadata={"match": "key"})
    height: int = field(metadata={"match": "key"})
    width: int = field(metadata={"match": "key"})
    guidance_scale: float = field(metadata={"match": "unmatched"})
    strength: float | None = field(metadata={"match": "unmatched"})
    seed: int = field(metadata={"match": "unmatched"})
    generator_device: str = field(metadata={"match": "unmatched"})
    warmup: int = field(metadata={"match": "neither"})
    repeats: int = field(metadata={"match": "neither"})  # timed calls, the floor when adaptive
    optimizations: Optimizations = field(default=Optimizations(), metadata={"match": "key"})
    # axes that vary in the sweep, named in the config id
    id_axes: tuple[str, ...] = field(default=(), metadata={"match": "neither"})
    # Adaptive repeats (``StopRule``): None = not asked for. How long and how tight the
    # measurement is, not what is measured, so never part of the key.
    min_time_s: float | None = field(default=None, metadata={"match": "neither"})
    max_time_s: float | None = field(default=None, metadata={"match": "neither"})
    target_uncertainty: float | None = field(default=None, metadata={"match": "neither"})
    max_repeats: int | None = field(default=None, metadata={"match": "neither"})

    @property
    def images_per_call(self) -> int:
        return self.batch_size * self.num_images_per_prompt

    @property
    def steps_run(self) -> int:
        """img2img runs only ``int(steps * strength)`` of the scheduled steps."""
        if self.strength is None:
            return self.num_inference_steps
        return int(self.num_inference_steps * self.strength)

    @property
    def config_id(self) -> str:
        """``scenario/bs2-n4``, plus one fragment per varying axis (``-bfloat16-compile``)."""
        base = f"{self.scenario}/bs{self.batch_size}-n{self.num_images_per_prompt}"
        tokens = {"dtype": self.dtype, "size": f"{self.height}x{self.width}",
                  "steps": f"{self.num_inference_steps}steps"}
        return "-".join([base] + [tokens[a] if a in tokens else self.optimizations.token(a)
                                  for a in self.id_axes])

    @property
    def seeds(self) -> tuple[int, ...]:
        """Image *i* of the call (prompt ``i // n``, copy ``i % n``) gets ``seed + i``."""
        return tuple(self.seed + i for i in range(self.images_per_call))

    def describe(self) -> dict:
        return {
            "config_id": self.config_id,
            **asdict(self),
            "images_per_call": self.images_per_call,
            "steps_run": self.steps_run,
            "seeds": list(self.seeds),
        }


@dataclass(frozen=True)
class Plan:
    scenario: Scenario
    model: ModelSpec
    prompts: tuple[str, ...]
    images: tuple[str, ...]  # paths/URLs; empty → generated defaults
    configs: tuple[Config, ...] = field(default_factory=tuple)
    images_from: str = "--image"  # where ``images`` came from, for messages about them
    rounds: int = 1  # ``--rounds``: every config measured this many times, round-robin

    def schedule(self) -> list[tuple[int, Config]]:
        """(round, config) in measuring order: round r (1-based) starts at config
        (r - 1) mod n, so over n rounds every config takes every position and drift
        during a round hits every config alike. One round is the plan's order."""
        n = len(self.configs)
        return [(r + 1, self.configs[(r + i) % n]) for r in range(self.rounds) for i in range(n)]

    def describe(self) -> dict:
        return {
            "scenario": self.scenario.name,
            "task": self.scenario.task,
            "model": self.model.name,
            "prompts": list(self.prompts),
            "images": list(self.images),
            "config_ids": [c.config_id for c in self.configs],
            "configs": [c.describe() for c in self.configs],
            **({"rounds": self.rounds} if self.rounds > 1 else {}),
        }


# What an unset option (``None``) stands for, where the plan fills it in; ``--help`` says
# these, so a default is written once.
DEFAULT_BATCH_SIZES = (1, 2, 4)  # where the scenario sweeps batch_size
DEFAULT_IMAGES_PER_PROMPT = (1, 2)  # where the scenario sweeps num_images_per_prompt
DEFAULT_MAX_REPEATS = 100  # adaptive repeats stop here when neither target nor time does


@dataclass(frozen=True)
class SweepOptions:
    """The sweep flags, parsed; ``None`` means "not given": the scenario's or the model's
    default applies (``DEFAULT_*`` above, ``ModelSpec.default_steps`` and ``default_size``).

    The defaults here are the CLI's (``bench.commands.sweep_options`` reads them). Text as
    typed on the command line (``"1,2,4"``, ``"off,on"``, ``"2%"``) and lists (a request
    read back from JSON) are accepted and parsed on construction, so every holder sees
    the types below; a bad value is a ``UsageError`` naming the flag.
    """

    batch_sizes: tuple[int, ...] | None = None
    images_per_prompt: tuple[int, ...] | None = None
    steps: tuple[int, ...] | None = None  # None: the model's default
    height: int | None = None  # None: the model's default size
    width: int | None = None
    dtype: tuple[str, ...] = ("float32",)
    device: str = "auto"  # "auto": cuda when available, else cpu (resolved when measuring)
    seed: int = 0
    warmup: int = 1
    repeats: int = 6  # the fewest timed calls with which ``gate`` reaches a verdict (default sweep)
    strength: float | None = None  # None: the scenario's
    guidance_scale: float | None = None  # None: the scenario's
    generator_device: str = "cpu"
    prompts: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    sizes: tuple[int, ...] | None = None  # square sizes (instead of height/width)
    attention: tuple[str, ...] = ("sdpa",)
    switches: tuple[tuple[str, tuple[bool, ...]], ...] = ()  # (axis, values); absent: off
    rounds: int = 1
    min_time_s: float | None = None
    max_time_s: float | None = None
    target_uncertainty: float | None = None  # a fraction: 0.02 for ``--target-uncertainty 2%``
    max_repeats: int | None = None  # None: DEFAULT_MAX_REPEATS (with adaptive repeats)

    def __post_init__(self) -> None:
        parsed = {
            "batch_sizes": _int_values(self.batch_sizes, "--batch-sizes"),
            "images_per_prompt": _int_values(self.images_per_prompt, "--images-per-prompt"),
            "steps": _int_values(self.steps, "--steps"),
            "sizes": _int_values(self.sizes, "--size"),
            "dtype": parse_dtypes(_as_text(self.dtype)),
            "attention": opt.parse_attention(_as_text(self.attention)),
            "switches": _switches(self.switches),
            "target_uncertainty": _uncertainty(self.target_uncertainty),
            "prompts": tuple(self.prompts),
            "images": tuple(self.images),
        }
        for name, value in parsed.items():
            object.__setattr__(self, name, value)


def _as_text(value: str | Sequence[object]) -> str:
    """A list option as typed: ``"1,2"`` stays, ``(1, 2)`` becomes ``"1,2"``, so both are
    parsed, checked and named in messages alike."""
    return value if isinstance(value, str) else ",".join(str(v) for v in value)


def _int_values(value: str | int | Sequence[int] | None, flag: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return (positive_int(value, flag),)
    return parse_int_list(_as_text(value), flag)


def parse_dtypes(text: str) -> tuple[str, ...]:
    """``--dtype``: a comma list of ``DTYPES``, each once."""
    dtypes = tuple(d.strip() for d in text.split(","))
    for dtype in dtypes:
        if dtype not in DTYPES:
            raise UsageError(f"--dtype {text!r}: {dtype!r} is not one of {', '.join(DTYPES)}")
    if len(set(dtypes)) != len(dtypes):
        raise UsageError(f"--dtype {text!r}: repeated value (each value once)")
    return dtypes


def _switches(given: object) -> tuple[tuple[str, tuple[bool, ...]], ...]:
    """(axis, values) for each switch given: ``"off,on"`` or ``(False, True)``; ``None``
    (not given) is left out. Axes in ``SWITCHES`` order."""
    pairs = dict(given.items() if isinstance(given, Mapping) else given)
    unknown = sorted(set(pairs) - set(opt.SWITCHES))
    if unknown:
        raise UsageError(f"unknown optimization switch {unknown[0]!r}: one of {', '.join(opt.SWITCHES)}")
    parsed = []
    for axis in opt.SWITCHES:
        value = pairs.get(axis)
        if value is None:
            continue
        if not isinstance(value, str):
            value = ",".join({True: "on", False: "off"}.get(v, str(v)) for v in value)
        parsed.append((axis, opt.parse_switch(value, axis)))
    return tuple(parsed)


def _uncertainty(value: str | float | None) -> float | None:
    """``"2%"`` or ``"2"`` (percent, as typed) or a fraction such as 0.02."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_uncertainty(value)
    if not (math.isfinite(value) and 0 < value < 1):
        raise UsageError(f"target uncertainty {value!r}: a fraction must be in (0, 1), e.g. 0.02"
                         " for --target-uncertainty 2%")
    return float(value)


def _axis_values(scenario: Scenario, axis: str, given: tuple[int, ...] | None, flag: str,
                 default: tuple[int, ...]) -> tuple[int, ...]:
    if axis in scenario.axes:
        return given if given is not None else default
    if given is not None and given != (1,):
        raise UsageError(
            f"{flag} {_as_text(given)!r}: scenario {scenario.name!r} does not sweep {axis}"
            f" (it sweeps {', '.join(scenario.axes)}); drop {flag}"
        )
    return (1,)


def _size(value: int | None, default: int, flag: str) -> int:
    size = default if value is None else value
    if size < 8 or size % 8:
        raise UsageError(f"{flag} {size}: must be a positive multiple of 8")
    return size


def pair_count(scenario: Scenario, prompts: tuple[str, ...], images: tuple[str, ...]) -> int:
    """Number of distinct (prompt, image) pairs; refuses counts that cannot pair."""
    n_images = len(images) if images else scenario.num_default_images
    n_prompts = len(prompts)
    if n_images == 1 or n_prompts == 1 or n_images == n_prompts:
        return max(n_images, n_prompts)
    raise UsageError(
        f"{n_images} images cannot pair with {n_prompts} prompts:"
        f" give 1 image, 1 prompt, or one image per prompt ({n_prompts})"
    )


def make_plan(scenario: Scenario, model: ModelSpec, options: SweepOptions) -> Plan:
    """Validate every flag and expand the grid: dtype × optimizations × size × steps × batch
    size × images per prompt (outermost first). Whether the installed torch and diffusers
    can do the optimizations is asked later (``bench.execute.session.prepare_plan``)."""
    dtypes = options.dtype
    optimizations, varying = opt.expand(options.attention, dict(options.switches))
    if options.generator_device not in GENERATOR_DEVICES:
        raise UsageError(
            f"--generator-device {options.generator_device!r}: allowed values are"
            f" {', '.join(GENERATOR_DEVICES)}"
        )
    batch_sizes = _axis_values(
        scenario, "batch_size", options.batch_sizes, "--batch-sizes", DEFAULT_BATCH_SIZES
    )
    per_prompt = _axis_values(
        scenario,
        "num_images_per_prompt",
        options.images_per_prompt,
        "--images-per-prompt",
        DEFAULT_IMAGES_PER_PROMPT,
    )
    step_values = options.steps if options.steps is not None else (model.default_steps,)
    warmup = options.warmup
    if warmup < 0:
        raise UsageError(f"--warmup {warmup}: must be 0 or a positive integer")
    repeats = positive_int(options.repeats, "--repeats")
    rounds = positive_int(options.rounds, "--rounds")
    adaptive = _adaptive(options, repeats)
    if options.sizes is not None:
        if options.height is not None or options.width is not None:
            raise UsageError("--size sets height and width: drop --height/--width")
        shapes = tuple((s, s) for s in options.sizes)
        for size, _ in shapes:
            _size(size, size, "--size")
    else:
        shapes = ((_size(options.height, model.default_size, "--height"),
                   _size(options.width, model.default_size, "--width")),)
    if len(shapes) > 1 and scenario.task == "img2img":
        raise UsageError(f"--size {_as_text(options.sizes)!r}: image-to-image output follows the input image"
                         " size, so only one size per run (sweep --size with a text2img scenario)")
    if options.seed < 0:
        raise UsageError(f"--seed {options.seed}: must be 0 or a positive integer")
    largest_call = max(batch_sizes) * max(per_prompt)
    if options.seed + largest_call > MAX_SEED:
        raise UsageError(f"--seed {options.seed}: image seeds run up to seed + {largest_call - 1},"
                         f" which must stay below 2**63 ({MAX_SEED})")

    call = dict(scenario.call_kwargs)
    guidance = options.guidance_scale if options.guidance_scale is not None else float(
        call.get("guidance_scale", 5.0)
    )
    if not math.isfinite(guidance) or guidance < 0:
        raise UsageError(f"--guidance-scale {guidance}: must be a finite number, 0 or more")
    strength = None
    if scenario.task == "img2img":
        strength = float(options.strength if options.strength is not None
                         else call.get("strength", 0.5))
        if not 0.0 < strength <= 1.0:
            raise UsageError(f"--strength {strength}: must be in (0, 1]")
        for steps in step_values:
            if int(steps * strength) < 1:
                raise UsageError(
                    f"--steps {steps} with --strength {strength} runs int({steps} x {strength}) = 0"
                    " denoising steps: raise --steps or --strength"
                )
    elif options.strength is not None:
        raise UsageError(
            f"--strength applies to image-to-image; scenario {scenario.name!r} is text2img"
        )
    if options.images and scenario.task != "img2img":
        raise UsageError(
            f"--image applies to image-to-image; scenario {scenario.name!r} is text2img"
        )
    prompts = tuple(options.prompts) or scenario.prompts
    for prompt in prompts:
        if not prompt.strip():
            raise UsageError(f"--prompt {prompt!r}: a prompt must not be empty or only spaces")
    images = tuple(options.images) or scenario.images
    if scenario.task == "img2img":
        pair_count(scenario, prompts, images)

    id_axes = tuple(axis for axis, count in (("dtype", len(dtypes)), ("size", len(shapes)),
                                             ("steps", len(step_values))) if count > 1) + varying
    # Pipeline-building axes outermost, so each (dtype, optimizations) group loads once.
    configs = tuple(
        Config(
            scenario=scenario.name,
            task=scenario.task,
            model=model.name,
            device=options.device,
            dtype=dtype,
            batch_size=b,
            num_images_per_prompt=n,
            num_inference_steps=steps,
            height=height,
            width=width,
            guidance_scale=guidance,
            strength=strength,
            seed=options.seed,
            generator_device=options.generator_device,
            warmup=warmup,
            repeats=repeats,
            optimizations=opts,
            id_axes=id_axes,
            **adaptive,
        )
        for dtype in dtypes
        for opts in optimizations
        for height, width in shapes
        for steps in step_values
        for b in batch_sizes
        for n in per_prompt
    )
    images_from = "--image" if options.images else f"scenario {scenario.name!r}"
    return Plan(scenario=scenario, model=model, prompts=prompts, images=images, configs=configs,
                images_from=images_from, rounds=rounds)


def _seconds(value: float | None, flag: str) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise UsageError(f"{flag} {value}: must be a positive number of seconds")
    return value


def parse_uncertainty(text: str) -> float:
    """``--target-uncertainty``: ``2%`` or ``2`` (percent) -> 0.02, strictly in (0, 100 %)."""
    raw = text.strip().removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value < 100):
        raise UsageError(f"--target-uncertainty {text!r}: must be a percentage in (0, 100),"
                         " e.g. 2%")
    return value / 100


def _adaptive(options: SweepOptions, repeats: int) -> dict:
    """The adaptive-repeat fields of every config (all None when none was asked for)."""
    min_time = _seconds(options.min_time_s, "--min-time")
    max_time = _seconds(options.max_time_s, "--max-time")
    if min_time is not None and max_time is not None and min_time > max_time:
        raise UsageError(f"--min-time {min_time} is above --max-time {max_time}:"
                         " the minimum cannot exceed the maximum")
    target = options.target_uncertainty
    adaptive = min_time is not None or max_time is not None or target is not None
    if options.max_repeats is not None:
        if not adaptive:
            raise UsageError(f"--max-repeats {options.max_repeats}: only with --min-time,"
                             " --max-time or --target-uncertainty (else --repeats is the count)")
        if options.max_repeats < repeats:
            raise UsageError(f"--max-repeats {options.max_repeats} is below --repeats"
                             f" {repeats} (the minimum number of timed calls)")
    if not adaptive:
        return {}
    return {"min_time_s": min_time, "max_time_s": max_time, "target_uncertainty": target,
            "max_repeats": options.max_repeats or max(DEFAULT_MAX_REPEATS, repeats)}
