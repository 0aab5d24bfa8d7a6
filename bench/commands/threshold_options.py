"""The verdict flags ``gate`` and ``ab`` share, and their parsing into ``Thresholds``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bench.errors import UsageError

if TYPE_CHECKING:
    from bench.analyse.gate import Thresholds


def add_threshold_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-slowdown", default="5%", help="typical latency increase allowed (default 5%%)"
    )
    parser.add_argument(
        "--max-memory-increase",
        default="10%",
        help="peak memory increase allowed, per view of the process's own memory; it must"
        " also exceed the noise identical measurements show (default 10%%)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.01,
        help="chance of any false alarm over all configs (Holm), one-sided (default 0.01)",
    )
    parser.add_argument(
        "--run-cv",
        default="10%",
        help="run-to-run variation assumed when each side is one run (the data cannot show"
        " it): only changes beyond what it explains count, and none from a run its stability check"
        " marked unstable (default 10%%; 0 trusts the calls)",
    )
    parser.add_argument(
        "--fail-on-speedup",
        action="store_true",
        help="also fail on a significant speedup beyond --max-slowdown (stale baseline)",
    )
    parser.add_argument(
        "--require-all",
        action="store_true",
        help="fail when a config is missing on either side (a config the baseline has and"
        " the candidate lacks fails anyway)",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="pass configs the baseline has and the candidate lacks (a candidate that"
        " measured a subset on purpose); the verdict line still names them",
    )
    parser.add_argument(
        "--allow-inconclusive",
        action="store_true",
        help="pass configs the samples are too few to judge (default: they fail)",
    )


def parse_percent(text: str, flag: str) -> float:
    """'5%' or '5' -> 0.05; a ``UsageError`` naming the flag otherwise."""
    raw = text.strip().removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{flag} expects a percentage like 5%, got {text!r}") from None
    if not 0 <= value < 1e6 or value != value:
        raise UsageError(f"{flag} must be a non-negative percentage, got {text!r}")
    return value / 100


def thresholds_from(args: argparse.Namespace) -> Thresholds:
    """The ``Thresholds`` the flags ask for; a ``UsageError`` naming a bad flag."""
    from bench.analyse.gate import Thresholds

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.require_all and args.allow_missing:
        raise UsageError("--require-all fails missing configs, --allow-missing passes them:"
                         " drop one")
    return Thresholds(
        max_slowdown=parse_percent(args.max_slowdown, "--max-slowdown"),
        max_memory_increase=parse_percent(args.max_memory_increase, "--max-memory-increase"),
        alpha=args.alpha,
        run_cv=parse_percent(args.run_cv, "--run-cv"),
        fail_on_speedup=args.fail_on_speedup,
        require_all=args.require_all,
        allow_missing=args.allow_missing,
        allow_inconclusive=args.allow_inconclusive,
    )
