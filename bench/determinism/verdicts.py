"""Check results: one frozen value per (check, config), its run-file record and the table."""

from __future__ import annotations

import math
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


def _number(value: float | None, spec: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return format(value, spec)


VERDICT_STYLE = {PASS: "green", FAIL: "bold red", NOT_APPLICABLE: "dim", INFO: "cyan", ERROR: "bold red"}
EXPLANATIONS = {
    "repeatability": "repeatability: the identical call twice, fresh generators each time;"
    " must be bit-identical (tolerance 0).",
    "batch-invariance": "batch-invariance: each image of the batch against the same (prompt, seed)"
    " made alone; max |Δ| on the [0, 1] scale, worst PSNR.",
    "shared-generator": "shared-generator: [generator] * n is ONE generator drawn in sequence, so"
    " every image after the first changes with its batch position; PASS means the pitfall was"
    " shown and the harness (one fresh generator per image) avoids it. FAIL \"generators"
    " ignored\" means the pipeline drew the same noise whatever generators it was given (torch's"
    " global RNG pinned for both calls): seeds do not fix its images, so no seeded comparison"
    " of it means anything until it passes `generator` on.",
    "generator-device": "generator-device: cpu generators are the portable choice across GPUs;"
    " device generators draw other noise. Compare machines with cpu generators.",
    "generator-count": "generator-count: a list that is not batch_size x num_images_per_prompt long"
    " is refused before diffusers is called.",
    "image-sanity": "image-sanity: every checked image scanned for NaN and all-black output.",
    "run": "run: a config whose checks raised an error (out of memory, bad model…); the rest went on.",
}


PER_CONFIG = ("repeatability", "batch-invariance", "shared-generator", "image-sanity")
RUN_WIDE = ("generator-count", "generator-device")


def _cell(result: CheckResult | None, number: float | None = None) -> str:
    if result is None:
        return "—"
    text = f"[{VERDICT_STYLE[result.verdict]}]{result.verdict.upper()}[/]"
    return text if number is None else f"{text} {_number(number, '.2g')}"


def verdict_table(results: list[CheckResult], title: str | None = None):
    """One row per config: each per-config check's verdict with its measured difference."""
    from rich.table import Table

    by_config: dict[str, dict[str, CheckResult]] = {}
    for result in results:
        if result.check in PER_CONFIG and result.config is not None:
            by_config.setdefault(result.config.config_id, {})[result.check] = result

    def tolerance(check: str) -> str:
        values = {r.tolerance for r in results if r.check == check and r.tolerance is not None}
        return f"tol {_number(values.pop(), '.3g')}" if len(values) == 1 else "tol per row"

    mixed = tolerance("batch-invariance") == "tol per row"

    table = Table(title=title)
    table.add_column("config", no_wrap=True)
    table.add_column(f"repeat\n|Δ|, {tolerance('repeatability')}", justify="right")
    table.add_column(f"batch inv.\n|Δ|, {tolerance('batch-invariance')}", justify="right")
    table.add_column("batch inv.\nPSNR dB", justify="right")
    table.add_column("shared gen.\n|Δ| pos ≥ 1", justify="right")
    table.add_column("NaN/black", justify="right")
    for config_id, checks in by_config.items():
        invariance = checks.get("batch-invariance")
        sanity = checks.get("image-sanity")
        table.add_row(
            config_id.split("/", 1)[-1],
            _cell(checks.get("repeatability"), checks["repeatability"].max_abs_diff
                  if "repeatability" in checks else None),
            _cell(invariance, invariance.max_abs_diff if invariance else None)
            + (f" ≤ {_number(invariance.tolerance, '.2g')}" if mixed and invariance else ""),
            _number(invariance.psnr_db if invariance else None, ".1f"),
            _cell(checks.get("shared-generator"), checks["shared-generator"].max_abs_diff
                  if "shared-generator" in checks else None),
            _cell(sanity) + (f" {sanity.extra['nan_images']}/{sanity.extra['black_images']}"
                             if sanity else ""),
        )
    return table


def run_wide_lines(results: list[CheckResult]) -> list[str]:
    """The run-wide checks, one line each; then the detail of every failure."""
    from rich.markup import escape

    lines = [f"{r.check}: {_cell(r)} {escape(r.detail)}" for r in results if r.check in RUN_WIDE]
    lines += [f"{_cell(r)} {r.check} {r.config.config_id if r.config else ''}: {escape(r.detail)}"
              for r in results if r.failed and r.check not in RUN_WIDE]
    return lines


def explanations(results: list[CheckResult]) -> list[str]:
    """What each check that ran means, once per check."""
    seen = dict.fromkeys(r.check for r in results)
    return [EXPLANATIONS[check] for check in seen]


def summary_line(results: list[CheckResult]) -> str:
    counts = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
    failed = sorted({r.check for r in results if r.failed})
    text = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
    if failed:
        return f"determinism: FAILED ({text}); failing checks: {', '.join(failed)}"
    return f"determinism: all checks passed ({text})"
