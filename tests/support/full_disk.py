"""A disk that fills up: files opened for writing under one folder take ``room`` bytes
(characters, for text files), write what fits, then fail with ENOSPC as a real full disk
does halfway through a write.

Patches ``io.open`` (which ``Path.write_text``/``write_bytes`` and ``os.fdopen`` use) and
``os.write`` (for writers that use file descriptors), so a file written in place and one
written through a temporary file, either way, meet the same full disk.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest


class _Filling:
    """A writable file that holds ``room`` more bytes, then raises ENOSPC."""

    def __init__(self, file, room: int) -> None:
        self._file, self._room = file, room

    def write(self, data):
        if len(data) <= self._room:
            self._room -= len(data)
            return self._file.write(data)
        self._file.write(data[: self._room])
        self._file.flush()
        self._room = 0
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()


def _path_of(file: object) -> Path | None:
    if isinstance(file, int):
        try:
            return Path(os.readlink(f"/proc/self/fd/{file}"))
        except OSError:
            return None
    return Path(os.fsdecode(file)).resolve() if isinstance(file, (str, bytes, os.PathLike)) \
        else None


def fill_disk(monkeypatch: pytest.MonkeyPatch, folder: Path, room: int = 4096) -> None:
    """From now on, every file opened for writing under ``folder`` holds ``room`` bytes."""
    real_open, folder = io.open, Path(folder).resolve()

    def open_(file, mode="r", *args, **kwargs):
        opened = real_open(file, mode, *args, **kwargs)
        path = _path_of(file)
        writing = any(flag in mode for flag in "wax+")
        if writing and path is not None and folder in (path, *path.parents):
            return _Filling(opened, room)
        return opened

    monkeypatch.setattr(io, "open", open_)
    real_write, rooms = os.write, {}

    def write(fd: int, data) -> int:
        path = _path_of(fd)
        if path is None or folder not in (path, *path.parents):
            return real_write(fd, data)
        left = rooms.setdefault((fd, path), room)
        if len(data) <= left:
            rooms[(fd, path)] = left - len(data)
            return real_write(fd, data)
        if left:
            rooms[(fd, path)] = 0
            return real_write(fd, bytes(data[:left]))  # a short write, as the kernel's
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write)
