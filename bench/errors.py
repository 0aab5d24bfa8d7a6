"""Errors that the CLI turns into a one-line message and an exit code instead of a traceback."""


class UsageError(Exception):
    """A user's mistake: bad flag, bad file, unknown name. Exit code 2."""

    exit_code = 2


class StorageError(UsageError):
    """A run file could not be written (disk full, I/O error) after measuring began: what
    was written is safe and resumable. Exit code 1: the run failed, the input was fine."""

    exit_code = 1
