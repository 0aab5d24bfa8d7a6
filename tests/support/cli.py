"""The one way tests run the real ``sdxl-bench`` CLI (``bench.cli.main``).

``run_in_process`` is the same parser and error handling without the interpreter start-up,
for the many small analysis tests; ``run_subprocess`` is a real ``python -m bench`` for
the end-to-end checks; ``run_forked`` the same command in a process forked from one that
has imported torch already, for end-to-end checks that need no fresh interpreter. All
answer a ``Result``. Tests that must signal the process use ``command`` for the command
line and start it with ``subprocess.Popen`` themselves.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = ("-m", "bench")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run_in_process(*argv: str) -> Result:
    """``main(ARGV)`` in this process, stdout and stderr captured."""
    from bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse errors and --help
            code = exc.code if isinstance(exc.code, int) else 2
    return Result(code, out.getvalue(), err.getvalue())


def command(*argv: str, prefix: Sequence[str] | None = None) -> list[str]:
    """``python -m bench ARGV``; ``prefix`` replaces ``-m bench`` (a launcher such as
    ``-m torch.distributed.run … -m bench``, or ``-c CODE``)."""
    return [sys.executable, *(BENCH if prefix is None else prefix), *argv]


def run_subprocess(
    *argv: str,
    timeout: float = 300,
    env: Mapping[str, str] | None = None,
    cwd: Path | str = REPO,
    prefix: Sequence[str] | None = None,
    input: str | None = None,
) -> Result:
    """``python -m bench ARGV`` in a real subprocess (from the repository root unless
    ``cwd``); ``env`` is the whole environment when given, as for ``subprocess.run``."""
    done = subprocess.run(
        command(*argv, prefix=prefix),
        cwd=cwd,
        env=None if env is None else dict(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def run_forked(
    *argv: str,
    timeout: float = 300,
    env: Mapping[str, str] | None = None,
    cwd: Path | str = REPO,
) -> Result:
    """``sdxl-bench ARGV`` as ``run_subprocess`` runs it, in a process forked from a server
    that has imported torch and diffusers already (``tests/support/forkserver.py``): about
    4 s less per call. Not for import-time behaviour or signals (see that module)."""
    from tests.support.forkserver import run_in_child

    return Result(*run_in_child(list(argv), env, cwd, timeout, REPO))


def written_records(path: Path, kind: str) -> list[dict]:
    """The whole records of one ``type`` that a running (or killed) CLI has written so far;
    a line still being written is skipped."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return [r for r in found if r.get("type") == kind]
