"""The ``ab`` experiment: baseline and candidate runs interleaved on one machine, each a
fresh ``sdxl-bench run`` process writing its own run file into one folder.

Which command each side runs is the caller's (``bench.commands.ab``); judging the files
is ``bench.analyse.gate.ab_gate``'s.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bench.errors import UsageError

SIDES = ("a", "b")


def interleaved(pairs: int) -> list[tuple[int, str]]:
    """(pair, side) in run order: A B, B A, A B, ... so a steady trend (a machine warming
    up) does not always favour the side that runs second."""
    order = []
    for pair in range(1, pairs + 1):
        sides = ("a", "b") if pair % 2 else ("b", "a")
        order.extend((pair, side) for side in sides)
    return order


def run_file(out: Path, pair: int, side: str) -> Path:
    return out / f"pair{pair:02d}-{side}.jsonl"


def run_argv(prefix: Sequence[str], model: str | None, sweep: Sequence[str], out: Path) -> list[str]:
    """The argv of one run: the side's command, then `run --out FILE [--model M] SWEEP`."""
    return [*prefix, "run", "--out", str(out), "--quiet",
            *(["--model", model] if model else []), *sweep]


def complete_pairs(out: Path) -> int:
    """How many pairs, from the first, have both run files: what an ``ab`` stopped part
    way (Ctrl-C, a failed run) left to judge."""
    pairs = 0
    while all(run_file(out, pairs + 1, side).is_file() for side in SIDES):
        pairs += 1
    return pairs


def half_pair(out: Path, pairs: int) -> bool:
    """Whether the pair after ``pairs`` has one side only (an interrupted ``ab``)."""
    return any(run_file(out, pairs + 1, side).is_file() for side in SIDES)


def pair_files(out: Path, pairs: int) -> list[tuple[Path, Path]]:
    """The (A, B) run files of pairs 1..``pairs``; a ``UsageError`` naming a missing one."""
    files = []
    for pair in range(1, pairs + 1):
        paths = [run_file(out, pair, side) for side in SIDES]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise UsageError(f"pair {pair} is incomplete: {', '.join(missing)} does not exist")
        files.append((paths[0], paths[1]))
    return files


def run_pairs(out: Path, pairs: int, commands: Mapping[str, Sequence[str]],
              models: Mapping[str, str | None], sweep: Sequence[str],
              starting: Callable[[int, int, int, str, list[str]], None] | None = None) -> None:
    """Run ``pairs`` interleaved pairs into the folder ``out`` (made when missing), side
    ``s`` as ``commands[s]`` with ``models[s]``. ``starting(index, total, pair, side,
    argv)`` is told before each run. The first run that fails stops the experiment with a
    ``UsageError`` quoting its last line; the files written so far stay."""
    out.mkdir(parents=True, exist_ok=True)
    order = interleaved(pairs)
    for index, (pair, side) in enumerate(order, start=1):
        path = run_file(out, pair, side)
        argv = run_argv(commands[side], models[side], sweep, path)
        if starting is not None:
            starting(index, len(order), pair, side, argv)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise UsageError(f"cannot start side {side.upper()} ({argv[0]}): {exc}") from None
        if done.returncode != 0 or not path.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise UsageError(f"side {side.upper()} run {pair} exited {done.returncode}: {tail[0]}")
