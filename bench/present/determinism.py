"""Determinism checks and cross-run image matches as people see them: tables and sentences.

The checks and their verdicts are ``bench.determinism``'s; this module only words them.
"""

from __future__ import annotations

import math

from bench.determinism.crossrun import (
    DIFFER,
    EXACT,
    HASH_DIFFERS,
    NOT_COMPARABLE,
    WITHIN,
    CrossRun,
    ImageMatch,
)
from bench.determinism.verdicts import (
    ERROR,
    FAIL,
    INFO,
    NOT_APPLICABLE,
    PASS,
    PER_CONFIG,
    RUN_WIDE,
    VERDICTS,
    CheckResult,
)


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
    table.add_column("NaN/black\nof checked", justify="right")
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
            _cell(sanity) + (f" {sanity_counts(sanity)}" if sanity else ""),
        )
    return table


def sanity_counts(sanity: CheckResult) -> str:
    """'0/0 of 8': NaN and black images among the images checked (a bare '0/0' read as
    "none checked")."""
    extra = sanity.extra
    checked = extra.get("checked_images")
    counts = f"{extra.get('nan_images')}/{extra.get('black_images')}"
    return counts if checked is None else f"{counts} of {checked}"


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


def match_table(result: CrossRun, title: str | None = None):
    from rich.table import Table

    table = Table(title=title)
    table.add_column("config", no_wrap=True)
    for name in ("images", "exact", "≤ tol", "differ", "hash ≠", "not comp.", "max |Δ|", "PSNR dB"):
        table.add_column(name, justify="right")
    by_config: dict[str, list[ImageMatch]] = {}
    for match in result.matches:
        by_config.setdefault(match.config_id, []).append(match)
    for config_id, matches in by_config.items():
        counts = [sum(m.status == s for m in matches) for s in
                  (EXACT, WITHIN, DIFFER, HASH_DIFFERS, NOT_COMPARABLE)]
        diffs = [m.max_abs_diff for m in matches if m.max_abs_diff is not None]
        psnrs = [m.psnr_db for m in matches if m.psnr_db is not None]
        worst_psnr = min(psnrs) if psnrs else None
        table.add_row(
            config_id, str(len(matches)), *[str(c) for c in counts],
            format(max(diffs), ".3g") if diffs else "—",
            "∞" if worst_psnr is not None and math.isinf(worst_psnr) else
            (format(worst_psnr, ".1f") if worst_psnr is not None else "—"),
        )
    limit = f"{result.tolerance:.3g}" if result.tolerance is not None else "the dtype's default tolerance"
    table.caption = f"within tol: saved 8-bit pixels differ by at most {limit} (+ one level of rounding)"
    return table


def match_summary(result: CrossRun) -> list[str]:
    """Plain sentences: what matched, what did not and why."""
    total = len(result.matches)
    exact = sum(m.status == EXACT for m in result.matches)
    within = sum(m.status == WITHIN for m in result.matches)
    lines = [f"{exact} of {total} images matched exactly, {within} within tolerance,"
             f" {len(result.mismatched)} did not"]
    if result.only_first or result.only_second:
        lines.append(f"not compared: {result.only_first} images only in the first run,"
                     f" {result.only_second} only in the second")
    if any(m.status == HASH_DIFFERS for m in result.matches):
        lines.append("hashes only: some differing images have no saved PNGs in one of the runs,"
                     " so only exact equality could be judged (run with --save-images)")
    for match in result.mismatched:
        diff = f" max |Δ| {match.max_abs_diff:.3g}" if match.max_abs_diff is not None else ""
        lines.append(f"  {match.status}: {match.config_id} image {match.index} (seed {match.seed}){diff}"
                     + (f" — {match.note}" if match.note else ""))
    return lines



# --- in a report -------------------------------------------------------------------------

CHECK_COLUMNS = ["config", "check", "verdict", "max abs Δ", "tolerance", "PSNR dB", "detail"]


def check_rows(results: list[CheckResult]) -> list[list]:
    """One row per check, in the order they ran: the run file's checks as a report shows
    them (the terminal's table, unfolded)."""
    rows = []
    for result in results:
        config = "(run-wide)" if result.check in RUN_WIDE or result.config is None \
            else result.config.config_id
        rows.append([config, result.check, result.verdict.upper(),
                     None if result.max_abs_diff is None else _number(result.max_abs_diff, ".2g"),
                     None if result.tolerance is None else _number(result.tolerance, ".3g"),
                     None if result.psnr_db is None else _number(result.psnr_db, ".1f"),
                     result.detail])
    return rows
