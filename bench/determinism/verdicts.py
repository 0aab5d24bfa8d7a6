"""Check results: one frozen value per (check, config), its run-file record and the table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.determinism.pixels import json_psnr

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
