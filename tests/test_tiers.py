"""The fast tier (``pytest -m "not e2e"``) starts no process: tests that do are found and
marked ``e2e`` at collection, and the guard fails any other test that tries, before the
process exists. This file is itself in the fast tier, so the guard watches it too."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

import tests.conftest as conftest
from tests.support import cli
from tests.support.cli import run_forked, run_in_process, run_subprocess
from tests.support.tiers import E2E, StartedProcess, item_starts_processes, starts_processes


def fake_test(name: str = "tests/test_fake.py::test_fake") -> SimpleNamespace:
    return SimpleNamespace(nodeid=name)


# Ways a test starts a process, each given a path it would create. Held in a table (which
# the collection-time check does not follow) so that the tests below stay in the fast
# tier, where the guard watches them.
WAYS = {
    "subprocess.run": lambda made: subprocess.run(
        [sys.executable, "-c", f"open({str(made)!r}, 'w')"], check=False),
    "subprocess.Popen": lambda made: subprocess.Popen(["touch", str(made)]).wait(),
    "os.system": lambda made: os.system(f"touch {made}"),
    "os.fork": lambda made: os.fork() == 0 and os._exit(made.touch() or 0),
    "multiprocessing": lambda made: multiprocessing.get_context("fork").Process(
        target=made.touch).start(),
    "run_forked": lambda made: run_forked("history", "export", "--format", "csv", "--out", str(made)),
}


@pytest.mark.parametrize("way", WAYS)
def test_a_process_started_in_a_fast_test_fails_it_before_the_process_runs(way, tmp_path):
    made = tmp_path / "made"
    with conftest.GUARD.watching(fake_test()) as started:
        with pytest.raises(StartedProcess, match=r"test_fake started a process .* @pytest.mark.e2e"):
            WAYS[way](made)
    assert started and not made.exists()


def test_the_guard_watches_this_fast_test(request):
    assert conftest.GUARD.item is request.node
    assert request.node.get_closest_marker(E2E) is None


def test_the_guard_is_off_for_an_end_to_end_test(request):
    assert request.node.get_closest_marker(E2E) is not None  # it starts a process below
    assert conftest.GUARD.item is None
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0


def forked_list():
    return run_forked("list")


def through_a_helper():
    return forked_list().code


def through_the_module():
    return cli.run_subprocess("list")


def signals_a_process():
    return subprocess.Popen(cli.command("list"))


def forks():
    return os.fork()


def reads_a_run(path):
    return json.loads(path.read_text())


def in_process():
    return run_in_process("list")


def ab_in_process(tmp_path):
    return run_in_process("ab", "--a-command", "x", "--b-command", "y", "--out", str(tmp_path))


STARTING = (forked_list, through_a_helper, through_the_module, signals_a_process, forks,
            run_subprocess, ab_in_process)
NOT_STARTING = (reads_a_run, in_process)


def test_code_that_starts_processes_is_found_through_helpers_and_modules():
    for func in STARTING:
        assert starts_processes(func), func.__name__
    for func in NOT_STARTING:
        assert not starts_processes(func), func.__name__


def test_a_test_using_a_fixture_that_runs_the_cli_is_end_to_end():
    def test_reads(tiny_run):
        assert tiny_run.path.exists()

    fixture = SimpleNamespace(func=conftest.tiny_run)  # ``tiny_run`` runs ``sdxl-bench run``
    item = SimpleNamespace(function=test_reads,
                           _fixtureinfo=SimpleNamespace(name2fixturedefs={"tiny_run": [fixture]}))
    assert item_starts_processes(item)
    item._fixtureinfo.name2fixturedefs = {}
    assert not item_starts_processes(item)


def test_the_marker_is_registered_for_selection(pytestconfig):
    assert any(line.startswith(f"{E2E}:") for line in pytestconfig.getini("markers"))
