"""Checks on generated images (float arrays in [0, 1], as ``output_type="np"`` returns)."""

from __future__ import annotations

import hashlib


def to_uint8(image):
    """The pixels a PNG would hold: diffusers' own rounding, NaN as 0."""
    import numpy as np

    return (np.nan_to_num(image, nan=0.0).clip(0, 1) * 255).round().astype("uint8")


def content_hash(image) -> str:
    """SHA-256 of the uint8 pixels and their shape: equal hashes mean equal images."""
    return pixels_hash(to_uint8(image))


def pixels_hash(pixels) -> str:
    """``content_hash`` of pixels already in uint8 (a saved PNG read back)."""
    digest = hashlib.sha256(str(pixels.shape).encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()


def has_nan(image) -> bool:
    import numpy as np

    return bool(np.isnan(image).any())


def is_black(image) -> bool:
    """All pixels round to 0: the fp16 VAE overflow symptom."""
    return bool(to_uint8(image).max() == 0)
