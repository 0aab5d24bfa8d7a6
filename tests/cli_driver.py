"""Runs an analysis command as the CLI would, in process (until the core CLI lands)."""

from __future__ import annotations

import argparse
import contextlib
import io
from dataclasses import dataclass

from bench.commands import compare, gate, report
from bench.errors import UsageError


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run_cli(*argv: str) -> Result:
    parser = argparse.ArgumentParser(prog="sdxl-bench")
    subparsers = parser.add_subparsers(dest="command", required=True)
    modules = {m.__name__.rsplit(".", 1)[1]: m for m in (compare, gate, report)}
    for module in modules.values():
        module.register(subparsers)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(list(argv))
            code = modules[args.command].main(args)
        except UsageError as exc:
            print(f"sdxl-bench: error: {exc}", file=err)
            code = 2
        except SystemExit as exc:
            code = int(exc.code or 0)
    return Result(code, out.getvalue(), err.getvalue())
