"""Cold start: the import clock, the first-call tracker, and both in a real run's records."""

from __future__ import annotations

import sys
import time

import pytest

from bench.measure import cold_start
from bench.measure.cold_start import ImportClock, ProcessColdStart
from bench.measure.trackers.cold_start import ColdStartTracker


@pytest.fixture
def slow_package(tmp_path, monkeypatch):
    """``slowpkg`` (0.2 s to import) whose import pulls in ``slowpkg.inner`` (0.1 s more)."""
    package = tmp_path / "slowpkg"
    package.mkdir()
    (package / "__init__.py").write_text("import time\ntime.sleep(0.2)\nfrom slowpkg import inner\n")
    (package / "inner.py").write_text("import time\ntime.sleep(0.1)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "slowpkg"
    for name in ("slowpkg", "slowpkg.inner"):
        sys.modules.pop(name, None)


def test_import_clock_times_an_outermost_import_once_with_its_nested_imports(slow_package, monkeypatch):
    monkeypatch.setattr(cold_start, "WATCHED", ("slowpkg",))
    clock = ImportClock()
    sys.meta_path.insert(0, clock)
    try:
        start = time.perf_counter()
        __import__(slow_package)
        outside = time.perf_counter() - start
    finally:
        sys.meta_path.remove(clock)
    assert 0.3 <= clock.seconds <= outside  # 0.2 + 0.1 s, the nested import not counted twice


def test_two_import_clocks_do_not_ask_each_other(slow_package, monkeypatch):
    monkeypatch.setattr(cold_start, "WATCHED", ("slowpkg",))
    clocks = [ImportClock(), ImportClock()]
    sys.meta_path[:0] = clocks
    try:
        __import__(slow_package)
    finally:
        for clock in clocks:
            sys.meta_path.remove(clock)
    assert clocks[0].seconds >= 0.3


def test_import_clock_ignores_packages_it_does_not_watch(slow_package, monkeypatch):
    monkeypatch.setattr(cold_start, "WATCHED", ("torch",))
    clock = ImportClock()
    sys.meta_path.insert(0, clock)
    try:
        __import__(slow_package)
    finally:
        sys.meta_path.remove(clock)
    assert clock.seconds == 0.0


@pytest.fixture
def fresh_process(monkeypatch) -> ProcessColdStart:
    """A process that has made no pipeline call yet."""
    state = ProcessColdStart()
    monkeypatch.setattr(cold_start, "STATE", state)
    cold_start.note_session(load_s=0.5)
    return state


def test_only_the_first_call_of_the_process_is_timed_and_reported_once(fresh_process):
    first, second = ColdStartTracker("cpu", "a/bs1-n1"), ColdStartTracker("cpu", "a/bs2-n1")
    with first.warmup():
        time.sleep(0.05)
    with first.warmup():
        time.sleep(0.3)
    report = first.result()["cold_start"]
    with second.warmup():
        pass
    assert 0.05 <= report["first_call_s"] < 0.3
    assert (report["first_call"], report["first_call_config_id"], report["load_s"]) == (
        "warm-up", "a/bs1-n1", 0.5)
    assert report["first_call_peak_bytes"] > 0 and report["first_call_memory_view"] == "process_rss"
    assert second.result() == {"cold_start": None}


def test_a_failed_first_call_is_reported_as_failed_with_the_next_record(fresh_process):
    tracker = ColdStartTracker("cpu", "a/bs8-n1")
    with pytest.raises(MemoryError), tracker.warmup():
        raise MemoryError
    report = ColdStartTracker("cpu", "a/bs1-n1").result()["cold_start"]
    assert report["first_call_s"] is None
    assert "first call failed" in report["notes"][-1]


def test_run_records_cold_start_apart_from_the_steady_state(tiny_run):
    from bench.store.run_file import read_run

    records = read_run(tiny_run.path).configs
    cold = records[0]["cold_start"]
    assert cold["import_s"] > 0 and cold["load_s"] > 0
    assert cold["first_call"] == "timed"  # the run has --warmup 0: its first call is timed
    first_timed = records[0]["latency_s"]["values"][0]
    assert first_timed <= cold["first_call_s"] < first_timed + 0.5


def test_run_prints_cold_start_beside_the_steady_state(tiny_run):
    line = next(line for line in tiny_run.result.out.splitlines() if "cold start:" in line)
    assert "import " in line and "load " in line and "first call " in line
    assert "steady-state median" in line
