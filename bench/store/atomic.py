"""Write an output file whole or not at all.

A file written in place is destroyed by a full disk halfway through: the old version is
gone and a fragment (or, on a new path, a 0-byte file) is left. These write a temporary
file in the same folder, fsync it, then ``os.replace`` it over the target (atomic within
one file system). On an ``OSError`` the target is untouched, the temporary file removed,
and a ``UsageError`` names the path and the reason.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from bench.errors import UsageError


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, or leave it as it was and raise ``UsageError``."""
    path = Path(path)
    temporary = None
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        temporary = Path(name)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as exc:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_text_atomic(path: Path, text: str) -> None:
    """``write_bytes_atomic`` of ``text`` as UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))


def _umask() -> int:
    """The process's umask (read by setting it, then put back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
