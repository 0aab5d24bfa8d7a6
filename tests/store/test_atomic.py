"""Outputs are written whole or not at all: a full disk halfway leaves the previous file
as it was and no fragment or 0-byte file behind."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from bench.store import atomic
from bench.store.atomic import write_bytes_atomic, write_text_atomic


def full_disk_after(monkeypatch, allowed: int) -> None:
    """os.write takes ``allowed`` bytes in all, then fails as a full disk does."""
    real = os.write
    left = [allowed]

    def write(fd, data):
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = real(fd, bytes(data[: left[0]]))
        left[0] -= taken
        return taken

    monkeypatch.setattr(atomic.os, "write", write)


def test_text_is_written_and_replaces_the_previous_file(tmp_path):
    out = tmp_path / "h.csv"
    write_text_atomic(out, "a,b\n1,2\n")
    assert out.read_text() == "a,b\n1,2\n"
    write_text_atomic(out, "a,b\n3,4\n")
    assert out.read_text() == "a,b\n3,4\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv"]


def test_a_full_disk_halfway_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    out = tmp_path / "index.html"
    out.write_text("<html>previous</html>")
    full_disk_after(monkeypatch, 4096)
    with pytest.raises(OSError) as raised:
        write_text_atomic(out, "x" * 100_000)
    assert raised.value.errno == errno.ENOSPC
    assert out.read_text() == "<html>previous</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]  # no temporary left


def test_a_full_disk_leaves_no_file_on_a_new_path(tmp_path, monkeypatch):
    full_disk_after(monkeypatch, 0)
    with pytest.raises(OSError):
        write_bytes_atomic(tmp_path / "new.parquet", b"PAR1" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_fsync_counts_as_a_failed_write(tmp_path, monkeypatch):
    out = tmp_path / "h.csv"
    out.write_text("old")

    def fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    with pytest.raises(OSError):
        write_text_atomic(out, "new")
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["h.csv"]


def test_the_mode_of_the_replaced_file_is_kept_and_a_new_file_follows_the_umask(tmp_path):
    kept = tmp_path / "kept.csv"
    kept.write_text("old")
    kept.chmod(0o640)
    write_text_atomic(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    previous = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "fresh.csv", "new")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "fresh.csv").stat().st_mode) == 0o640


def test_a_missing_folder_is_an_os_error_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "nope" / "h.csv", "x")
    assert list(tmp_path.iterdir()) == []
