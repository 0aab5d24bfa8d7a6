"""Pixel differences between images, on the full scale [0, 1]. Pure numpy, no torch.

Float images (as ``output_type="np"`` returns) are compared as they are; 8-bit images
(saved PNGs) are compared after dividing by 255. Rounding to 8 bits can turn a float
difference far below one level into a difference of one level, so comparisons of 8-bit
pixels allow the tolerance plus one level (``quantized_tolerance``).
"""

from __future__ import annotations

import math

LEVEL = 1.0 / 255.0
# Default batch-invariance tolerances by dtype (docs/determinism.md explains them and
# docs/measurements/ holds the measurements). float32: one 8-bit level, what rounding to a PNG can
# already hide (measured differences ~1e-6). Half precision: batched and single images
# differ by a few half-precision steps (measured up to 0.0156 on sdxl-arch in bfloat16),
# so the default is eight 8-bit levels: still far below the pitfalls this check is for
# (a batch-position-dependent image differs by ~0.8).
DEFAULT_TOLERANCE = LEVEL
HALF_PRECISION_TOLERANCE = 8 * LEVEL
DEFAULT_TOLERANCES = {"float32": DEFAULT_TOLERANCE, "float16": HALF_PRECISION_TOLERANCE,
                      "bfloat16": HALF_PRECISION_TOLERANCE}
TOLERANCE_HELP = ("largest allowed absolute pixel difference, full scale [0, 1] (default by dtype:"
                  " 1/255 for float32, 8/255 for float16 and bfloat16)")


def default_tolerance(dtype: str | None) -> float:
    """The batch-invariance tolerance for images made in ``dtype`` (float32's when unknown)."""
    return DEFAULT_TOLERANCES.get(dtype or "float32", DEFAULT_TOLERANCE)


def as_unit_float(image):
    """float64 in [0, 1]: uint8 pixels divided by 255, float pixels as they are."""
    import numpy as np

    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    return array.astype(np.float64)


def max_abs_diff(a, b) -> float:
    """Largest absolute pixel difference (NaN anywhere counts as a full-scale difference)."""
    import numpy as np

    x, y = as_unit_float(a), as_unit_float(b)
    if x.shape != y.shape:
        raise ValueError(f"images of different shapes {x.shape} and {y.shape} cannot be compared")
    diff = np.abs(x - y)
    if np.isnan(diff).any():
        return 1.0
    return float(diff.max()) if diff.size else 0.0


def psnr_db(a, b) -> float:
    """Peak signal-to-noise ratio for peak 1.0; ``inf`` for identical images."""
    import numpy as np

    x, y = as_unit_float(a), as_unit_float(b)
    mse = float(np.nanmean((x - y) ** 2)) if x.size else 0.0
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(1.0 / mse)


def bit_identical(a, b) -> bool:
    """Same shape and every value equal, NaN included (bit-exact repeat)."""
    import numpy as np

    x, y = np.asarray(a), np.asarray(b)
    return x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))


def quantized_tolerance(tolerance: float) -> float:
    """The tolerance for 8-bit pixels: a float difference ``<= tolerance`` rounds to at most
    ``floor(tolerance * 255) + 1`` levels."""
    return (math.floor(tolerance * 255.0) + 1) * LEVEL


def json_psnr(value: float) -> float | None:
    """PSNR for a JSON record: ``None`` stands for identical (infinite PSNR)."""
    return None if math.isinf(value) else round(value, 3)
