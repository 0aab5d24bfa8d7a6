import numpy as np

from bench.measure.images import content_hash, has_nan, is_black, to_uint8


def test_hash_depends_on_pixels_as_saved_not_on_float_noise():
    image = np.full((4, 4, 3), 0.5, dtype=np.float32)
    nudged = image + 1e-6
    assert content_hash(image) == content_hash(nudged)
    changed = image.copy()
    changed[0, 0, 0] = 0.9
    assert content_hash(image) != content_hash(changed)


def test_nan_and_black_are_detected():
    black = np.zeros((4, 4, 3), dtype=np.float32)
    nan = black.copy()
    nan[1, 1, 1] = np.nan
    assert is_black(black) and not has_nan(black)
    assert has_nan(nan)
    assert not is_black(black + 0.5)
    assert to_uint8(nan).max() == 0
