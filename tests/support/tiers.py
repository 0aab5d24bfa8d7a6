"""The two test tiers: which tests start processes (the end-to-end tier, marker ``e2e``),
and a guard that fails any other test the moment it tries to start one.

A test is end to end when its function, a fixture it uses, or a function or class of the
test suite that either of them names (followed transitively) names something that starts
a process: ``run_subprocess``, ``run_forked``, ``command``, the ``subprocess`` or
``multiprocessing`` module, ``os.fork`` and the like. That is read from the code objects,
and so is ``run_in_process`` of a command that starts processes itself (``ab``). A test
whose process ``bench`` starts behind a name the test does not show is named by the
guard, and carries ``@pytest.mark.e2e``.
"""

from __future__ import annotations

import _posixsubprocess
import functools
import inspect
import multiprocessing
import os
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from bench.measure import environment
from tests.support import cli, forkserver

E2E = "e2e"

# Objects whose use starts a process (identity, not name: ``from x import run`` of another
# ``run`` is no match): the suite's CLI runners, the standard library's ways, and the
# functions of ``bench`` that start one themselves.
STARTERS: tuple[object, ...] = (
    cli.run_subprocess, cli.run_forked, cli.command, forkserver.run_in_child, forkserver.ForkServer,
    subprocess, multiprocessing, subprocess.Popen, subprocess.run, subprocess.call,
    subprocess.check_call, subprocess.check_output, os.fork, os.forkpty, os.posix_spawn,
    os.posix_spawnp, os.spawnv, os.spawnve, os.spawnvp, os.spawnvpe,
    environment.collect, environment.git_commit,  # git rev-parse, git status
)


# Commands that, run in this process (``run_in_process``), start processes of their own.
IN_PROCESS_STARTERS = {"ab": "runs every side of every pair as a process of its own"}


@dataclass
class _Reach:
    """What a test's code reaches: a process starter, ``run_in_process``, string constants."""

    starts: bool = False
    in_process: bool = False
    words: set[str] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)


def _code_names(code: types.CodeType, reach: _Reach) -> set[str]:
    """Every global and attribute name a code object (and the functions, lambdas and
    comprehensions inside it) refers to; its string constants go to ``reach.words``."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const, reach)
        elif isinstance(const, str):
            reach.words.add(const)
        elif isinstance(const, (tuple, frozenset)):
            reach.words.update(c for c in const if isinstance(c, str))
    return names


def _is_starter(value: object) -> bool:
    value = inspect.unwrap(value) if callable(value) else value  # the guard's checks wrap
    return any(value is starter for starter in STARTERS)


def _ours(value: object) -> bool:
    """A function or class of the test suite (followed: it may start processes itself)."""
    return (inspect.isfunction(value) or inspect.isclass(value)) and (
        getattr(value, "__module__", "") or "").startswith("tests.")


def _walk(func: object, reach: _Reach) -> None:
    func = inspect.unwrap(func)
    if id(func) in reach.seen or reach.starts:
        return
    reach.seen.add(id(func))
    if inspect.isclass(func):
        for member in vars(func).values():
            if inspect.isfunction(member):
                _walk(member, reach)
        return
    code = getattr(func, "__code__", None)
    if code is None:
        return
    names = _code_names(code, reach)
    scope = getattr(func, "__globals__", {})
    for name in names:
        # A global, or a module a function-local ``import`` names (``from m import f``
        # inside a test puts ``m`` and ``f`` among the names).
        value = scope.get(name, sys.modules.get(name))
        if value is None:
            continue
        if _is_starter(value) or (isinstance(value, types.ModuleType) and any(
                _is_starter(vars(value).get(other)) for other in names)):  # ``os.fork``
            reach.starts = True
            return
        if value is cli.run_in_process:
            reach.in_process = True
        elif _ours(value):
            _walk(value, reach)


def starts_processes(func: Callable) -> bool:
    """Whether ``func`` names something that starts a process, directly or through the
    test suite's own functions and classes it names, or runs one of the
    ``IN_PROCESS_STARTERS`` commands in process."""
    reach = _Reach()
    _walk(func, reach)
    return reach.starts or (reach.in_process and bool(reach.words & set(IN_PROCESS_STARTERS)))


def item_starts_processes(item: pytest.Item) -> bool:
    """The test function, or any fixture it uses, starts processes."""
    if starts_processes(item.function):
        return True
    fixtures = getattr(item, "_fixtureinfo", None)
    for definitions in (fixtures.name2fixturedefs.values() if fixtures else ()):
        if any(starts_processes(d.func) for d in definitions):
            return True
    return False


class StartedProcess(pytest.fail.Exception):
    """Raised in place of starting a process in a fast-tier test (a BaseException, like
    pytest's own failures, so an ``except Exception`` in the code under test cannot hide it)."""


class ProcessGuard:
    """While it watches a test, every way of starting a process fails that test instead."""

    def __init__(self) -> None:
        self.item: pytest.Item | None = None
        self.started: list[str] = []  # what the watched test tried, kept for its report
        self._undo: list[tuple[object, str, object]] = []

    def install(self) -> None:
        """Put the checks in front of every way the process starts a child (once)."""
        if self._undo:
            return
        targets = [(subprocess, "_fork_exec"), (_posixsubprocess, "fork_exec")]
        targets += [(os, name) for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp",
                                            "system")]
        targets += [(forkserver.ForkServer, "run")]
        for owner, name in targets:
            real = getattr(owner, name, None)
            if real is not None:
                self._undo.append((owner, name, real))
                setattr(owner, name, self._checked(f"{getattr(owner, '__name__', owner)}.{name}",
                                                   real))

    def uninstall(self) -> None:
        for owner, name, real in reversed(self._undo):
            setattr(owner, name, real)
        self._undo.clear()

    def _checked(self, what: str, real: Callable) -> Callable:
        @functools.wraps(real)
        def check(*args, **kwargs):
            if self.item is not None:
                self.started.append(what)
                raise StartedProcess(
                    f"{self.item.nodeid} started a process ({what}) but is not in the end-to-end"
                    f" tier: mark it @pytest.mark.{E2E} (tests/support/tiers.py)", pytrace=True)
            return real(*args, **kwargs)

        return check

    @contextmanager
    def watching(self, item: pytest.Item | None) -> Iterator[list[str]]:
        """Watch ``item`` (None: nothing) for the block; yields what it tried to start."""
        outer, outer_started = self.item, self.started
        self.item, self.started = item, []
        try:
            yield self.started
        finally:
            self.item, self.started = outer, outer_started
