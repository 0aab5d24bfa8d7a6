"""TRANSITIONAL: the ``analyse`` functions present calls, taking and giving ``ConfigResult``s.

Until ``bench.analyse`` takes ``ConfigResult`` sequences itself, these hand it the records
(``to_record``) and map what it returns back to the caller's results. Delete this module
at merge and import the four names from ``bench.analyse.recommend`` and
``bench.analyse.pareto`` instead (``frontier`` is ``frontier_records`` there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bench.analyse import pareto
from bench.analyse import recommend as recommending
from bench.analyse.recommend import Budget, Recommendation
from bench.stats import Interval
from bench.store.result import ConfigResult


def _records(results: Sequence[ConfigResult]) -> tuple[list[dict], dict[int, ConfigResult]]:
    records = [result.to_record() for result in results]  # TRANSITIONAL
    return records, {id(record): result for record, result in zip(records, results, strict=True)}


def _back(found, results_by_record: dict[int, ConfigResult]) -> ConfigResult:
    """The caller's result for a record analyse returned (as is, once analyse returns results)."""
    return found if isinstance(found, ConfigResult) else results_by_record[id(found)]


def images_per_s_interval(result: ConfigResult) -> Interval | None:
    return recommending.images_per_s_interval(result.to_record())  # TRANSITIONAL


def measured(results: Sequence[ConfigResult]) -> list[ConfigResult]:
    records, back = _records(results)  # TRANSITIONAL
    return [_back(r, back) for r in pareto.measured(records)]


def frontier(results: Sequence[ConfigResult]) -> list[ConfigResult]:
    records, back = _records(results)  # TRANSITIONAL
    return [_back(r, back) for r in pareto.frontier_records(records)]


def recommend(results: Sequence[ConfigResult], budget: Budget) -> Recommendation:
    records, back = _records(results)  # TRANSITIONAL
    found = recommending.recommend(records, budget)
    return replace(
        found,
        best=None if found.best is None else _back(found.best, back),
        tied=tuple(_back(r, back) for r in found.tied),
        rejected=tuple(replace(rej, record=_back(rej.record, back)) for rej in found.rejected),
    )
