"""Memory per image from max-batch probes: the slope of peak memory, not peak / images."""

from __future__ import annotations

import numpy as np
import pytest

from bench.analyse.memory_per_image import fit_memory_line

GIB = 2**30


def test_slope_and_intercept_of_an_exact_line_are_the_per_image_and_fixed_memory():
    probes = [(n, 3 * GIB + n * 0.25 * GIB) for n in (1, 2, 4, 8)]
    line = fit_memory_line(probes)
    assert line.marginal_bytes_per_image == pytest.approx(0.25 * GIB)
    assert line.fixed_bytes == pytest.approx(3 * GIB)
    assert line.max_residual_bytes == pytest.approx(0, abs=1)


def test_memory_per_image_is_not_the_peak_divided_by_the_images():
    probes = [(n, 3 * GIB + n * 0.25 * GIB) for n in (1, 2, 4, 8)]
    whole_per_image = probes[-1][1] / probes[-1][0]  # 0.625 GiB: weights spread over 8 images
    assert fit_memory_line(probes).marginal_bytes_per_image < 0.5 * whole_per_image


def test_noisy_probes_are_fitted_by_least_squares():
    images = [1, 2, 4, 8, 6, 7]
    peaks = [1.00e9, 1.21e9, 1.38e9, 1.83e9, 1.62e9, 1.70e9]
    slope, intercept = np.polyfit(images, peaks, 1)
    line = fit_memory_line(list(zip(images, peaks, strict=True)))
    assert (line.marginal_bytes_per_image, line.fixed_bytes, line.points) == (
        pytest.approx(slope), pytest.approx(intercept), 6)


def test_one_image_count_has_no_slope():
    line = fit_memory_line([(4, 2 * GIB), (4, 2.1 * GIB)])
    assert (line.marginal_bytes_per_image, line.fixed_bytes) == (None, None)
