"""A sweep request: what a user asked to measure, typed, before anything is resolved.

Every measuring entry point (``run``, ``determinism``, ``max-batch``, the isolate worker,
each data-parallel rank, the pytest plugin) builds one of these and hands it to
``plan_request``; commands make it from flags, the worker from JSON. It carries no
argparse types, so nothing below ``bench/commands`` needs argparse.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.errors import UsageError
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import DTYPES, Plan, SweepOptions, make_plan


@dataclass(frozen=True)
class SweepRequest:
    """Scenario, model and sweep values, parsed but not yet resolved: ``options.device`` may
    be ``auto``, the scenario and model are names. Its defaults are the CLI's."""

    scenario: str = "t2i-prompts-x-images"
    model: str = "tiny"
    variant: str | None = None
    options: SweepOptions = field(default_factory=SweepOptions)
    threads: int | None = None  # torch CPU threads; None: torch's choice
    # ``--peak-tflops`` per dtype; None: the datasheet table. Text as typed is parsed here.
    peak_tflops: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self) -> None:
        peaks = self.peak_tflops
        if isinstance(peaks, str):
            peaks = parse_peak_override(peaks).items()
        elif isinstance(peaks, Mapping):
            peaks = peaks.items()
        if peaks is not None:
            object.__setattr__(self, "peak_tflops", tuple((str(d), float(t)) for d, t in peaks))

    def replace_options(self, **changes: object) -> SweepRequest:
        return dataclasses.replace(self, options=dataclasses.replace(self.options, **changes))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SweepRequest:
        data = json.loads(text)
        options = SweepOptions(**data.pop("options"))
        return cls(**data, options=options)


def plan_request(request: SweepRequest, device: str | None = None) -> Plan:
    """Validate every value and expand the grid; ``UsageError`` before any loading.

    ``device`` is the resolved device (``cuda:0``, ``cpu``); before resolving, the
    requested one is validated as a string only.
    """
    if request.threads is not None and request.threads < 1:
        raise UsageError(f"--threads {request.threads}: must be a positive integer")
    options = request.options if device is None else dataclasses.replace(request.options,
                                                                          device=device)
    return make_plan(load_scenario(request.scenario), resolve_model(request.model, request.variant),
                     options)


def parse_peak_override(text: str) -> dict[str, float]:
    """``--peak-tflops``: ``300`` (every dtype) or ``float32=60,bfloat16=900``."""
    def number(value: str) -> float:
        try:
            tflops = float(value)
        except ValueError:
            tflops = -1.0
        if not (math.isfinite(tflops) and tflops > 0):
            raise UsageError(f"--peak-tflops {text!r}: {value!r} is not a positive number of TFLOP/s")
        return tflops

    if "=" not in text:
        return dict.fromkeys(DTYPES, number(text.strip()))
    peaks = {}
    for item in text.split(","):
        dtype, _, value = item.partition("=")
        if dtype.strip() not in DTYPES:
            raise UsageError(f"--peak-tflops {text!r}: {dtype.strip()!r} is not one of {', '.join(DTYPES)}")
        peaks[dtype.strip()] = number(value.strip())
    return peaks
