"""Errors that the CLI turns into a one-line message and an exit code instead of a traceback."""


class UsageError(Exception):
    """A user's mistake: bad flag, bad file, unknown name. Exit code 2."""

    exit_code = 2
