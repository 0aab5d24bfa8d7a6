"""Model presets → a pair of diffusers pipelines (text2img and img2img sharing components).

- ``tiny``: built from configs with seeded random weights, saved once into a cache folder
  and always loaded back with ``from_pretrained``, so the real loading path runs.
- ``sdxl-arch``: the full SDXL-base architecture built on the meta device, cast to the
  target dtype there, then materialised straight on the target device and initialised in
  place: no fp32 copy on the CPU, ready in seconds on a GPU.
- anything else: a hub id or a local diffusers folder, through ``from_pretrained``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.assemble.architectures import PRESETS
from bench.assemble.tokenizer import END_TOKEN_ID, build_tokenizer
from bench.errors import UsageError
from bench.plan.models import ModelSpec

TINY_SEED = 0
# Bump when the tiny preset's construction changes, so stale caches are rebuilt.
TINY_BUILD_VERSION = 1


@dataclass
class Pipelines:
    """The loaded pipelines; img2img reuses text2img's components (no second copy)."""

    text2img: Any
    img2img: Any
    model: str

    def for_task(self, task: str) -> Any:
        return self.text2img if task == "text2img" else self.img2img


def quiet_libraries() -> None:
    """Silence diffusers/transformers chatter (progress bars, deprecation notes) in our output."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*torch_dtype.*")


def cache_dir() -> Path:
    root = os.environ.get("SDXL_BENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "sdxl-bench"
    )
    return Path(root)


def _text_encoder_config(spec: dict):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        **spec,
        bos_token_id=END_TOKEN_ID - 1,
        eos_token_id=END_TOKEN_ID,
        pad_token_id=END_TOKEN_ID,
        layer_norm_eps=1e-5,
    )


def build_components(preset: str, module_device: str = "cpu") -> dict:
    """Every component of a preset with fresh random weights; ``meta`` builds no storage."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    spec = PRESETS[preset]
    with torch.device(module_device):
        modules = {
            "unet": UNet2DConditionModel(**spec["unet"]),
            "vae": AutoencoderKL(**spec["vae"]),
            "text_encoder": CLIPTextModel(_text_encoder_config(spec["text_encoder"])),
            "text_encoder_2": CLIPTextModelWithProjection(
                _text_encoder_config(spec["text_encoder_2"])
            ),
        }
    return {
        **modules,
        "tokenizer": build_tokenizer(),
        "tokenizer_2": build_tokenizer(pad_token="!"),
        "scheduler": EulerDiscreteScheduler(**spec["scheduler"]),
    }


def tiny_folder() -> Path:
    """The cached ``tiny`` pipeline folder, built on first use (atomically)."""
    import diffusers
    import transformers

    key = json.dumps(
        [TINY_BUILD_VERSION, PRESETS["tiny"], diffusers.__version__, transformers.__version__],
        sort_keys=True,
    )
    folder = cache_dir() / f"tiny-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if (folder / "model_index.json").is_file():
        return folder
    import torch
    from diffusers import StableDiffusionXLPipeline

    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the cache path is a file, or not writable
        raise UsageError(f"model cache {str(folder.parent)!r} cannot be used as a folder:"
                         f" {exc.strerror} (set SDXL_BENCH_CACHE to a writable folder)") from None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        pipe = StableDiffusionXLPipeline(**build_components("tiny"), add_watermarker=False)
    staging = Path(tempfile.mkdtemp(prefix="tiny-build-", dir=folder.parent))
    pipe.save_pretrained(staging)
    try:
        staging.rename(folder)
    except OSError:  # another process won the race; its folder is just as good
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def load_pipelines(spec: ModelSpec, device: str, dtype: str) -> Pipelines:
    """Build or load the pipelines for a model on a device in a dtype."""
    import torch

    torch_dtype = getattr(torch, dtype)
    if spec.name == "sdxl-arch":
        text2img = _build_sdxl_arch(device, torch_dtype)
    else:
        source = str(tiny_folder()) if spec.name == "tiny" else spec.name
        text2img = _from_pretrained(source, spec, torch_dtype).to(device)
    from diffusers import StableDiffusionXLImg2ImgPipeline

    img2img = StableDiffusionXLImg2ImgPipeline(**text2img.components, add_watermarker=False)
    for pipe in (text2img, img2img):
        pipe.set_progress_bar_config(disable=True)
    return Pipelines(text2img=text2img, img2img=img2img, model=spec.name)


def _from_pretrained(source: str, spec: ModelSpec, torch_dtype):
    from diffusers import StableDiffusionXLPipeline

    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    kwargs = {"torch_dtype": torch_dtype, "add_watermarker": False}
    if spec.variant:
        kwargs["variant"] = spec.variant
    if offline:
        kwargs["local_files_only"] = True
    try:
        with warnings.catch_warnings():  # newer diffusers prefer `dtype`; older know only this
            warnings.filterwarnings("ignore", message=".*torch_dtype.*")
            return StableDiffusionXLPipeline.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        missing = missing_components(source, spec.variant)
        if missing:
            raise UsageError(f"cannot load model {spec.name!r}: {missing}") from exc
        raise UsageError(f"cannot load model {spec.name!r}: {load_error_line(exc, source)}") from exc


def load_error_line(exc: BaseException, source: str) -> str:
    """diffusers' message in one line, without what our own line already says (``Cannot
    load model X:``) or a pointer to a stack trace that a one-line error does not show."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    line = re.sub(rf"^Cannot load model {re.escape(source)}:\s*", "", line, flags=re.IGNORECASE)
    line = line.replace(" Please check out the root cause in the stacktrace above.", "")
    if "stacktrace" in text or "traceback" in text.lower():
        line += " (--debug shows the traceback)"
    return line


def snapshot_folder(source: str) -> Path | None:
    """The local folder of a model: the folder itself, or the hub cache's snapshot (no
    download), or None."""
    if Path(source).is_dir():
        return Path(source)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(source, local_files_only=True))
    except Exception:
        return None


def missing_components(source: str, variant: str | None) -> str | None:
    """What a partial snapshot lacks (component folders named in ``model_index.json``, or
    the variant's weight files), in one sentence; None when nothing is found missing."""
    folder = snapshot_folder(source)
    if folder is None or not (folder / "model_index.json").is_file():
        return None
    try:
        index = json.loads((folder / "model_index.json").read_text())
    except (OSError, ValueError):
        return None
    components = [name for name, value in index.items()
                  if not name.startswith("_") and isinstance(value, list) and value[0]]
    absent = [name for name in components if not (folder / name).is_dir()]
    if absent:
        return (f"the snapshot {folder} has no {', '.join(absent)} folder(s) (a partial"
                f" download): download the model again (huggingface-cli download {source})")
    if variant:
        weighted = [name for name in components
                    if any((folder / name).glob("*.safetensors")) or any((folder / name).glob("*.bin"))]
        lacking = [name for name in weighted
                   if not any((folder / name).glob(f"*.{variant}.*"))]
        if lacking:
            return (f"no {variant!r} variant files for {', '.join(lacking)} in {folder}: drop"
                    " --variant or download that variant")
    return None


def _build_sdxl_arch(device: str, torch_dtype):
    """Meta-device construction, then materialise on the device in the target dtype."""
    import torch
    from diffusers import StableDiffusionXLPipeline

    components = build_components("sdxl-arch", module_device="meta")
    generator = torch.Generator(device=device).manual_seed(TINY_SEED)
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        module = components[name].to(dtype=torch_dtype)
        module = module.to_empty(device=device)
        _initialise(module, generator)
        module.eval()
        components[name] = module
    return StableDiffusionXLPipeline(**components, add_watermarker=False)


def _initialise(module, generator) -> None:
    """Seeded random weights in place: scaled normal for matrices, identity for norms.

    ``to_empty`` leaves parameters and buffers uninitialised; the only buffers these
    architectures hold are CLIP's ``position_ids``, which are rebuilt here.
    """
    import torch

    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.ndim >= 2:
                fan_in = param[0].numel()
                param.normal_(0.0, fan_in**-0.5, generator=generator)
            elif name.endswith("weight"):
                param.fill_(1.0)
            else:
                param.zero_()
        for name, buffer in module.named_buffers():
            if not name.endswith("position_ids"):
                raise RuntimeError(f"sdxl-arch: no initialiser for buffer {name}")
            buffer.copy_(torch.arange(buffer.shape[-1], device=buffer.device).expand_as(buffer))
