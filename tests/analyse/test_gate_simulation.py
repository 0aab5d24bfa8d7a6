"""The simulation benchmark, run quickly: its measured rates meet the targets loosely.

The rates are parsed from what the script prints, computed from its own draws: the test
fails when the gate's false-alarm rate or power drifts, not by construction.
"""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gate_simulation.py"
LINE = re.compile(
    r"result kind=(\w+) runs=(\d+) repeats=(\d+) cv=([\d.]+) planted=([\d.]+)"
    r" sims=(\d+) regressed=([\d.]+) fail=([\d.]+)"
)


def simulated() -> dict:
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                          text=True, timeout=300, check=True)
    rates = {}
    for m in LINE.finditer(done.stdout):
        key = (m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4)), float(m.group(5)))
        rates[key] = (float(m.group(7)), float(m.group(8)))
    return rates


RATES = None


def rates():
    global RATES
    if RATES is None:
        RATES = simulated()
    return RATES


def test_recommended_ab_setting_rarely_fails_identical_runs():
    # Target <= 1 %; with 150 draws allow up to 3 false alarms (2 %).
    for cv in (0.05, 0.1):
        assert rates()[("ab", 15, 3, cv, 1.0)][1] <= 0.02


def test_recommended_ab_setting_catches_a_ten_percent_slowdown_at_five_percent_cv():
    assert rates()[("ab", 15, 3, 0.05, 1.1)][0] >= 0.93


def test_planted_2x_slowdown_is_regressed_at_default_settings():
    assert rates()[("gate", 1, 6, 0.05, 2.0)][0] == 1.0


def test_three_repeats_cannot_produce_a_regressed_verdict():
    # The power rule turns them into inconclusive failures instead.
    assert rates()[("gate", 1, 3, 0.05, 2.0)][0] == 0.0


def test_one_run_per_side_at_default_settings_rarely_fails_identical_runs():
    # Per-call samples understate run-to-run drift; the assumed run CV keeps the single-run
    # gate from calling drift a regression (target <= 1 %; 150 draws: allow 2 %).
    for cv in (0.05, 0.1):
        assert rates()[("gate", 1, 6, cv, 1.0)][1] <= 0.02




def test_one_six_round_run_per_side_rarely_fails_identical_runs_and_catches_2x():
    for cv in (0.05, 0.1):
        assert rates()[("rounds", 6, 3, cv, 1.0)][1] <= 0.02
    assert rates()[("rounds", 6, 3, 0.05, 2.0)][0] == 1.0


def test_both_simulations_refuse_a_non_positive_sims_in_one_line():
    for script in (SCRIPT, SCRIPT.with_name("history_simulation.py")):
        done = subprocess.run([sys.executable, str(script), "--sims", "0"], capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == "error: --sims must be >= 1, got 0"
