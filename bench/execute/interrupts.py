"""SIGINT/SIGTERM → ``Interrupted``, raised only while a config is being measured.

Outside ``interruptible()`` (writing a record, the footer, updating progress) a signal
is only remembered; the sweep checks ``signum`` between configs. So a finished record
is never lost to a signal and a run file never gets half a line from us.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_ACTIVE: list[InterruptGuard] = []  # the guards in force, innermost last


class Interrupted(BaseException):
    """Raised by SIGINT/SIGTERM; carries the exit code to use (128 + signal number)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


class InterruptGuard:
    """Context manager installing the handlers; restores the previous ones on exit."""

    def __init__(self) -> None:
        self.signum: int | None = None  # the first signal received
        self._interruptible = False
        self._raised = False
        self._previous: dict = {}

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum else 0

    def _raise_once(self) -> None:
        if self.signum is not None and not self._raised:
            self._raised = True
            raise Interrupted(self.signum)

    def _handle(self, signum, frame) -> None:
        if self.signum is None:
            self.signum = signum
        if self._interruptible:
            self._interruptible = False
            self._raise_once()

    @contextmanager
    def interruptible(self):
        """Signals raise ``Interrupted`` inside this block (and at its start, if one came)."""
        self._raise_once()
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def __enter__(self) -> InterruptGuard:
        self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _ACTIVE.remove(self)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


@contextmanager
def deferred():
    """A signal that arrives in this block is raised at its end, not inside it.

    For starting a child process inside ``interruptible()``: raised in the middle of
    ``Popen`` the child would run on unseen (its pid never returned, so never stopped).
    Without a guard in force, or outside ``interruptible()``, this does nothing.
    """
    guard = _ACTIVE[-1] if _ACTIVE else None
    if guard is None or not guard._interruptible:
        yield
        return
    guard._interruptible = False
    try:
        yield
    finally:
        guard._interruptible = True
    guard._raise_once()
