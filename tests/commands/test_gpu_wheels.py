"""benchmarks/gpu_wheels.py: what must be carried to the lent GPU machine, decided here.

Installed there with ``--no-deps``, the wheels are checked by nothing there: every
requirement is checked here against the other carried wheels and the image's list."""

from __future__ import annotations

import zipfile
from pathlib import Path

from benchmarks import gpu_wheels as gw

IMAGE = {"torch": "2.11.0", "huggingface-hub": "1.33.0", "numpy": None, "zipp": None}


def wheel(name: str, version: str, *requires: str) -> gw.Wheel:
    return gw.Wheel(Path(f"{name}-{version}-py3-none-any.whl"), gw.canonical(name), version, requires)


def test_a_requirement_the_image_meets_needs_no_carrying():
    found = gw.gaps([wheel("diffusers", "0.42.1", "huggingface-hub<3.0,>=1.32.0", "numpy")], IMAGE)
    assert found.missing == {} and found.conflicts == []
    assert found.from_image == {"huggingface-hub": ["diffusers 0.42.1"], "numpy": ["diffusers 0.42.1"]}


def test_a_requirement_nothing_provides_is_missing_with_who_needs_it():
    found = gw.gaps([wheel("importlib_metadata", "10.2.0", "zipp>=3.20",
                           'lazy-importer>=0.1; python_version < "3.15"')], IMAGE)
    assert {name: str(spec) for name, spec in found.missing.items()} == {"lazy-importer": ">=0.1"}
    assert found.needed_by == {"lazy-importer": ["importlib-metadata 10.2.0"]}


def test_a_version_the_image_has_but_a_wheel_refuses_is_a_conflict_naming_both():
    found = gw.gaps([wheel("diffusers", "0.50.0", "huggingface-hub>=2.0")], IMAGE)
    (conflict,) = found.conflicts
    assert "diffusers 0.50.0 needs huggingface-hub>=2.0" in conflict and "the image has 1.33.0" in conflict
    assert "gpu_wheels.sh huggingface-hub==VERSION" in conflict


def test_a_carried_wheel_meets_a_requirement_before_the_image():
    found = gw.gaps([wheel("diffusers", "0.50.0", "huggingface-hub>=2.0"),
                     wheel("huggingface_hub", "2.5.0")], IMAGE)
    assert found.conflicts == [] and found.missing == {}


def test_markers_are_those_of_python_312_on_linux_x86_64():
    found = gw.gaps([wheel("a", "1", 'tomli; python_version < "3.11"', 'pywin32; sys_platform == "win32"',
                           'needed; python_version >= "3.12" and platform_machine == "x86_64"')], IMAGE)
    assert list(found.missing) == ["needed"]


def test_sdxl_bench_is_checked_with_its_measure_extra_only():
    found = gw.gaps([wheel("sdxl-bench", "0.1.0", "numpy>=1.26", 'diffusers>=0.35; extra == "measure"',
                           'ruff>=0.6; extra == "dev"')], IMAGE)
    assert list(found.missing) == ["diffusers"]


def test_two_versions_of_one_wheel_are_a_conflict():
    found = gw.gaps([wheel("diffusers", "0.41.0"), wheel("diffusers", "0.42.1")], IMAGE)
    assert found.conflicts == ["two wheels of diffusers: keep one version"]


def test_an_asked_pin_replaces_the_default_of_its_name():
    assert gw.carried(("diffusers==0.42.1", "importlib_metadata==10.2.0"), ["Diffusers==0.43.0"]) == [
        "Diffusers==0.43.0", "importlib_metadata==10.2.0"]


def test_the_image_list_reads_versions_bare_names_and_comments():
    image = gw.read_image("# a comment\ntorch==2.11.0\nnumpy==2.5.2  # why\nPyYAML\n\n")
    assert image == {"torch": "2.11.0", "numpy": "2.5.2", "pyyaml": None}


def test_the_lent_image_has_torch_2_11_and_neither_diffusers_nor_importlib_metadata():
    image = gw.read_image(gw.IMAGE.read_text())
    assert image["torch"] == "2.11.0" and image["transformers"] == "5.17.0"
    assert "diffusers" not in image and "importlib-metadata" not in image


def test_a_wheels_name_version_and_requirements_are_read_from_its_metadata(tmp_path):
    path = tmp_path / "Lazy_Importer-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lazy_importer/__init__.py", "")
        archive.writestr("lazy_importer-0.1.0.dist-info/METADATA",
                         "Metadata-Version: 2.1\nName: Lazy_Importer\nVersion: 0.1.0\n"
                         "Requires-Dist: zipp>=3.20\nRequires-Dist: x; extra == \"test\"\n\nreadme\n")
    read = gw.Wheel.read(path)
    assert (read.name, read.version, read.requires) == ("lazy-importer", "0.1.0",
                                                        ("zipp>=3.20", 'x; extra == "test"'))
