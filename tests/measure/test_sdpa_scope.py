"""``--attention sdpa-X`` restricts the UNet's attention only: the SDXL VAE (1 head × 512
dims, float32 when upcast) has no flash or cuDNN kernel on CUDA, so a global backend
choice would end every config in "No available kernel"."""

from __future__ import annotations

import pytest
import torch

from bench.assemble.optimize import ScopedSDPAProcessor, apply_optimizations
from bench.plan.optimizations import Optimizations


@pytest.fixture(scope="module")
def flash_pipes(tiny_cache):
    """Fresh pipelines (the session's are shared) with --attention sdpa-flash applied."""
    from bench.assemble.pipelines import load_pipelines, quiet_libraries
    from bench.plan.models import resolve_model

    quiet_libraries()
    pipes = load_pipelines(resolve_model("tiny"), "cpu", "float32")
    apply_optimizations(Optimizations(attention="sdpa-flash"), pipes)
    return pipes


def backends_in_force() -> set[str]:
    flags = {"flash": torch.backends.cuda.flash_sdp_enabled(),
             "mem_efficient": torch.backends.cuda.mem_efficient_sdp_enabled(),
             "math": torch.backends.cuda.math_sdp_enabled(),
             "cudnn": torch.backends.cuda.cudnn_sdp_enabled()}
    return {name for name, on in flags.items() if on}


def test_only_the_unets_processors_are_scoped(flash_pipes):
    pipe = flash_pipes.text2img
    unet_processors = pipe.unet.attn_processors.values()
    assert unet_processors and all(isinstance(p, ScopedSDPAProcessor) for p in unet_processors)
    assert all(p.backends == ("FLASH_ATTENTION",) for p in unet_processors)
    assert not any(isinstance(p, ScopedSDPAProcessor) for p in pipe.vae.attn_processors.values())


def test_the_vae_runs_with_every_backend_allowed_and_the_unet_with_flash_only(
        flash_pipes, monkeypatch):
    """Records the backends in force at each SDPA call during a real (tiny) pipeline call."""
    pipe = flash_pipes.text2img
    site = {"now": None}
    seen: dict[str, set[frozenset]] = {"unet": set(), "vae": set(), "text encoders": set()}
    hooks = []
    for name, module in (("unet", pipe.unet), ("vae", pipe.vae.decoder)):
        hooks.append(module.register_forward_pre_hook(lambda m, a, n=name: site.update(now=n)))
        hooks.append(module.register_forward_hook(lambda m, a, o: site.update(now=None)))
    real = torch.nn.functional.scaled_dot_product_attention

    def recording(*args, **kwargs):
        seen[site["now"] or "text encoders"].add(frozenset(backends_in_force()))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", recording)
    try:
        pipe(prompt=["a"], num_inference_steps=1, height=32, width=32, output_type="np",
             generator=[torch.Generator().manual_seed(0)])
    finally:
        for hook in hooks:
            hook.remove()
    assert seen["unet"] == {frozenset({"flash"})}
    every = frozenset({"flash", "mem_efficient", "math", "cudnn"})
    assert seen["vae"] == {every} and seen["text encoders"] == {every}
    assert backends_in_force() == {"flash", "mem_efficient", "math", "cudnn"}  # nothing leaks
