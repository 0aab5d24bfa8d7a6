"""The history simulation, run quickly: gate --history and the detector meet their targets.

Rates are parsed from what the script prints (its own draws): the test fails when the
gate's false-alarm rate or power, or the detector's, drifts — not by construction.
"""

import re
import subprocess
import sys
from pathlib import Path

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


def test_the_detector_finds_a_planted_step_at_its_run_and_nothing_on_flat_series():
    steps = dict(re.findall(r"result step sd=([\d.]+) sims=\d+ found=[\d.]+ exact=([\d.]+)", out()))
    assert float(steps["0.02"]) >= 0.98 and float(steps["0.03"]) >= 0.9
    flats = re.findall(r"result flat n=\d+ sd=[\d.]+ kind=\w+ sims=\d+ false=([\d.]+)", out())
    assert flats and all(float(f) <= 0.02 for f in flats)
