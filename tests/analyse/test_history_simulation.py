"""The history simulation, run quickly: gate --history and the detector meet their targets.

Rates are parsed from what the script prints (its own draws): the test fails when the
gate's false-alarm rate or power, or the detector's, drifts — not by construction.
"""

import re
import subprocess
import sys
from pathlib import Path

from bench.stats.changepoint import SETTINGS

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "history_simulation.py"


def simulated() -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                          text=True, timeout=300, check=True)
    return done.stdout


OUT = None


def out() -> str:
    global OUT
    if OUT is None:
        OUT = simulated()
    return OUT


def gate_rates() -> dict:
    found = {}
    for m in re.finditer(r"result gate noise=(\S+) K=(\d+) C=(\d+) calls=(\d+) m=(\d+) sims=\d+"
                         r" false_alarm=([\d.]+) exit1=([\d.]+) detect=([\d.]+)", out()):
        found[(m[1], int(m[2]), int(m[3]), int(m[4]))] = (float(m[6]), float(m[7]), float(m[8]))
    return found


def case_rates() -> dict:
    """(case, noise, candidate runs) -> (regressed, exit 1, said) of the gate cases."""
    return {(m[1], float(m[2]), int(m[3])): (float(m[4]), float(m[5]), float(m[6]))
            for m in re.finditer(r"result case gate case=(\S+) noise=([\d.]+) C=(\d+) sims=\d+"
                                 r" regressed=([\d.]+) exit1=([\d.]+) said=([\d.]+)", out())}


def detector_rates() -> dict:
    return {(m[1], float(m[2])): float(m[3]) for m in re.finditer(
        r"result case detector case=(\S+) noise=([\d.]+) sims=\d+ rate=([\d.]+)", out())}


def test_identical_candidates_rarely_fail_at_any_noise():
    rates = gate_rates()
    assert len(rates) == 12
    for false_alarm, exit1, _ in rates.values():
        assert false_alarm <= 0.03 and exit1 <= 0.03  # target <= 1 %; 150 draws


def test_five_baseline_runs_flag_ten_percent_at_five_percent_per_call_noise():
    # one candidate run of 20 calls against 5 stored runs, per-call CV 5 %
    assert gate_rates()[("per-call_5%", 5, 1, 20)][2] >= 0.9


def test_one_candidate_run_cannot_show_ten_percent_at_five_percent_run_to_run_noise():
    # the candidate's own drift is as large as half the effect: no K helps, C runs do
    rates = gate_rates()
    assert rates[("run-to-run_5%", 5, 1, 6)][2] < 0.3
    assert rates[("run-to-run_5%", 20, 5, 6)][2] >= 0.8


def test_one_outlying_run_in_the_window_no_longer_fails_every_later_candidate():
    rates = case_rates()
    for noise in (0.05, 0.1):
        for c in (1, 5):
            _, exit1, said = rates[("outlier", noise, c)]
            assert exit1 <= 0.1 and said >= 0.9  # was: exit 1 for every candidate
    assert rates[("outlier,+30%", 0.05, 1)][0] >= 0.85  # and a real slowdown still shows


def test_the_gate_says_drift_where_the_history_drifts():
    assert case_rates()[("drift", 0.05, 1)][2] >= 0.8


def test_the_detector_finds_the_step_a_reader_sees_and_calls_a_drift_a_drift():
    rates = detector_rates()
    assert rates[("step15", 0.05)] >= 0.85  # 30 runs, +15 % from run 20, 5 % run noise
    assert rates[("step30", 0.05)] >= 0.95 and rates[("step30", 0.1)] >= 0.8
    assert rates[("drift", 0.05)] >= 0.8 and rates[("staircase", 0.05)] <= 0.2
    for noise in (0.05, 0.1):
        assert rates[("level", noise)] <= 0.03 and rates[("outlier", noise)] <= 0.03


def test_each_setting_finds_the_step_it_publishes_and_stricter_ones_find_less():
    found = {(m[1], float(m[2]), int(m[3])): float(m[4]) for m in re.finditer(
        r"result operating setting=(\w+) sigmas=([\d.]+) within=(\d+) draws=\d+ found=([\d.]+)",
        out())}
    for setting in SETTINGS.values():
        for runs, sigmas in setting.found:  # published: in 9 of 10 series; 100 draws here
            assert found[(setting.name, sigmas, runs)] >= 0.8, (setting.name, runs)
    assert found[("strict", 3.0, 5)] <= found[("balanced", 3.0, 5)] <= found[("sensitive", 3.0, 5)]
