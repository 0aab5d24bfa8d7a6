"""Applying optimizations to loaded pipelines, and asking torch/diffusers whether they can.

``check_supported`` runs before any model is loaded, so an option the installed libraries
cannot do is refused with one line rather than mid-sweep.
"""

from __future__ import annotations

import os
import shutil

from bench.errors import UsageError
from bench.plan.optimizations import CUDA_ONLY_ATTENTION, Optimizations


def apply_optimizations(opts: Optimizations, pipes) -> None:
    """Change the loaded pipelines in place (both share the same modules)."""
    import torch

    pipe = pipes.text2img
    unet, vae = pipe.unet, pipe.vae
    if opts.attention == "math":
        from diffusers.models.attention_processor import AttnProcessor

        unet.set_attn_processor(AttnProcessor())
        vae.set_attn_processor(AttnProcessor())
    else:
        from diffusers.models.attention_processor import AttnProcessor2_0

        unet.set_attn_processor(AttnProcessor2_0())
        vae.set_attn_processor(AttnProcessor2_0())
    set_sdpa_backend(opts.attention)
    if opts.fuse_qkv:
        unet.fuse_qkv_projections()
        vae.fuse_qkv_projections()
    if opts.channels_last:
        unet.to(memory_format=torch.channels_last)
        vae.to(memory_format=torch.channels_last)
    if opts.vae_slicing:
        vae.enable_slicing()
    if opts.vae_tiling:
        vae.enable_tiling()
    if opts.compile:
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
