"""Optimization options of a pipeline: the set a config carries and parsing the flags.

Pure data (planning needs no torch); ``bench.assemble.optimize`` applies them to loaded
pipelines and asks the installed torch and diffusers whether they can.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from itertools import product

from bench.errors import UsageError

# sdpa: diffusers AttnProcessor2_0, torch picks the SDPA kernel; math: diffusers
# AttnProcessor (explicit baddbmm + softmax + bmm); sdpa-<backend>: AttnProcessor2_0 with
# torch's SDPA pinned to one backend.
ATTENTION = ("sdpa", "math", "sdpa-math", "sdpa-flash", "sdpa-efficient", "sdpa-cudnn")
CUDA_ONLY_ATTENTION = ("sdpa-efficient", "sdpa-cudnn")
SWITCHES = ("compile", "channels_last", "fuse_qkv", "vae_slicing", "vae_tiling")
SWITCH_VALUES = {"on": True, "off": False}


@dataclass(frozen=True)
class Optimizations:
    """How the pipeline is built and run, apart from its dtype (a sweep value)."""

    attention: str = "sdpa"
    compile: bool = False
    channels_last: bool = False
    fuse_qkv: bool = False
    vae_slicing: bool = False
    vae_tiling: bool = False

    def describe(self) -> dict:
        return asdict(self)

    def token(self, axis: str) -> str:
        """The config-id fragment for one axis, e.g. ``compile``, ``no-fuse-qkv``, ``attn-math``."""
        if axis == "attention":
            return f"attn-{self.attention}"
        name = axis.replace("_", "-")
        return name if getattr(self, axis) else f"no-{name}"


def parse_attention(text: str) -> tuple[str, ...]:
    values = tuple(item.strip() for item in text.split(","))
    for value in values:
        if value not in ATTENTION:
            raise UsageError(
                f"--attention {text!r}: {value!r} is not one of {', '.join(ATTENTION)}"
            )
    if len(set(values)) != len(values):
        raise UsageError(f"--attention {text!r}: repeated value (each value once)")
    return values


def parse_switch(text: str | None, axis: str) -> tuple[bool, ...]:
    """``None`` → off; ``on``/``off``/``off,on`` → the values to sweep."""
    flag = "--" + axis.replace("_", "-")
    if text is None:
        return (False,)
    values = tuple(item.strip().lower() for item in text.split(","))
    for value in values:
        if value not in SWITCH_VALUES:
            raise UsageError(f"{flag} {text!r}: {value!r} is not on or off (e.g. {flag} off,on)")
    if len(set(values)) != len(values):
        raise UsageError(f"{flag} {text!r}: repeated value (each value once)")
    return tuple(SWITCH_VALUES[v] for v in values)


def expand(attention: tuple[str, ...], switches: Mapping[str, tuple[bool, ...]]
           ) -> tuple[tuple[Optimizations, ...], tuple[str, ...]]:
    """Every combination of the parsed values (a switch not given is off), and the axes that
    vary (for config ids)."""
    values: dict[str, tuple] = {"attention": attention}
    for axis in SWITCHES:
        values[axis] = switches.get(axis, (False,))
    names = [f.name for f in fields(Optimizations)]
    combos = tuple(Optimizations(**dict(zip(names, combo, strict=True)))
                   for combo in product(*(values[n] for n in names)))
    for combo in combos:
        check_combination(combo)
    varying = tuple(n for n in names if len(values[n]) > 1)
    return combos, varying


def check_combination(opts: Optimizations) -> None:
    """Refuse combinations that diffusers would silently override."""
    if opts.fuse_qkv and not opts.attention.startswith("sdpa"):
        raise UsageError(
            f"--fuse-qkv installs diffusers' FusedAttnProcessor2_0 (SDPA) and cannot combine"
            f" with --attention {opts.attention}: use an sdpa choice"
        )
