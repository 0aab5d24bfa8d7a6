"""Check results: one frozen value per (check, config), its run-file record and the table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.determinism.pixels import json_psnr
from bench.plan.sweep import Config

# Keys of a ``determinism`` record besides the described config and the check's extras.
_RECORD = {"type", "check", "verdict", "max_abs_diff", "psnr_db", "tolerance", "detail", "strict"}
_DERIVED = {"config_id", "images_per_call", "steps_run", "seeds"}  # ``Config.describe`` adds


def _number(value: object) -> float | None:
    return None if value is None else float(value)


def _optimizations(value: object) -> object:
    from bench.plan.optimizations import Optimizations

    return Optimizations(**value) if isinstance(value, Mapping) else value


# Described fields whose JSON form is not the ``Config`` field's type.
_FROM_JSON = {"optimizations": _optimizations, "id_axes": tuple}


def described_config(described: Mapping[str, Any]) -> Config:
    """The ``Config`` a record or manifest describes (``Config.describe``), rebuilt."""
    return Config(**{name: _FROM_JSON.get(name, lambda v: v)(value)
                     for name, value in described.items() if name in Config.__dataclass_fields__})

PASS, FAIL, NOT_APPLICABLE, INFO, ERROR = "pass", "fail", "n/a", "info", "error"
VERDICTS = (PASS, FAIL, NOT_APPLICABLE, INFO, ERROR)
CHECKS = (
    "repeatability",
    "batch-invariance",
    "shared-generator",
    "generator-device",
    "generator-count",
    "image-sanity",
    "run",  # a config whose checks could not run (an exception); verdict "error"
)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one config (``config`` is ``None`` for run-wide checks).

    ``max_abs_diff`` and ``tolerance`` are on the full scale [0, 1]; ``psnr_db`` is the
    worst (lowest) PSNR over the compared images, ``inf`` when they were identical.
    """

    check: str
    verdict: str
    detail: str
    config: Any = None
    max_abs_diff: float | None = None
    psnr_db: float | None = None
    tolerance: float | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"unknown check {self.check!r}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")

    @property
    def failed(self) -> bool:
        return self.verdict in (FAIL, ERROR)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CheckResult:
        """A ``determinism`` record read back (the inverse of ``record``; its config rebuilt
        from the described fields); ``ValueError`` when it is not one or is malformed."""
        if not isinstance(record, Mapping) or record.get("type") != "determinism":
            raise ValueError("not a determinism record")
        config = described_config(record) if "batch_size" in record else None  # run-wide: none
        diff, psnr = _number(record.get("max_abs_diff")), _number(record.get("psnr_db"))
        if psnr is None and diff == 0.0:
            psnr = math.inf  # written as null: identical images
        described = set(Config.__dataclass_fields__) | _DERIVED
        extra = {k: v for k, v in record.items() if k not in _RECORD and k not in described}
        try:
            return cls(str(record.get("check")), str(record.get("verdict")),
                       str(record.get("detail") or ""), config, diff, psnr,
                       _number(record.get("tolerance")), extra)
        except ValueError as exc:
            raise ValueError(f"determinism record: {exc}") from None

    def record(self, strict: bool = False) -> dict:
        """The ``"type": "determinism"`` record for the run file."""
        described = self.config.describe() if self.config is not None else {"config_id": None}
        return {
            "type": "determinism",
            "check": self.check,
            **described,
            "verdict": self.verdict,
            "max_abs_diff": self.max_abs_diff,
            "psnr_db": json_psnr(self.psnr_db) if self.psnr_db is not None else None,
            "tolerance": self.tolerance,
            "detail": self.detail,
            "strict": strict,
            **self.extra,
        }


PER_CONFIG = ("repeatability", "batch-invariance", "shared-generator", "image-sanity")
RUN_WIDE = ("generator-count", "generator-device")
