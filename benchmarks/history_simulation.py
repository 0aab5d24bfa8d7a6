"""How well do ``gate --history`` and the change-point detector work, and when can they not?

Two simulations over synthetic runs, judged by the real analysis code
(``bench.analyse.gate.gate_history`` and ``bench.stats.changepoint.detect``).
Standard library only; a few minutes on one core (``--quick``: seconds, for the tests).

**gate --history.** A machine's history holds K runs of each config; the candidate is C
more runs, either identical (false alarms) or 10 % slower (detection). A call's latency is

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

**Change points.** Series of 30 run medians with run-to-run noise (Gaussian log-sd), a
+15 % step planted at run 20 (runs 20..30 slower) or none; plus flat series of other
lengths, heavy-tailed noise and outlying runs. "found" = exactly one change point;
"at run 20" = found at the planted run (so with the right commit); "+-1" within a run.

    python benchmarks/history_simulation.py            # the tables in docs/history.md
    python benchmarks/history_simulation.py --quick    # fewer draws, for the test suite
"""

from __future__ import annotations

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
    Thresholds,
    exit_code,
    gate_history,  # noqa: E402
)
from bench.result import ConfigResult, Summary  # noqa: E402
from bench.stats.changepoint import detect  # noqa: E402
from bench.store.history import Machine, ResultRow, StoredRun  # noqa: E402
from bench.store.result_files import Entry, ResultSet  # noqa: E402
from benchmarks.gate_simulation import rate_text as rate  # noqa: E402  (one Wilson interval)
from benchmarks.gate_simulation import simulation_settings  # noqa: E402

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


def _series(rng, n, sd, step_at=None, factor=1.15, tails=None, outliers=0.0):
    values = []
    for i in range(n):
        noise = rng.gauss(0.0, sd)
        if tails:  # Student t with `tails` df, scaled to sd
            chi = sum(rng.gauss(0, 1) ** 2 for _ in range(tails))
            noise = sd * rng.gauss(0.0, 1.0) / math.sqrt(chi / tails) / math.sqrt(tails / (tails - 2))
        value = math.exp(noise) * (factor if step_at is not None and i >= step_at else 1.0)
        if outliers and rng.random() < outliers:
            value *= 1.3
        values.append(value)
    return values


def detector_table(rng: random.Random, sims: int, quick: bool) -> list[str]:
    print("\n### change points: series of run medians, defaults of bench/stats/changepoint.py\n")
    print("| series | draws | found (exactly one) | at run 20 | within +-1 run | any change point |")
    print("|---|---|---|---|---|---|")
    lines = []
    for sd in (0.02, 0.03, 0.05):
        found = exact = near = 0
        for _ in range(sims):
            steps = detect(_series(rng, 30, sd, step_at=19)).steps
            one = len(steps) == 1
            found += one
            exact += one and steps[0].index == 19
            near += one and abs(steps[0].index - 19) <= 1
        print(f"| 30 runs, +15% at run 20, run-to-run {sd:.0%} | {sims} | {rate(found, sims)} |"
              f" {rate(exact, sims)} | {rate(near, sims)} | |", flush=True)
        lines.append(f"result step sd={sd} sims={sims} found={found / sims:.4f}"
                     f" exact={exact / sims:.4f} near={near / sims:.4f}")
    flats = [(30, 0.02, {}), (30, 0.05, {})] if quick else [
        (8, 0.05, {}), (10, 0.05, {}), (30, 0.02, {}), (30, 0.05, {}), (100, 0.05, {}),
        (300, 0.05, {}), (30, 0.05, {"tails": 3}), (30, 0.05, {"outliers": 0.05})]
    for n, sd, kind in flats:
        draws = sims if n <= 30 else max(100, sims // (5 if n <= 100 else 20))
        alarms = sum(bool(detect(_series(rng, n, sd, **kind)).steps) for _ in range(draws))
        what = {"tails": "Student-t(3) noise", "outliers": "Gaussian noise, 5% of runs +30%"}.get(
            next(iter(kind), ""), "Gaussian noise")
        print(f"| {n} runs flat, {sd:.0%} {what} | {draws} | | | | {rate(alarms, draws)} |",
              flush=True)
        lines.append(f"result flat n={n} sd={sd} kind={next(iter(kind), 'gauss')} sims={draws}"
                     f" false={alarms / draws:.4f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    sims, rng, quick = simulation_settings(__doc__.splitlines()[0], argv)
    started = time.perf_counter()
    machine = platform.processor() or platform.machine()
    print(f"history simulation, {datetime.now(timezone.utc):%Y-%m-%d}, {machine},"
          f" Python {platform.python_version()}")
    lines = gate_table(rng, sims, QUICK_GATE if quick else GATE_SETTINGS)
    lines += detector_table(rng, sims, quick)
    print()
    print("\n".join(lines))
    print(f"\ntook {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
