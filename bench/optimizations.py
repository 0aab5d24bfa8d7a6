"""Optimization options of a pipeline: the set a config carries, parsing, support checks, applying.

``Optimizations`` is pure data (planning needs no torch); ``apply`` changes loaded
pipelines in place and ``check_supported`` asks the installed torch and diffusers, so
an option they cannot do is refused at planning time rather than mid-sweep.
"""

from __future__ import annotations

import os
import shutil
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

    def apply(self, pipes) -> None:
        """Change the loaded pipelines in place (both share the same modules)."""
        import torch

        pipe = pipes.text2img
        unet, vae = pipe.unet, pipe.vae
        if self.attention == "math":
            from diffusers.models.attention_processor import AttnProcessor

            unet.set_attn_processor(AttnProcessor())
            vae.set_attn_processor(AttnProcessor())
        else:
            from diffusers.models.attention_processor import AttnProcessor2_0

            unet.set_attn_processor(AttnProcessor2_0())
            vae.set_attn_processor(AttnProcessor2_0())
        set_sdpa_backend(self.attention)
        if self.fuse_qkv:
            unet.fuse_qkv_projections()
            vae.fuse_qkv_projections()
        if self.channels_last:
            unet.to(memory_format=torch.channels_last)
            vae.to(memory_format=torch.channels_last)
        if self.vae_slicing:
            vae.enable_slicing()
        if self.vae_tiling:
            vae.enable_tiling()
        if self.compile:
            import warnings

            warnings.filterwarnings("ignore", message=".*Dynamo detected a call to a `functools.lru_cache`")
            # Compile ``forward`` (an instance attribute), not the module: forward hooks and
            # the stage tracker's wrapper around ``vae.decode`` stay outside the graph.
            unet.forward = torch.compile(unet.forward)
            vae.decoder.forward = torch.compile(vae.decoder.forward)


def set_sdpa_backend(attention: str) -> None:
    """Enable exactly the SDPA backends an attention choice allows (torch's global flags)."""
    import torch

    wanted = {
        "sdpa-math": {"math"},
        "sdpa-flash": {"flash"},
        "sdpa-efficient": {"mem_efficient"},
        "sdpa-cudnn": {"cudnn"},
    }.get(attention, {"math", "flash", "mem_efficient", "cudnn"})
    for backend in ("math", "flash", "mem_efficient", "cudnn"):
        setter = getattr(torch.backends.cuda, f"enable_{backend}_sdp", None)
        if setter is not None:
            setter(backend in wanted)


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


def expand(attention: str | None, switches: dict[str, str | None]) -> tuple[tuple[Optimizations, ...],
                                                                          tuple[str, ...]]:
    """Every combination of the given values, and the axes that vary (for config ids)."""
    values: dict[str, tuple] = {"attention": parse_attention(attention or "sdpa")}
    for axis in SWITCHES:
        values[axis] = parse_switch(switches.get(axis), axis)
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


def cpp_compiler() -> str | None:
    """The C++ compiler torch inductor would use on the CPU, if any."""
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def check_supported(options: tuple[Optimizations, ...], dtypes: tuple[str, ...], device: str,
                    warmup: int) -> None:
    """Ask the installed torch/diffusers (imported only when an option needs them)."""
    wanted = {name for opts in options for name, value in opts.describe().items()
              if value not in (False, "sdpa")}
    if any(o.compile for o in options) and warmup < 1:
        raise UsageError(
            f"--compile with --warmup {warmup}: the first call compiles, so at least one"
            " warm-up call must keep compilation out of the timed calls (--warmup 1)"
        )
    attentions = {o.attention for o in options}
    if device.startswith("cpu"):
        for attention in sorted(attentions & set(CUDA_ONLY_ATTENTION)):
            raise UsageError(f"--attention {attention}: this SDPA backend needs a CUDA device"
                             f" (device is {device}); on the CPU use sdpa, math, sdpa-math or sdpa-flash")
    if not wanted and not (device.startswith("cuda") and "bfloat16" in dtypes):
        return
    import torch

    if device.startswith("cuda") and "bfloat16" in dtypes and not torch.cuda.is_bf16_supported():
        raise UsageError(f"--dtype bfloat16: {torch.cuda.get_device_name(device)} does not support it")
    if "attention" in wanted or any(a.startswith("sdpa") for a in attentions):
        if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
            raise UsageError(f"--attention sdpa: torch {torch.__version__} has no"
                             " scaled_dot_product_attention")
    if "compile" in wanted:
        import torch._dynamo

        if not hasattr(torch, "compile") or not torch._dynamo.is_dynamo_supported():
            raise UsageError(f"--compile: torch {torch.__version__} cannot compile on this Python")
        if device.startswith("cpu") and cpp_compiler() is None:
            raise UsageError("--compile on the CPU needs a C++ compiler (g++, c++ or clang++ on PATH,"
                             " or CXX) for torch inductor; none was found")
    if wanted & {"fuse_qkv", "vae_slicing", "vae_tiling"}:
        import diffusers
        from diffusers import AutoencoderKL, UNet2DConditionModel

        needs = {"fuse_qkv": (UNet2DConditionModel, "fuse_qkv_projections"),
                 "vae_slicing": (AutoencoderKL, "enable_slicing"),
                 "vae_tiling": (AutoencoderKL, "enable_tiling")}
        for name in sorted(wanted & set(needs)):
            cls, method = needs[name]
            if not hasattr(cls, method):
                raise UsageError(f"--{name.replace('_', '-')}: diffusers {diffusers.__version__} has no"
                                 f" {cls.__name__}.{method}")
