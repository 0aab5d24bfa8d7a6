"""How often does the gate cry wolf, and how often does it catch a real slowdown?

Draws synthetic runs of the default 6-config sweep (batch sizes 1, 2, 4 x 1, 2 images
per prompt) and judges them with the real analysis code (``bench.analyse.gate``), for
the settings the docs discuss. Standard library only; about a minute on one core.

Noise model (docs/statistics.md): a call's latency is

    base(config) x planted x exp(drift_run + noise_call)

with drift_run ~ N(0, s_b) shared by every call of a run (load, frequency, allocator
state: the between-run noise) and noise_call ~ N(0, s_w) per call. "CV" is the total
coefficient of variation of one call across runs, split evenly: s_b = s_w, and
s_b^2 + s_w^2 = ln(1 + CV^2). Drifts of different runs are independent, the worst case
for pairing (on a real machine neighbouring runs share part of their drift).

    python benchmarks/gate_simulation.py            # the table in docs/statistics.md
    python benchmarks/gate_simulation.py --quick    # fewer draws, for the test suite
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analyse.gate import Thresholds, ab_gate, exit_code, gate  # noqa: E402
from bench.result import ROUND_MEDIANS, ConfigResult, Summary  # noqa: E402
from bench.store.result_files import Entry, ResultSet  # noqa: E402

CONFIGS = [(bs, n) for bs in (1, 2, 4) for n in (1, 2)]
BASE_S = {c: 0.5 + 0.25 * c[0] * c[1] for c in CONFIGS}  # more images, longer calls


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # "gate", "ab" or "rounds" (gate of one --rounds run per side)
    runs: int  # runs per side (gate), pairs (ab) or rounds per run (rounds)
    repeats: int  # timed calls per config per run


SETTINGS = [
    Setting("gate 1 run/side, --repeats 3 (the old default)", "gate", 1, 3),
    Setting("gate 1 run/side, --repeats 6 (default; run CV 10% assumed)", "gate", 1, 6),
    Setting("gate --baseline x6 --candidate x6, --repeats 3", "gate", 6, 3),
    Setting("ab --pairs 10, --repeats 3", "ab", 10, 3),
    Setting("ab --pairs 15, --repeats 3 (ab default, recommended for CI)", "ab", 15, 3),
    # last, so the rows above draw the same numbers as before it was added
    Setting("gate 1 run/side, run --rounds 6 --repeats 3", "rounds", 6, 3),
]


def entry(key: str, values: tuple[float, ...], median: float, sample: str | None = None) -> Entry:
    """One config of a synthetic run file: its raw values and their median as recorded."""
    latency = Summary(median=median, values=values, n=len(values), sample=sample)
    return Entry(key, ConfigResult(config_id=key, latency=latency))


def draw_run(rng: random.Random, cv: float, planted: float, repeats: int, name: str) -> ResultSet:
    """One synthetic run file: every config, one shared drift."""
    sigma = math.sqrt(math.log(1 + cv * cv) / 2)
    drift = rng.gauss(0.0, sigma)
    entries = []
    for bs, n in CONFIGS:
        calls = tuple(BASE_S[(bs, n)] * planted * math.exp(drift + rng.gauss(0.0, sigma))
                      for _ in range(repeats))
        ordered = sorted(calls)
        entries.append(entry(f"bs{bs} n{n}", calls, ordered[len(ordered) // 2]))
    return ResultSet(path=Path(name), kind="run", device_name="sim", entries=tuple(entries))


def draw_rounds_run(rng: random.Random, cv: float, planted: float, repeats: int, rounds: int,
                    name: str) -> ResultSet:
    """One synthetic ``--rounds`` run file: each round a fresh process with its own drift;
    every entry holds its per-round medians, as the merged record does."""
    draws = [draw_run(rng, cv, planted, repeats, name) for _ in range(rounds)]
    entries = []
    for i, (bs, n) in enumerate(CONFIGS):
        medians = tuple(d.entries[i].result.median_s for d in draws)
        entries.append(entry(f"bs{bs} n{n}", medians, sorted(medians)[len(medians) // 2],
                             ROUND_MEDIANS))
    return ResultSet(path=Path(name), kind="run", device_name="sim", entries=tuple(entries))


def judge_once(rng: random.Random, setting: Setting, cv: float, planted: float) -> tuple[bool, bool]:
    """(any config regressed, gate exit code 1) for one simulated comparison."""
    thresholds = Thresholds()
    if setting.kind == "ab":
        pairs = [(draw_run(rng, cv, 1.0, setting.repeats, "a"),
                  draw_run(rng, cv, planted, setting.repeats, "b")) for _ in range(setting.runs)]
        verdicts = ab_gate(pairs, thresholds)
    elif setting.kind == "rounds":
        verdicts = gate(draw_rounds_run(rng, cv, 1.0, setting.repeats, setting.runs, "a"),
                        draw_rounds_run(rng, cv, planted, setting.repeats, setting.runs, "b"),
                        thresholds)
    else:
        base = [draw_run(rng, cv, 1.0, setting.repeats, "a") for _ in range(setting.runs)]
        cand = [draw_run(rng, cv, planted, setting.repeats, "b") for _ in range(setting.runs)]
        verdicts = gate(base, cand, thresholds)
    return any(v.outcome == "regressed" for v in verdicts), exit_code(verdicts, thresholds) == 1


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sound at 0 or trials successes)."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_text(k: int, n: int) -> str:
    low, high = wilson(k, n)
    return f"{k / n:6.1%} [{low:.1%}, {high:.1%}]"


def simulation_settings(description: str, argv: list[str] | None
                        ) -> tuple[int, random.Random, bool]:
    """Draws per cell, the seeded generator and --quick, from the flags every simulation
    here shares (--quick, --sims, --seed); a bad --sims ends the script with exit 2."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer draws (a test)")
    parser.add_argument("--sims", type=int, default=None, help="draws per cell")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    sims = args.sims if args.sims is not None else (150 if args.quick else 1000)
    if sims < 1:
        print(f"error: --sims must be >= 1, got {sims}", file=sys.stderr)
        raise SystemExit(2)
    return sims, random.Random(args.seed), args.quick


def main(argv: list[str] | None = None) -> int:
    sims, rng, _ = simulation_settings(__doc__.splitlines()[0], argv)
    started = time.perf_counter()
    cells = [(cv, planted) for cv in (0.05, 0.10) for planted in (1.0, 1.10, 2.0)]
    print(f"gate simulation: 6 configs, alpha 0.01 (Holm), --max-slowdown 5%, {sims} simulated"
          " comparisons per cell; rates with 95% Wilson intervals")
    print("| setting | CV | planted | comparisons | regressed | exit 1 |")
    print("|---|---|---|---|---|---|")
    results = {}
    for setting in SETTINGS:
        for cv, planted in cells:
            regressed = failed = 0
            for _ in range(sims):
                r, f = judge_once(rng, setting, cv, planted)
                regressed += r
                failed += f
            results[(setting.name, cv, planted)] = (regressed, failed)
            print(f"| {setting.name} | {cv:.0%} | x{planted:g} | {sims} |"
                  f" {rate_text(regressed, sims)} | {rate_text(failed, sims)} |", flush=True)
    print()
    for setting in SETTINGS:
        for cv, planted in cells:
            regressed, failed = results[(setting.name, cv, planted)]
            print(f"result kind={setting.kind} runs={setting.runs} repeats={setting.repeats}"
                  f" cv={cv:g} planted={planted:g} sims={sims} regressed={regressed / sims:.4f}"
                  f" fail={failed / sims:.4f}")
    print(f"\ntook {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
