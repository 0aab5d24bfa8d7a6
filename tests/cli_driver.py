"""Run the real ``sdxl-bench`` CLI (``bench.cli.main``): in process, or as a subprocess.

In process is the same parser and error handling without the interpreter start-up, for
the many small analysis tests; subprocesses are for the end-to-end checks.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.cli import main

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run_cli(*argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse errors and --help
            code = exc.code if isinstance(exc.code, int) else 2
    return Result(code, out.getvalue(), err.getvalue())


def run_subprocess(*argv: str, timeout: float = 300, env: dict | None = None) -> Result:
    """``python -m bench ARGV`` from the repository root."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)
