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
    if opts.fuse_qkv:
        unet.fuse_qkv_projections()
        vae.fuse_qkv_projections()
    scope_sdpa_backends(unet, opts.attention)  # after fusing: wraps the final processors
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
        # Static shapes: every config compiles for its own batch size, so compiled configs
        # compare like for like (dynamic=None would recompile the second batch size with
        # symbolic shapes and slower kernels). Recorded in ``compile.options``.
        unet.forward = torch.compile(unet.forward, **COMPILE_OPTIONS)
        vae.decoder.forward = torch.compile(vae.decoder.forward, **COMPILE_OPTIONS)
        unet.sdxl_bench_compile_options = dict(COMPILE_OPTIONS)


COMPILE_OPTIONS = {"dynamic": False}

# --attention choice → the SDPA backends (torch.nn.attention.SDPBackend names) it allows.
SDPA_BACKENDS = {
    "sdpa-math": ("MATH",),
    "sdpa-flash": ("FLASH_ATTENTION",),
    "sdpa-efficient": ("EFFICIENT_ATTENTION",),
    "sdpa-cudnn": ("CUDNN_ATTENTION",),
}


class ScopedSDPAProcessor:
    """An attention processor that runs another one under ``sdpa_kernel(backends)``.

    Scoping the backend choice to the UNet's processors leaves the VAE (1 head × 512
    dims, float32 when upcast: no flash or cuDNN kernel on CUDA) on torch's default
    choice, where a global ``enable_*_sdp`` flag would make every VAE decode fail with
    "No available kernel"."""

    def __init__(self, inner, backends: tuple[str, ...]) -> None:
        self.inner = inner
        self.backends = backends

    def __call__(self, attn, hidden_states, *args, **kwargs):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel([getattr(SDPBackend, name) for name in self.backends]):
            return self.inner(attn, hidden_states, *args, **kwargs)


def scope_sdpa_backends(unet, attention: str) -> None:
    """Restrict the UNet's attention (only) to the SDPA backends ``attention`` names."""
    backends = SDPA_BACKENDS.get(attention)
    if backends is None:
        return
    unet.set_attn_processor({name: ScopedSDPAProcessor(processor, backends)
                             for name, processor in unet.attn_processors.items()})


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
