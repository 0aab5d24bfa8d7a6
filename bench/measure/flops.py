"""FLOPs per image: every component counted once with ``FlopCounterMode`` on the meta device.

The meta device has shapes but no storage, so counting even the full SDXL architecture
costs about a second and no memory. ``FlopCounterMode`` counts matrix products,
convolutions and attention (2 FLOPs per multiply-add); elementwise work (norms,
activations, the scheduler) is not counted, as in the published figures. Attention
(``bmm``/``baddbmm`` and the fused SDPA kernels) is reported apart, because some
references count the UNet without it (6.761 vs 5.98 TFLOP for SDXL at 1024²).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from bench.plan.sweep import Config

ATTENTION_OPS = ("bmm", "baddbmm", "_scaled_dot_product_efficient_attention",
                 "_scaled_dot_product_flash_attention", "_scaled_dot_product_cudnn_attention",
                 "_scaled_dot_product_flash_attention_for_cpu", "_flash_attention_forward",
                 "_efficient_attention_forward")
TEXT_TOKENS = 77  # SDXL pads every prompt to the tokenizer's model_max_length


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one counted call: total, the attention part, and per aten op."""

    total: int
    attention: int
    by_op: dict = field(default_factory=dict)


def count_flops(fn, *args, **kwargs) -> FlopCount:
    """Run ``fn`` under ``FlopCounterMode`` (no autograd) and sum what it counted."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn(*args, **kwargs)
    by_op = {str(op).removeprefix("aten.").split(".")[0]: int(n)
             for op, n in counter.get_flop_counts().get("Global", {}).items()}
    attention = sum(n for op, n in by_op.items() if op in ATTENTION_OPS)
    return FlopCount(int(counter.get_total_flops()), attention, by_op)


@functools.lru_cache(maxsize=4)
def meta_components(model: str) -> dict:
    """The model's UNet, VAE and text encoders on the meta device, from configs only."""
    from bench.assemble.architectures import PRESETS

    if model in PRESETS:
        from bench.assemble.pipelines import build_components

        return build_components(model, module_device="meta")
    return _meta_from_pretrained(model)


def _meta_from_pretrained(source: str) -> dict:
    import torch
    from diffusers import AutoencoderKL, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    with torch.device("meta"):
        components = {
            "unet": UNet2DConditionModel.from_config(
                UNet2DConditionModel.load_config(source, subfolder="unet")),
            "vae": AutoencoderKL.from_config(AutoencoderKL.load_config(source, subfolder="vae")),
            "text_encoder": CLIPTextModel(
                CLIPTextConfig.from_pretrained(source, subfolder="text_encoder")),
            "text_encoder_2": CLIPTextModelWithProjection(
                CLIPTextConfig.from_pretrained(source, subfolder="text_encoder_2")),
        }
    pipeline_config = StableDiffusionXLPipeline.load_config(source)
    components["force_zeros_for_empty_prompt"] = bool(
        pipeline_config.get("force_zeros_for_empty_prompt", True))
    return components


def vae_scale_factor(vae) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


@functools.lru_cache(maxsize=64)
def component_flops(model: str, height: int, width: int, vae_tiling: bool = False) -> dict:
    """FLOPs of one UNet forward (one sample), one VAE decode and encode (one image),
    and both text encoders (one prompt)."""
    import torch

    parts = meta_components(model)
    unet, vae = parts["unet"], parts["vae"]
    scale = vae_scale_factor(vae)
    cfg = unet.config
    with torch.device("meta"):
        latents = torch.empty(1, cfg.in_channels, height // scale, width // scale)
        image = torch.empty(1, vae.config.in_channels, height, width)
        cross_dim = cfg.cross_attention_dim
        context = torch.empty(1, TEXT_TOKENS, cross_dim if isinstance(cross_dim, int) else cross_dim[0])
        added = None
        if cfg.addition_embed_type == "text_time":
            pooled = cfg.projection_class_embeddings_input_dim - 6 * cfg.addition_time_embed_dim
            added = {"text_embeds": torch.empty(1, pooled), "time_ids": torch.empty(1, 6)}
        timestep = torch.empty((), dtype=torch.int64)
        ids = torch.zeros(1, TEXT_TOKENS, dtype=torch.int64)
    tiling = vae.use_tiling
    vae.use_tiling = vae_tiling
    try:
        counts = {
            "unet": count_flops(unet, latents, timestep, encoder_hidden_states=context,
                                added_cond_kwargs=added),
            "vae_decode": count_flops(vae.decode, latents),
            "vae_encode": count_flops(vae.encode, image),
        }
    finally:
        vae.use_tiling = tiling
    te1 = count_flops(parts["text_encoder"], ids, output_hidden_states=True)
    te2 = count_flops(parts["text_encoder_2"], ids, output_hidden_states=True)
    counts["text_encoders"] = FlopCount(te1.total + te2.total, te1.attention + te2.attention,
                                        {"text_encoder": te1.total, "text_encoder_2": te2.total})
    return counts


def encoded_entries(config: Config) -> int:
    """Prompts encoded per call: img2img with several prompts and several images per
    prompt expands (prompt, image) pairs, so each prompt is encoded ``n`` times."""
    if config.task == "img2img" and config.batch_size > 1 and config.num_images_per_prompt > 1:
        return config.images_per_call
    return config.batch_size


def encoded_images(config: Config) -> int:
    """Input images VAE-encoded per call: every image of an img2img call. With a list of
    generators (one per image, always here) diffusers repeats the input images to the
    effective batch and encodes each slice with its own generator
    (``StableDiffusionXLImg2ImgPipeline.prepare_latents``), so one prompt with ``n``
    images per prompt encodes its input image ``n`` times, not once."""
    return config.images_per_call if config.task == "img2img" else 0


def flops_per_image(config: Config) -> dict:
    """The record fields: FLOPs per image, per component, and how they were derived."""
    parts = component_flops(config.model, config.height, config.width,
                            config.optimizations.vae_tiling)
    guided = config.guidance_scale > 1.0
    zeros = meta_components(config.model).get("force_zeros_for_empty_prompt", True)
    unet_forwards = config.steps_run * (2 if guided else 1)
    prompt_passes = 2 if guided and not zeros else 1  # negative prompt encoded too
    per_call = config.images_per_call
    entries = encoded_entries(config)
    encoded = encoded_images(config)
    breakdown = {
        "text_encoders": parts["text_encoders"].total * entries * prompt_passes / per_call,
        "unet": parts["unet"].total * unet_forwards,
        "vae_decode": parts["vae_decode"].total,
        "vae_encode": parts["vae_encode"].total * encoded / per_call,
    }
    attention = (parts["unet"].attention * unet_forwards + parts["vae_decode"].attention
                 + parts["text_encoders"].attention * entries * prompt_passes / per_call
                 + parts["vae_encode"].attention * encoded / per_call)
    return {
        "flops_per_image": sum(breakdown.values()),
        "flops_breakdown": breakdown,
        "flops_attention_per_image": attention,
        "flops_method": {
            "counter": "torch.utils.flop_counter.FlopCounterMode on the meta device",
            "unet_forward_flops": parts["unet"].total,
            "unet_forwards_per_image": unet_forwards,
            "classifier_free_guidance": guided,
            "text_encoder_passes_per_prompt": prompt_passes,
            "encoded_entries_per_call": entries,
            "encoded_images_per_call": encoded,
        },
    }
