"""Reading config records of run files: the matching key and the memory views.

Analysis works on records alone (no torch), so these accessors are the one place that
knows which record fields identify a config and which memory view answers "how much
memory does this config need".
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.plan.optimizations import Optimizations
from bench.units import GIB as GIB  # re-exported: readers of records have long found it here

# Every memory view a record may carry, in the order tables show them.
MEMORY_VIEWS = (
    "nvml_process_used",
    "nvml_device_used",
    "torch_reserved",
    "torch_allocated",
    "process_rss",
)

# Which view answers "how much memory does this config need", best first: the process's
# own device memory (CUDA context included), then the allocator's reservation, the whole
# device, the live tensors, and on CPU the process RSS.
BUDGET_VIEWS = (
    "nvml_process_used",
    "torch_reserved",
    "nvml_device_used",
    "torch_allocated",
    "process_rss",
)


@dataclass(frozen=True, order=True)
class ConfigKey:
    """What makes two configs of different runs the same workload (device deliberately not:
    the same workload on two machines must match)."""

    scenario: str
    model: str
    dtype: str
    batch_size: int
    num_images_per_prompt: int
    num_inference_steps: int
    height: int
    width: int
    optimizations: tuple[str, ...] = ()  # tokens of the settings that are not the default
    world_size: int = 1  # data-parallel ranks (``run --nproc``)

    def __str__(self) -> str:
        extra = "".join(f" {token}" for token in self.optimizations)
        ranks = f" np{self.world_size}" if self.world_size != 1 else ""
        return (
            f"{self.scenario} bs{self.batch_size} n{self.num_images_per_prompt}"
            f" {self.num_inference_steps}steps {self.height}x{self.width}"
            f" {self.dtype}{extra}{ranks} {self.model}"
        )


def optimization_tokens(record: dict) -> tuple[str, ...]:
    """``("attn-math", "compile")``: the record's optimizations that differ from the default,
    as the config-id fragments name them (unknown settings as ``name=value``)."""
    chosen = record.get("optimizations")
    if not isinstance(chosen, dict):
        return ()
    defaults = Optimizations().describe()
    settings = Optimizations(**{k: v for k, v in chosen.items() if k in defaults})
    tokens = [settings.token(k) for k in defaults if chosen.get(k, defaults[k]) != defaults[k]]
    return (*tokens, *sorted(f"{k}={v}" for k, v in chosen.items() if k not in defaults))


# Call arguments outside the key: configs still match when they differ, but a reader of a
# comparison should know (a different guidance scale changes the work per step).
UNMATCHED_ARGUMENTS = ("guidance_scale", "strength", "seed", "generator_device", "task")


def config_key(record: dict) -> ConfigKey:
    """The matching key of a config record."""
    return ConfigKey(
        scenario=str(record.get("scenario")),
        model=str(record.get("model")),
        dtype=str(record.get("dtype")),
        batch_size=int(record.get("batch_size") or 0),
        num_images_per_prompt=int(record.get("num_images_per_prompt") or 0),
        num_inference_steps=int(record.get("num_inference_steps") or 0),
        height=int(record.get("height") or 0),
        width=int(record.get("width") or 0),
        optimizations=optimization_tokens(record),
        world_size=int(record.get("world_size") or 1),
    )


def memory_bytes(record: dict) -> dict[str, int | None]:
    """Peak memory of a record by view (None where the view was unavailable)."""
    peaks = record.get("peak_memory_bytes") or {}
    return {view: peaks.get(view) for view in MEMORY_VIEWS}


def budget_memory(record: dict) -> tuple[str, int] | None:
    """(view, bytes) of the view that best answers "memory needed", or None."""
    peaks = memory_bytes(record)
    for view in BUDGET_VIEWS:
        if peaks.get(view) is not None:
            return view, int(peaks[view])
    return None


def latency_values(record: dict) -> list[float]:
    """Raw per-call latencies of a record (empty when it has none)."""
    latency = record.get("latency_s") or {}
    return [float(v) for v in latency.get("values") or []]


def latency_stat(record: dict, stat: str) -> float | None:
    """One latency statistic (``median``, ``p90`` ...) in seconds, None when absent."""
    latency = record.get("latency_s") or {}
    value = latency.get(stat)
    return None if value is None else float(value)


def is_ok(record: dict) -> bool:
    return record.get("status") == "ok"


def unmatched_arguments(record: dict) -> dict:
    """The record's call arguments that are not part of its ``ConfigKey``."""
    return {name: record.get(name) for name in UNMATCHED_ARGUMENTS if name in record}
