"""Outputs are written whole or not at all (``bench.store.atomic``): a full disk leaves the
previous file as it was, or no file on a new path, and says which file in one line."""

from __future__ import annotations

import os
import stat

import pytest

from bench.errors import UsageError
from bench.store.atomic import write_bytes_atomic, write_text_atomic
from tests.support.full_disk import fill_disk


def test_a_file_is_written_with_its_content(tmp_path):
    write_text_atomic(tmp_path / "a.md", "hello\n")
    write_bytes_atomic(tmp_path / "a.png", b"\x89PNG")
    assert (tmp_path / "a.md").read_text() == "hello\n"
    assert (tmp_path / "a.png").read_bytes() == b"\x89PNG"


def test_a_new_file_gets_the_mode_open_would_give(tmp_path):
    write_text_atomic(tmp_path / "a.md", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.md").stat().st_mode) == 0o666 & ~mask


def test_a_full_disk_leaves_the_previous_file_untouched(tmp_path, monkeypatch):
    target = tmp_path / "old.csv"
    target.write_text("the previous export\n")
    fill_disk(monkeypatch, tmp_path, room=10)
    with pytest.raises(UsageError, match=f"cannot write {target}: No space left on device"):
        write_text_atomic(target, "a much longer new export\n" * 100)
    assert target.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]  # no temporary left


def test_a_full_disk_leaves_no_file_on_a_new_path(tmp_path, monkeypatch):
    fill_disk(monkeypatch, tmp_path, room=10)
    with pytest.raises(UsageError, match="No space left on device"):
        write_bytes_atomic(tmp_path / "new.png", b"x" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(UsageError, match="cannot write .*missing/a.md: No such file"):
        write_text_atomic(tmp_path / "missing" / "a.md", "x")
