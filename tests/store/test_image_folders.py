"""A run's saved images are found where recorded, or beside a copied run file."""

from __future__ import annotations

from bench.store.image_folders import images_folder


def test_the_recorded_folder_when_it_exists(tmp_path):
    (tmp_path / "images").mkdir()
    assert images_folder(tmp_path / "elsewhere" / "run.jsonl", str(tmp_path / "images")) == (
        tmp_path / "images")


def test_a_folder_of_that_name_beside_a_copied_run_file(tmp_path):
    copy = tmp_path / "copy"
    (copy / "images").mkdir(parents=True)
    assert images_folder(copy / "run.jsonl", "/gone/images") == copy / "images"


def test_none_when_the_folder_is_nowhere(tmp_path):
    assert images_folder(tmp_path / "run.jsonl", str(tmp_path / "gone")) is None


def test_none_when_the_record_saved_no_images(tmp_path):
    (tmp_path / "images").mkdir()
    assert images_folder(tmp_path / "run.jsonl", None) is None
