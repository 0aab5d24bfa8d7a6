"""A ``--scaling`` run's efficiency record, typed: one base config at 1, 2, … N ranks.

The launcher appends one ``scaling`` record per base config after every world size has
run (``bench.analyse.scaling`` computes them); ``present`` shows them. Like
``ConfigResult``, this is the one place that knows the record's field names:
``from_record(r).to_record() == r``, fields this code does not model kept verbatim.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bench.result import json_data, read_only

KIND = "scaling"  # the record's ``type``

_POINT_FIELDS = ("world_size", "images_per_s", "speedup", "efficiency")
_FIELDS = ("type", "config_id", "baseline_images_per_s", "points")


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class ScalingPoint:
    """One world size of a base config: aggregate images/s and how it compares with one rank
    (``speedup`` = images/s ÷ one rank's; ``efficiency`` = speedup ÷ ranks). None where that
    size failed, or where there is no one-rank throughput to compare with."""

    world_size: int
    images_per_s: float | None = None
    speedup: float | None = None
    efficiency: float | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScalingPoint:
        if not isinstance(data, Mapping) or data.get("world_size") is None:
            raise ValueError(f"a scaling point needs a world_size, got {data!r}")
        return cls(world_size=int(data["world_size"]),
                   images_per_s=_opt_float(data.get("images_per_s")),
                   speedup=_opt_float(data.get("speedup")),
                   efficiency=_opt_float(data.get("efficiency")),
                   extra=read_only({k: v for k, v in data.items() if k not in _POINT_FIELDS}))

    def to_dict(self) -> dict:
        return {"world_size": self.world_size, "images_per_s": self.images_per_s,
                "speedup": self.speedup, "efficiency": self.efficiency, **json_data(self.extra)}


@dataclass(frozen=True)
class ScalingResult:
    """A base config's throughput at every world size of a ``--scaling`` run, ascending."""

    config_id: str
    baseline_images_per_s: float | None  # images/s at one rank; None when that size failed
    points: tuple[ScalingPoint, ...] = ()
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ScalingResult:
        """Read a ``scaling`` record; ``ValueError`` when it is not one or is malformed."""
        if not isinstance(record, Mapping) or record.get("type") != KIND:
            kind = record.get("type") if isinstance(record, Mapping) else type(record).__name__
            raise ValueError(f"not a {KIND} record (type {kind!r})")
        if record.get("config_id") is None:
            raise ValueError("a scaling record needs a config_id")
        return cls(config_id=str(record["config_id"]),
                   baseline_images_per_s=_opt_float(record.get("baseline_images_per_s")),
                   points=tuple(ScalingPoint.from_dict(p) for p in record.get("points") or ()),
                   details=read_only({k: v for k, v in record.items() if k not in _FIELDS}))

    def to_record(self) -> dict:
        return {"type": KIND, "config_id": self.config_id,
                "baseline_images_per_s": self.baseline_images_per_s,
                "points": [p.to_dict() for p in self.points], **json_data(self.details)}

    @property
    def measured(self) -> tuple[ScalingPoint, ...]:
        """The points with a throughput (what a plot can draw)."""
        return tuple(p for p in self.points if p.images_per_s)


def scaling_results(records: Iterable[Mapping[str, Any]]) -> tuple[ScalingResult, ...]:
    """The ``scaling`` records of a run file's records, typed, in file order."""
    return tuple(ScalingResult.from_record(r) for r in records
                 if isinstance(r, Mapping) and r.get("type") == KIND)
