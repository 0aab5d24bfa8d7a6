"""Call inputs: prompts and images laid out for one call, and the images themselves.

Image *i* of a call belongs to prompt ``i // n`` (copy ``i % n``). For image-to-image
with several prompts and ``n > 1`` the (prompt, image) pairs are expanded here, because
diffusers would otherwise tile the images ``[i0, i1, i0, i1]`` against the repeated
prompts ``[p0, p0, p1, p1]``.
"""

from __future__ import annotations

import io
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UsageError

URL_PREFIXES = ("http://", "https://")


@dataclass(frozen=True)
class CallInputs:
    """Arguments of one pipeline call that depend on the batch layout."""

    prompts: tuple[str, ...]
    images: tuple  # PIL images, one per prompt entry; empty for text2img
    num_images_per_prompt: int  # what is passed to diffusers (1 once pairs are expanded)
    prompt_indices: tuple[int, ...]  # per output image: index into the plan's prompts


def layout_call(
    prompts: tuple[str, ...], images: tuple, batch_size: int, num_images_per_prompt: int
) -> CallInputs:
    """Cycle prompts (and images) to ``batch_size`` entries; pair them for img2img."""
    pairs = max(len(prompts), len(images)) if images else len(prompts)
    entries = [j % pairs for j in range(batch_size)]
    batch_prompts = [prompts[e % len(prompts)] for e in entries]
    per_image_prompt = tuple(
        entries[i // num_images_per_prompt] % len(prompts)
        for i in range(batch_size * num_images_per_prompt)
    )
    if not images:
        return CallInputs(tuple(batch_prompts), (), num_images_per_prompt, per_image_prompt)
    batch_images = [images[e % len(images)] for e in entries]
    if num_images_per_prompt > 1 and batch_size > 1:
        n = num_images_per_prompt
        return CallInputs(
            tuple(p for p in batch_prompts for _ in range(n)),
            tuple(i for i in batch_images for _ in range(n)),
            1,
            per_image_prompt,
        )
    return CallInputs(
        tuple(batch_prompts), tuple(batch_images), num_images_per_prompt, per_image_prompt
    )


def default_images(count: int, height: int, width: int) -> tuple:
    """Deterministic input pictures made in code: a sunset, a roof, a checkered floor."""
    import numpy as np
    from PIL import Image

    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    sunset = np.stack(
        [0.9 - 0.3 * y + 0 * x, 0.4 + 0.3 * y * (1 - x), 0.3 + 0.5 * (1 - y) + 0 * x], axis=-1
    )
    sunset[y + 0 * x > 0.65 - 0.15 * np.abs(x - 0.5)] = (0.2, 0.15, 0.25)
    roof = np.stack([0.6 + 0.3 * ((x * 8 + y * 4) % 1 > 0.5), 0.3 + 0 * y + 0 * x,
                     0.2 + 0.4 * y + 0 * x], axis=-1)
    floor = ((np.floor(x * 8) + np.floor(y * 8)) % 2)[..., None] * np.array([0.5, 0.35, 0.2])
    floor = floor + np.array([0.3, 0.2, 0.1])
    pictures = [sunset, roof, floor]
    return tuple(
        Image.fromarray((np.clip(pictures[i % 3], 0, 1) * 255).astype("uint8"), "RGB")
        for i in range(count)
    )


def load_image(source: str, height: int, width: int, origin: str = "--image"):
    """A path or URL → an RGB PIL image of the config's size; bad input is a UsageError
    that names where the value came from (``--image`` or the scenario file)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        if source.startswith(URL_PREFIXES):
            with urllib.request.urlopen(source, timeout=30) as response:
                data = response.read()
        else:
            data = Path(source).expanduser().read_bytes()
        with warnings.catch_warnings():  # PIL only warns below twice its pixel limit
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except UnidentifiedImageError:
        raise UsageError(f"{origin} {source!r} is not an image PIL can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UsageError(f"{origin} {source!r} is too large to decode safely (over"
                         f" {Image.MAX_IMAGE_PIXELS:,} pixels); resize it first") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{origin} {source!r} cannot be read: {exc}") from None
    return to_rgb(image, f"{origin} {source!r}").resize((width, height))


# Integer modes deeper than 8 bits, by the largest value of their depth.
DEEP_MODES = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I;16N": 65535, "I": 65535}


def to_rgb(image, name: str = "image"):
    """8-bit RGB, keeping the picture: 16-bit greyscale is scaled down, not clipped (PIL's
    own ``convert("RGB")`` saturates nearly every pixel of such an image)."""
    import numpy as np
    from PIL import Image

    if image.mode in DEEP_MODES or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        if image.mode == "F":
            top = 1.0 if values.max(initial=0.0) <= 1.0 else 255.0
        elif image.mode == "I" and values.max(initial=0) > 65535:
            raise UsageError(f"{name}: 32-bit integer pixels are not supported; save it as"
                             " 8- or 16-bit")
        else:
            top = DEEP_MODES[image.mode]
        grey = np.clip(np.rint(values / top * 255.0), 0, 255).astype("uint8")
        return Image.fromarray(grey, "L").convert("RGB")
    return image.convert("RGB")


def load_images(sources: tuple[str, ...], count: int, height: int, width: int,
                origin: str = "--image") -> tuple:
    """The user's images, or ``count`` generated defaults."""
    if sources:
        return tuple(load_image(s, height, width, origin) for s in sources)
    return default_images(count, height, width)


def truncated_prompts(tokenizer, prompts: tuple[str, ...]) -> list[str]:
    """One warning per prompt longer than the text encoder reads (CLIP: 77 tokens): diffusers
    cuts such prompts silently, so the images ignore their end."""
    limit = int(getattr(tokenizer, "model_max_length", 77) or 77)
    notes = []
    for index, prompt in enumerate(prompts):
        count = len(tokenizer(prompt, truncation=False).input_ids)
        if count > limit:
            notes.append(f"prompt {index} has {count} tokens; the text encoder reads the first"
                         f" {limit}, the rest is ignored")
    return notes
