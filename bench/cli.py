"""``sdxl-bench`` entry point: argument parsing and error handling, nothing heavy.

Each command is a module in ``bench.commands`` with ``register(subparsers)`` and
``main(args) -> int``; modules import torch only inside ``main``, so ``--help`` and the
analysis commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from bench import __version__
from bench.errors import UsageError

COMMANDS = ("run", "list", "env", "doctor", "max-batch", "determinism", "reproduce", "report",
            "compare", "gate", "ab", "history")

# Packages of the ``measure`` extra that the measuring commands import; the readers of run
# files (list, report, compare, gate) work without them.
MEASURING_STACK = ("torch", "diffusers", "transformers", "accelerate")
MEASURE_EXTRA = "pip install 'sdxl-bench[measure]'"


def missing_measuring_module(exc: ModuleNotFoundError) -> str | None:
    """The measuring-stack module whose absence raised ``exc``, or None for any other
    module (a missing module of our own is a bug and keeps its traceback)."""
    root = (exc.name or "").split(".")[0]
    return root if root in MEASURING_STACK else None


def _strict_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _strict_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors that name the value (``type=int`` included)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("type", int, _strict_int)
        self.register("type", float, _strict_float)

    def error(self, message: str):
        self.exit(2, f"sdxl-bench: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sdxl-bench",
        description="Throughput, latency and memory benchmarks for diffusers SDXL batch inference.",
    )
    parser.add_argument("--version", action="version", version=f"sdxl-bench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    # A command that re-reads a recorded command line (run --resume) parses it with this
    # parser, handed over in the arguments: commands never import the CLI.
    parser.set_defaults(parser=parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"bench.commands.{name.replace('-', '_')}")
        sub = module.register(subparsers)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show tracebacks for errors")
        sub.set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    from bench.measure.cold_start import watch_imports

    watch_imports()  # before anything imports torch: cold-start import_s (docs/metrics.md)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        if args.debug:  # the traceback as well, never another exit code
            traceback.print_exc()
        print(f"sdxl-bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        missing = missing_measuring_module(exc)
        if missing is None or args.debug:
            raise
        print(
            f"sdxl-bench: error: {args.command} needs the measuring stack (torch, diffusers,"
            f" transformers): {MEASURE_EXTRA} (missing module: {missing})",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("sdxl-bench: interrupted", file=sys.stderr)
        return 130
