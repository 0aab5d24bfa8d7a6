"""How well do ``gate --history`` and the change-point detector work, and when can they not?

Three simulations over synthetic runs, judged by the real analysis code
(``bench.analyse.gate.gate_history`` and ``bench.stats.changepoint.detect``).
Standard library only; about half an hour on one core (``--quick``: a minute, for the
tests; ``--part gate|rule|cases|operating`` runs one part).

**gate: what "5 % noise" lets gate --history detect.** A machine's history holds K runs
of each config; the candidate is C more runs, either identical (false alarms) or 10 %
slower (detection). A call's latency is

    base(config) x planted x exp(drift_run + noise_call)

with drift_run ~ N(0, s_b) shared by every config and call of a run (between-run noise:
load, clocks, allocator state) and noise_call ~ N(0, s_w) (within-run noise). "5 % noise"
can mean different things, so each is simulated (a CV c is a log-sd sqrt(ln(1 + c^2))):

- ``per-call 5%``: s_w = 5 %, s_b = 0 (calls scatter, runs agree);
- ``per-call 5% + run 1%``: s_w = 5 %, s_b = 1 %;
- ``run-to-run 5%``: s_b = 5 %, s_w = 1 % (each run's median lands ~5 % off);
- ``total 5% split``: s_b = s_w, s_b^2 + s_w^2 = ln(1 + 0.05^2) (as gate_simulation.py).

A comparison "regressed" when any config regressed; "exit 1" when the gate failed
(regressed, or inconclusive). Alpha 0.01, --max-slowdown 5 %, Holm over the configs.

**rule: what leaving outlying runs out costs** in false alarms (identical candidates, the
rule on and off, 20x the draws of a cell).

**cases: what each kind of history does**, at 5 % and 10 % run-to-run noise (s_b; calls
1 %, 6 a run), for ``gate --history --last 10`` (30 stored runs, 1 config, 1 and 5
candidate runs) and for the detector ('balanced', 30 runs): a level series, steps of
+10/15/30 %, a single run 3x slower, a slow drift of +1 %/run, and a step that reverts.

**operating: the detector's operating points** (``bench.stats.changepoint.SETTINGS``):
false change points on a level series per 365 runs, as a dashboard rebuilt after every
run would show them (every change point that appears in any night's report counts, once;
each night searches the newest 60 runs, see ``--years``), and the share of steps of k
run-to-run standard deviations found at their run (+-1) within N runs after them. On
the log scale the detector is scale-free (every threshold is in units of the estimated
noise), so these hold at any noise well above the 0.2 % floor.

    python benchmarks/history_simulation.py            # the tables in docs/history.md
    python benchmarks/history_simulation.py --quick    # fewer draws, for the test suite
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analyse.gate import (  # noqa: E402
    Code,
    Outcome,
    Thresholds,
    exit_code,
    gate_history,
)
from bench.result import ConfigResult, Summary  # noqa: E402
from bench.stats.changepoint import SETTINGS, detect  # noqa: E402
from bench.store.history import Machine, ResultRow, StoredRun  # noqa: E402
from bench.store.result_files import Entry, ResultSet  # noqa: E402
from benchmarks.gate_simulation import rate_text as rate  # noqa: E402  (one Wilson interval)

CONFIGS = [(bs, n) for bs in (1, 2, 4) for n in (1, 2)]
BASE_S = {c: 0.5 + 0.25 * c[0] * c[1] for c in CONFIGS}
MACHINE = Machine("sim", "simulated machine")


def log_sd(cv: float) -> float:
    return math.sqrt(math.log1p(cv * cv))


SPLIT = math.sqrt(math.log1p(0.05**2) / 2)
NOISES = {  # name: (s_b between runs, s_w within a run), log scale
    "per-call 5%": (0.0, log_sd(0.05)),
    "per-call 5% + run 1%": (log_sd(0.01), log_sd(0.05)),
    "run-to-run 5%": (log_sd(0.05), log_sd(0.01)),
    "total 5% split": (SPLIT, SPLIT),
}


@dataclass(frozen=True)
class Setting:
    baseline: int  # K: runs in the history (gate --last K)
    candidates: int  # C: candidate runs
    calls: int  # timed calls per config per run (run --repeats)
    configs: int  # configs judged together (Holm)

    def text(self) -> str:
        return f"K={self.baseline}, C={self.candidates}, {self.calls} calls, {self.configs} config(s)"


def _median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _calls(rng, config, planted, drift, s_w, calls):
    return tuple(BASE_S[config] * planted * math.exp(drift + rng.gauss(0.0, s_w))
                 for _ in range(calls))


def _result(key: str, latencies: tuple[float, ...]) -> ConfigResult:
    median = _median(latencies)
    return ConfigResult(
        config_id=key, scenario="sim", model="sim", dtype="float16", batch_size=1,
        num_images_per_prompt=1, num_inference_steps=30, height=1024, width=1024, world_size=1,
        images_per_call=1, latency=Summary(median=median, values=latencies, n=len(latencies)),
        images_per_s=1 / median)


def _row(index: int, key: str, latencies: tuple[float, ...]) -> ResultRow:
    run = StoredRun(id=index, digest=f"d{index}", run_id=str(index),
                    started_at=f"2026-01-01T{index:08d}", commit=f"c{index}", label=None,
                    machine=MACHINE, versions={}, source=None)
    return ResultRow(workload=key, optimizations="default", result=_result(key, latencies), run=run)


def judge_once(rng: random.Random, setting: Setting, s_b: float, s_w: float,
               planted: float) -> tuple[bool, bool]:
    """(any config regressed, gate exit 1) for one simulated candidate."""
    configs = CONFIGS[: setting.configs]
    history = []
    for index in range(setting.baseline):
        drift = rng.gauss(0.0, s_b)
        history += [_row(index, f"bs{c[0]} n{c[1]}", _calls(rng, c, 1.0, drift, s_w, setting.calls))
                    for c in configs]
    candidates = []
    for _ in range(setting.candidates):
        drift = rng.gauss(0.0, s_b)
        entries = []
        for c in configs:
            calls = _calls(rng, c, planted, drift, s_w, setting.calls)
            key = f"bs{c[0]} n{c[1]}"
            entries.append(Entry(key, _result(key, calls)))
        candidates.append(ResultSet(Path("cand"), "run", "sim", tuple(entries)))
    thresholds = Thresholds()
    verdicts = gate_history(history, candidates, thresholds, setting.baseline).verdicts
    return any(v.outcome == "regressed" for v in verdicts), exit_code(verdicts, thresholds) == 1


GATE_SETTINGS = [
    Setting(5, 1, 6, 1), Setting(5, 1, 20, 1), Setting(10, 1, 6, 1), Setting(20, 1, 20, 1),
    Setting(5, 3, 6, 1), Setting(10, 3, 6, 1), Setting(10, 5, 6, 1), Setting(20, 5, 6, 1),
    Setting(5, 1, 20, 6), Setting(10, 3, 6, 6), Setting(20, 5, 6, 6),
]
QUICK_GATE = [Setting(5, 1, 20, 1), Setting(5, 1, 6, 1), Setting(20, 5, 6, 1)]


def gate_table(rng: random.Random, sims: int, settings) -> list[str]:
    identical = 3 * sims  # false alarms are rare: more draws to pin them down
    print(f"\n### gate --history: {identical} identical and {sims} slower candidates per cell,"
          " alpha 0.01 (Holm), --max-slowdown 5%; rates with 95% Wilson intervals\n")
    print("| noise | setting | identical: regressed | identical: exit 1 | +10%: regressed |")
    print("|---|---|---|---|---|")
    lines = []
    for name, (s_b, s_w) in NOISES.items():
        for setting in settings:
            alarms = failed = caught = 0
            for _ in range(identical):
                regressed, fail = judge_once(rng, setting, s_b, s_w, 1.0)
                alarms += regressed
                failed += fail
            for _ in range(sims):
                caught += judge_once(rng, setting, s_b, s_w, 1.10)[0]
            print(f"| {name} | {setting.text()} | {rate(alarms, identical)} |"
                  f" {rate(failed, identical)} | {rate(caught, sims)} |", flush=True)
            lines.append(f"result gate noise={name.replace(' ', '_')} K={setting.baseline}"
                         f" C={setting.candidates} calls={setting.calls} m={setting.configs}"
                         f" sims={sims} false_alarm={alarms / identical:.4f}"
                         f" exit1={failed / identical:.4f} detect={caught / sims:.4f}")
    return lines


def outlier_rule_cost(rng: random.Random, sims: int) -> list[str]:
    """False alarms with and without leaving outlying runs out (``gate --history``), on
    the same simulated histories: the rule removes the most extreme run of about 1 % of
    windows of normal noise, and a window that lost its widest run has a smaller spread."""
    from bench.analyse.gate import baselines

    draws = 20 * sims
    print(f"\n### the outlier rule's cost: identical candidates, K=10, C=1, 6 calls, 1 config,"
          f" {draws} comparisons a cell\n")
    print("| noise | regressed, outlying runs left out (as shipped) | regressed, every run kept |")
    print("|---|---|---|")
    lines = []
    shipped = baselines.history_outliers
    for name in ("run-to-run 5%", "total 5% split"):
        seeds = [rng.getrandbits(64) for _ in range(draws)]  # the same histories both ways
        cells = []
        for rule in (shipped, lambda *args, **kwargs: ()):
            baselines.history_outliers = rule
            try:
                hits = sum(judge_once(random.Random(seed), Setting(10, 1, 6, 1), *NOISES[name],
                                      1.0)[0] for seed in seeds)
            finally:
                baselines.history_outliers = shipped
            cells.append(hits)
        print(f"| {name} | {rate(cells[0], draws)} | {rate(cells[1], draws)} |", flush=True)
        lines.append(f"result rule noise={name.replace(' ', '_')} draws={draws}"
                     f" with={cells[0] / draws:.4f} without={cells[1] / draws:.4f}")
    print(f"\nand what it buys: one run {OUTLIER:g}x slower in the window of {LAST} (30 stored"
          f" runs, 1 config, 6 calls), an identical candidate run, {sims} comparisons a cell\n")
    print("| run-to-run noise | exit 1, outlying runs left out (as shipped) | exit 1, every run kept |")
    print("|---|---|---|")
    for noise in RUN_NOISES:
        seeds = [rng.getrandbits(64) for _ in range(sims)]
        cells = []
        for rule in (shipped, lambda *args, **kwargs: ()):
            baselines.history_outliers = rule
            try:
                cells.append(sum(judge_case(random.Random(seed), "outlier", noise, 1)[1]
                                 for seed in seeds))
            finally:
                baselines.history_outliers = shipped
        print(f"| {noise:.0%} | {rate(cells[0], sims)} | {rate(cells[1], sims)} |", flush=True)
        lines.append(f"result rule outlier noise={noise} sims={sims}"
                     f" with={cells[0] / sims:.4f} without={cells[1] / sims:.4f}")
    return lines


# --- cases: what each kind of history does -----------------------------------------------

RUN_NOISES = (0.05, 0.10)  # run-to-run CV of the cases and the operating points
CALL_NOISE = log_sd(0.01)
HISTORY_RUNS = 30
LAST = 10  # gate --last (the default)
OUTLIER = 3.0  # a run 3x slower: a runner hiccup


def history_factors(case: str, rng: random.Random) -> list[float]:
    """The planted factor of each of the HISTORY_RUNS stored runs, oldest first."""
    factors = [1.0] * HISTORY_RUNS
    if case == "outlier":  # one run in the --last window, anywhere in it
        factors[HISTORY_RUNS - 1 - rng.randrange(LAST)] = OUTLIER
    elif case == "drift":
        factors = [1.01 ** i for i in range(HISTORY_RUNS)]
    elif case == "reverts":  # +30 % for 3 runs inside the window, then back
        for i in range(HISTORY_RUNS - 7, HISTORY_RUNS - 4):
            factors[i] = 1.30
    return factors


CANDIDATE = {"level": 1.0, "+10%": 1.10, "+15%": 1.15, "+30%": 1.30, "outlier": 1.0,
             "outlier, +30%": 1.30, "drift": 1.01 ** HISTORY_RUNS, "reverts": 1.0}
SAID = {"outlier": Code.OUTLYING_RUNS, "outlier, +30%": Code.OUTLYING_RUNS,
        "drift": Code.WINDOW_DRIFT, "reverts": Code.WINDOW_STEP}


def judge_case(rng: random.Random, case: str, noise: float, candidates: int
               ) -> tuple[bool, bool, bool]:
    """(regressed, exit 1, the case's own note said) for one simulated gate --history."""
    s_b = log_sd(noise)
    key, config = "bs1 n1", (1, 1)
    history = []
    for index, factor in enumerate(history_factors(case.split(",")[0], rng)):
        calls = _calls(rng, config, factor, rng.gauss(0.0, s_b), CALL_NOISE, 6)
        history.append(_row(index, key, calls))
    sets = []
    for _ in range(candidates):
        calls = _calls(rng, config, CANDIDATE[case], rng.gauss(0.0, s_b), CALL_NOISE, 6)
        sets.append(ResultSet(Path("cand"), "run", "sim", (Entry(key, _result(key, calls)),)))
    thresholds = Thresholds()
    (verdict,) = gate_history(history, sets, thresholds, LAST).verdicts
    said = case in SAID and any(r.code is SAID[case] for r in verdict.reasons)
    return verdict.outcome is Outcome.REGRESSED, exit_code([verdict], thresholds) == 1, said


def gate_cases(rng: random.Random, sims: int) -> list[str]:
    print(f"\n### gate --history --last {LAST}: {HISTORY_RUNS} stored runs, 1 config, 6 calls a"
          f" run (1 % per call); {sims} comparisons per cell, rates with 95% Wilson intervals\n")
    columns = [(noise, c) for noise in RUN_NOISES for c in (1, 5)]
    print("| history | candidate | measure | " + " | ".join(
        f"{noise:.0%} run noise, {c} run(s)" for noise, c in columns) + " |")
    print("|---|---|---|" + "---|" * len(columns))
    cases = [("level", "identical", "exit 1 (false alarm)", 1),
             ("level", "+10%", "regressed", 0), ("level", "+15%", "regressed", 0),
             ("level", "+30%", "regressed", 0),
             ("one run 3x slower in the window", "identical", "exit 1", 1),
             ("one run 3x slower in the window", "identical", "says: left out", 2),
             ("one run 3x slower in the window", "+30%", "regressed", 0),
             ("drift +1%/run", "continues it (+1%)", "regressed", 0),
             ("drift +1%/run", "continues it (+1%)", "says: drift", 2),
             ("+30% for 3 runs in the window, then back", "identical", "exit 1", 1),
             ("+30% for 3 runs in the window, then back", "identical", "says: step", 2)]
    names = {"level": {"identical": "level", "+10%": "+10%", "+15%": "+15%", "+30%": "+30%"},
             "one run 3x slower in the window": {"identical": "outlier", "+30%": "outlier, +30%"},
             "drift +1%/run": {"continues it (+1%)": "drift"},
             "+30% for 3 runs in the window, then back": {"identical": "reverts"}}
    results: dict[tuple[str, float, int], list[int]] = {}
    lines = []
    for history, candidate, measure, which in cases:
        case = names[history][candidate]
        cells = []
        for noise, c in columns:
            if (case, noise, c) not in results:
                counts = [0, 0, 0]
                for _ in range(sims):
                    for i, hit in enumerate(judge_case(rng, case, noise, c)):
                        counts[i] += hit
                results[(case, noise, c)] = counts
                lines.append(f"result case gate case={case.replace(' ', '')} noise={noise}"
                             f" C={c} sims={sims} regressed={counts[0] / sims:.4f}"
                             f" exit1={counts[1] / sims:.4f} said={counts[2] / sims:.4f}")
            cells.append(rate(results[(case, noise, c)][which], sims))
        print(f"| {history} | {candidate} | {measure} | " + " | ".join(cells) + " |", flush=True)
    return lines


def series_values(rng: random.Random, n: int, sd: float, factor=lambda i: 1.0) -> list[float]:
    """n run medians with lognormal run-to-run noise of log-sd ``sd``, times ``factor(i)``."""
    return [math.exp(rng.gauss(0.0, sd)) * factor(i) for i in range(n)]


STEP_AT = 19  # 0-based: run 20 of 30 is the first run after the step


def _found(steps, at: int, up: bool) -> bool:
    return any(abs(s.index - at) <= 1 and (s.ratio > 1) == up for s in steps)


DETECTOR_CASES = {
    # id: (the row, planted factor of run i, what counts)
    "level": ("level: any change point (false alarm)",
              lambda i: 1.0, lambda d: bool(d.steps or d.drifts)),
    "step10": ("+10% from run 20: found at its run (+-1)",
               lambda i: 1.10 if i >= STEP_AT else 1.0, lambda d: _found(d.steps, STEP_AT, True)),
    "step15": ("+15% from run 20: found at its run (+-1)",
               lambda i: 1.15 if i >= STEP_AT else 1.0, lambda d: _found(d.steps, STEP_AT, True)),
    "step30": ("+30% from run 20: found at its run (+-1)",
               lambda i: 1.30 if i >= STEP_AT else 1.0, lambda d: _found(d.steps, STEP_AT, True)),
    "outlier": ("one run 3x slower (run 12): any change point (false alarm)",
                lambda i: OUTLIER if i == 11 else 1.0, lambda d: bool(d.steps or d.drifts)),
    "drift": ("drift +1%/run: said drift",
              lambda i: 1.01 ** i, lambda d: bool(d.drifts)),
    "staircase": ("drift +1%/run: any step (a staircase)",
                  lambda i: 1.01 ** i, lambda d: bool(d.steps)),
    "reverts": ("+30% for runs 15-20, then back: both steps found",
                lambda i: 1.30 if 14 <= i < 20 else 1.0,
                lambda d: _found(d.steps, 14, True) and _found(d.steps, 20, False)),
}


def detector_cases(rng: random.Random, sims: int) -> list[str]:
    print(f"\n### change points, '{SETTINGS['balanced'].name}' setting: 30 runs, {sims} series per"
          " cell, rates with 95% Wilson intervals\n")
    print("| series | " + " | ".join(f"{n:.0%} run noise" for n in RUN_NOISES) + " |")
    print("|---|" + "---|" * len(RUN_NOISES))
    lines = []
    for case, (name, factor, counts) in DETECTOR_CASES.items():
        cells = []
        for noise in RUN_NOISES:
            hits = sum(counts(detect(series_values(rng, 30, log_sd(noise), factor)))
                       for _ in range(sims))
            cells.append(rate(hits, sims))
            lines.append(f"result case detector case={case} noise={noise} sims={sims}"
                         f" rate={hits / sims:.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return lines


# --- operating points of the detector ----------------------------------------------------

NIGHTLY_WINDOW = 60  # runs each simulated night searches (the full search costs 50x more)


def nightly_false(rng: random.Random, setting, nights: int = 365,
                  window: int = NIGHTLY_WINDOW) -> int:
    """Change points a dashboard rebuilt after every run of a level series shows over
    ``nights`` runs, each counted once: a step is new when no step within 2 runs of it
    was shown the night before, a drift when it overlaps none."""
    values: list[float] = []
    steps: list[int] = []
    drifts: list[tuple[int, int]] = []
    count = 0
    for _ in range(nights):
        values.append(math.exp(rng.gauss(0.0, 0.05)))
        if len(values) < 6:
            continue
        found = detect(values, setting, window=window)
        now = [s.index for s in found.steps]
        count += sum(not any(abs(k - old) <= 2 for old in steps) for k in now)
        spans = [(d.start, d.end) for d in found.drifts]
        count += sum(not any(a < old_end and old_start < b for old_start, old_end in drifts)
                     for a, b in spans)
        steps, drifts = now, spans
    return count


def mean_text(counts: list[int]) -> str:
    """The mean with a 95 % interval from the spread of the counts (normal), or, with no
    event at all, the upper bound 3/n (the rule of three)."""
    n = len(counts)
    mean = sum(counts) / n
    if not any(counts):
        return f"0 [0, {3 / n:.2f}]"
    sd = math.sqrt(sum((c - mean) ** 2 for c in counts) / max(n - 1, 1))
    half = 1.96 * sd / math.sqrt(n)
    return f"{mean:.2f} [{max(0.0, mean - half):.2f}, {mean + half:.2f}]"


SIGMAS = (2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0)
WITHIN = (3, 5, 10)


def step_found(rng: random.Random, setting, sigmas: float, after: int, draws: int) -> int:
    """Series of 30 level runs and ``after`` runs ``sigmas`` run-to-run standard deviations
    higher: in how many is the step found at its run (+-1)?"""
    sd = log_sd(0.05)
    factor = math.exp(sigmas * sd)
    return sum(_found(detect(series_values(rng, 30 + after, sd,
                                           lambda i: factor if i >= 30 else 1.0), setting).steps,
                      30, True) for _ in range(draws))


def operating_points(rng: random.Random, sims: int, years: int, quick: bool,
                     full_years: int, names: list[str] | None = None) -> list[str]:
    # quick: fewer sizes, but always those the settings publish
    published = {sd for s in SETTINGS.values() for _, sd in s.found}
    sigmas = sorted({2.0, 3.0, *published}) if quick else SIGMAS
    within = WITHIN
    draws = max(100, sims // 2)
    print(f"\n### operating points: false change points per 365 runs of a level series (nightly"
          f" reports, each searching the newest {NIGHTLY_WINDOW} runs; {years} series-years a"
          " setting; mean with a 95% interval) and steps found at their run within N runs"
          f" ({draws} series a cell; the step in run-to-run standard deviations, +x% at 5%"
          " noise)\n")
    print("| setting | penalty, trend, min z | false per 365 runs | series-years with any | "
          + " | ".join(f"{k:g} sd ({math.exp(k * log_sd(0.05)) - 1:+.0%}), N={n}"
                       for n in within for k in sigmas) + " |")
    print("|---|---|---|---|" + "---|" * (len(sigmas) * len(within)))
    lines = []
    for setting in (SETTINGS[name] for name in names or SETTINGS):
        counts = [nightly_false(rng, setting) for _ in range(years)]
        cells = []
        smallest = {}
        for n in within:
            for k in sigmas:
                hits = step_found(rng, setting, k, n, draws)
                cells.append(rate(hits, draws))
                lines.append(f"result operating setting={setting.name} sigmas={k} within={n}"
                             f" draws={draws} found={hits / draws:.4f}")
                if hits >= 0.9 * draws and n not in smallest:
                    smallest[n] = k
        print(f"| {setting.name} | {setting.penalty:g}, {setting.trend:g}, {setting.min_z:g} |"
              f" {mean_text(counts)} | {rate(sum(bool(c) for c in counts), years)} | "
              + " | ".join(cells) + " |", flush=True)
        lines.append(f"result operating setting={setting.name} years={years}"
                     f" false_per_year={sum(counts) / years:.4f} smallest="
                     + ",".join(f"{n}:{k:g}" for n, k in sorted(smallest.items())))
    if full_years:
        setting = SETTINGS["balanced"]
        counts = [nightly_false(rng, setting, window=10**6) for _ in range(full_years)]
        print(f"\ncheck, 'balanced', every night searching the whole series: {mean_text(counts)}"
              f" false change points per 365 runs ({full_years} series-years)", flush=True)
        lines.append(f"result operating check setting=balanced years={full_years}"
                     f" false_per_year={sum(counts) / full_years:.4f}")
    return lines


def _arguments(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer draws (a test)")
    parser.add_argument("--sims", type=int, default=None, help="draws per cell")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--years", type=int, default=None,
                        help="series-years of nightly reports per setting (default 150)")
    parser.add_argument("--full-years", type=int, default=None,
                        help="series-years searched whole each night, the check (default 10)")
    parser.add_argument("--part", choices=("all", "gate", "rule", "cases", "operating"),
                        default="all")
    parser.add_argument("--setting", choices=tuple(SETTINGS), action="append",
                        help="operating part: only these settings (default: all)")
    args = parser.parse_args(argv)
    args.sims = args.sims if args.sims is not None else (150 if args.quick else 1000)
    args.years = args.years if args.years is not None else (3 if args.quick else 150)
    args.full_years = args.full_years if args.full_years is not None else (0 if args.quick else 10)
    for flag, value, least in (("--sims", args.sims, 1), ("--years", args.years, 1),
                               ("--full-years", args.full_years, 0)):
        if value < least:  # one line, as gate_simulation.py says it
            print(f"error: {flag} must be >= {least}, got {value}", file=sys.stderr)
            raise SystemExit(2)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    machine = platform.processor() or platform.machine()
    print(f"history simulation, {datetime.now(timezone.utc):%Y-%m-%d}, {machine},"
          f" Python {platform.python_version()}, seed {args.seed}")
    lines = []
    if args.part in ("all", "gate"):
        lines += gate_table(rng, args.sims, QUICK_GATE if args.quick else GATE_SETTINGS)
    if args.part in ("all", "rule") and not args.quick:
        lines += outlier_rule_cost(rng, args.sims)
    if args.part in ("all", "cases"):
        lines += gate_cases(rng, args.sims)
        lines += detector_cases(rng, args.sims)
    if args.part in ("all", "operating"):
        lines += operating_points(rng, args.sims, args.years, args.quick, args.full_years,
                                  args.setting)
    print()
    print("\n".join(lines))
    print(f"\ntook {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
