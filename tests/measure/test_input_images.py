"""Input images are read faithfully or refused with a reason: 16-bit greyscale keeps its
picture, an image too large to decode is refused, a scenario's relative image paths are
relative to the scenario file, and errors name where the path came from."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bench.errors import UsageError
from bench.measure.inputs import load_image
from bench.plan.scenario import load_scenario


def test_sixteen_bit_greyscale_keeps_its_tones(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)  # mode I;16
    pixels = np.asarray(load_image(str(path), 64, 64))
    assert pixels.shape == (64, 64, 3)
    assert 250 <= pixels.max() <= 255 and pixels.min() <= 5
    assert np.mean(pixels[..., 0] == 255) < 0.05  # PIL's own convert saturates almost all


def test_palette_image_becomes_rgb_with_its_colours(tmp_path):
    path = tmp_path / "palette.png"
    Image.new("RGB", (16, 16), (200, 30, 40)).convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    pixels = np.asarray(load_image(str(path), 16, 16))
    assert tuple(pixels[0, 0]) == (200, 30, 40)


def test_an_image_too_large_to_decode_safely_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("L", (200, 200)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # 40,000 pixels: 4x the limit
    with pytest.raises(UsageError, match="too large to decode safely"):
        load_image(str(path), 64, 64)


def test_read_errors_name_where_the_path_came_from(tmp_path):
    with pytest.raises(UsageError, match=r"^scenario 'mine' '/nowhere.png' cannot be read"):
        load_image("/nowhere.png", 64, 64, origin="scenario 'mine'")


def test_scenario_image_paths_are_relative_to_the_scenario_file(tmp_path, monkeypatch):
    folder = tmp_path / "shots"
    folder.mkdir()
    (folder / "scene.py").write_text(
        "from bench.plan import Scenario\n"
        "SCENARIO = Scenario(name='shots', description='x', task='img2img',"
        " images=('inputs/a.png', 'https://example.invalid/b.png'),"
        " axes=('batch_size',))\n")
    monkeypatch.chdir(tmp_path)  # somewhere else than the scenario's folder
    scenario = load_scenario(str(folder / "scene.py"))
    assert scenario.images == (str(folder.resolve() / "inputs/a.png"),
                               "https://example.invalid/b.png")
