"""Write an output file whole or not at all.

A file written in place is destroyed by a full disk halfway through: the previous
version is gone and a fragment is left (or a 0-byte file on a new path). These helpers
write to a temporary file in the same folder, flush and fsync it, and only then rename it
over the target (``os.replace`` is atomic within one file system). On any error the
temporary file is removed, the target is left as it was, and the ``OSError`` is raised
for the caller to turn into its one-line message.

The new file gets the mode the target had, or, for a new path, what ``open()`` would give
(0666 less the umask). Standard library only.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Replace ``path`` with ``data``, or leave it untouched and raise ``OSError``."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None  # os.open applies the umask to 0o666, as open() does
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def write_text_atomic(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """``write_bytes_atomic`` of ``text`` encoded (no newline translation)."""
    write_bytes_atomic(path, text.encode(encoding))


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows (best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
