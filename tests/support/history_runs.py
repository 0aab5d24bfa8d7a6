"""Synthetic run files for history tests: the real format, through the real writer.

A series of runs of one machine, one run per commit: each run has its own drift (shared by
its configs, as load or clocks would be) and per-call noise, so the store, the change-point
detector and the gate see what they would see from real runs, in milliseconds.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from pathlib import Path

from bench.store.run_file import RunWriter
from tests.support.fakeruns import header, record

LAYOUTS = ((1, 1), (2, 1))  # (batch size, images per prompt) of every synthetic run
BASE_S = 0.2  # median latency of bs1 n1; other layouts scale with their images


def commit(index: int) -> str:
    """A 40-hex commit id for run ``index``."""
    return hashlib.sha1(f"commit {index}".encode()).hexdigest()


def write_history_run(
    path: Path,
    index: int,
    *,
    factor: float = 1.0,
    drift: float = 0.0,
    call_cv: float = 0.01,
    calls: int = 6,
    rng: random.Random | None = None,
    device: str = "cpu",
    host: str = "runner-1",
    layouts: Sequence[tuple[int, int]] = LAYOUTS,
    memory: int = 2**30,
    status: str = "ok",
    footer: bool = True,
    versions: dict | None = None,
    sample: str | None = None,
    arguments: dict | None = None,
) -> Path:
    """Run number ``index`` (its commit, an hour after the previous run): every layout's
    calls are BASE_S x images x factor x exp(drift + N(0, call_cv))."""
    rng = rng or random.Random(index)
    records = []
    for bs, n in layouts:
        latencies = [BASE_S * bs * n * factor * math.exp(drift + rng.gauss(0.0, call_cv))
                     for _ in range(calls)]
        rec = record(latencies, batch_size=bs, num_images_per_prompt=n, memory=memory,
                     status=status)
        if sample:  # "round medians": the values are per-round medians (run --rounds)
            rec["latency_s"]["sample"] = sample
        rec.update(arguments or {})  # call arguments outside the key (guidance_scale, seed)
        records.append(rec)
    head = header(device)
    head["run_id"] = f"run{index:04d}-{host}"
    head["started_at"] = f"2026-03-{1 + index // 24:02d}T{index % 24:02d}:00:00+00:00"
    head["env"].update(git_commit=commit(index), host=host, cpu="Test CPU", driver=None,
                       **(versions or {"torch": "2.5.0", "diffusers": "0.35.0"}))
    with RunWriter(Path(path)) as writer:
        writer.write(head)
        for rec in records:
            writer.write(rec)
        if footer:
            writer.write({"type": "footer", "status": "complete", "configs": len(records)})
    return Path(path)


def write_series(folder: Path, factors: Sequence[float], *, run_cv: float = 0.02,
                 seed: int = 0, prefix: str = "run", first: int = 0, **kwargs) -> list[Path]:
    """One run per factor (index ``first`` on), each with a N(0, run_cv) drift."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_history_run(folder / f"{prefix}{first + i:03d}.jsonl", first + i, factor=f,
                              drift=rng.gauss(0.0, run_cv), rng=rng, **kwargs)
            for i, f in enumerate(factors)]
