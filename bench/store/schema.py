"""Reading config records of run files: the matching key and the memory views.

Analysis works on records alone (no torch), so these accessors are the one place that
knows which record fields identify a config and which memory view answers "how much
memory does this config need".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, field, fields, make_dataclass
from typing import Any

from bench.plan.optimizations import Optimizations
from bench.plan.sweep import Config
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

# The environment fields (of a run header's ``env``) that reports and the pytest plugin show,
# in this order: device, libraries, machine, source.
ENVIRONMENT_FIELDS = (
    "device_name",
    "device_total_memory_bytes",
    "driver",
    "cuda",
    "torch",
    "diffusers",
    "transformers",
    "sdxl_bench",
    "python",
    "platform",
    "cpu",
    "cpu_count",
    "git_commit",
    "nvml",
)

# How a field of ``Config`` takes part in matching runs: its ``metadata["match"]``.
KEY, UNMATCHED, NEITHER = "key", "unmatched", "neither"

# Fields the key's text names in its own words; any other key field is appended as name=value.
_WORDED = frozenset({"scenario", "model", "dtype", "batch_size", "num_images_per_prompt",
                     "num_inference_steps", "height", "width", "optimizations", "world_size"})


def match_kind(config_field: Field) -> str:
    """``key``, ``unmatched`` or ``neither``: a field that does not say is an error, so a new
    Config field cannot silently stay out of (or into) the key."""
    kind = config_field.metadata.get("match")
    if kind not in (KEY, UNMATCHED, NEITHER):
        raise TypeError(
            f"Config field {config_field.name!r} has no metadata['match'] (one of {KEY!r},"
            f" {UNMATCHED!r}, {NEITHER!r}): say whether it identifies the workload"
        )
    return kind


def field_names(config: type, kind: str) -> tuple[str, ...]:
    """Names of the fields of dataclass ``config`` with match ``kind``, in field order."""
    return tuple(f.name for f in fields(config) if match_kind(f) == kind)


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


# How a key field of each Config type is read from a record: (type in the key, reader).
_READERS: dict[str, tuple[type, Callable[[dict, str], object]]] = {
    "str": (str, lambda record, name: str(record.get(name))),
    "int": (int, lambda record, name: int(record.get(name) or 0)),
    "float": (float, lambda record, name: float(record.get(name) or 0.0)),
    "Optimizations": (tuple, lambda record, name: optimization_tokens(record)),
}


def _key_text(key: Any) -> str:
    extra = "".join(f" {token}" for token in key.optimizations)
    ranks = f" np{key.world_size}" if key.world_size != 1 else ""
    others = "".join(f" {f.name}={getattr(key, f.name)}" for f in fields(key)
                     if f.name not in _WORDED)
    return (
        f"{key.scenario} bs{key.batch_size} n{key.num_images_per_prompt}"
        f" {key.num_inference_steps}steps {key.height}x{key.width}"
        f" {key.dtype}{extra}{ranks} {key.model}{others}"
    )


def make_config_key_type(config: type) -> type:
    """The key dataclass for ``config``'s key fields (in their order) plus ``world_size``
    (data-parallel ranks, from the record: not a Config field). Frozen, ordered, hashable,
    keyword-only (so a key field added anywhere needs no default); its text is the matching
    key of ``compare`` and ``gate``. A key field of a type the records cannot be read as is
    refused here, at import."""
    specs = []
    for config_field in fields(config):
        if match_kind(config_field) != KEY:
            continue
        type_name = config_field.type if isinstance(config_field.type, str) else config_field.type.__name__
        if type_name not in _READERS:
            raise TypeError(f"Config key field {config_field.name!r} has type {type_name!r};"
                            f" bench.store.schema reads only {sorted(_READERS)}")
        key_type, _ = _READERS[type_name]
        default = () if type_name == "Optimizations" else MISSING
        specs.append((config_field.name, key_type, field(default=default,
                                                          metadata={"reader": type_name})))
    specs.append(("world_size", int, field(default=1, metadata={"reader": "int"})))
    return make_dataclass(
        "ConfigKey", specs, frozen=True, order=True, kw_only=True,
        namespace={
            "__str__": _key_text,
            "__doc__": "What makes two configs of different runs the same workload (device"
                       " deliberately not: the same workload on two machines must match).",
            "__module__": __name__,
        },
    )


ConfigKey = make_config_key_type(Config)

# Call arguments outside the key: configs still match when they differ, but a reader of a
# comparison should know (a different guidance scale changes the work per step).
UNMATCHED_ARGUMENTS = field_names(Config, UNMATCHED)


def config_key(record: dict, key_type: type = ConfigKey) -> Any:
    """The matching key of a config record (``key_type``: another Config's key, for tests)."""
    values = {}
    for key_field in fields(key_type):
        _, read = _READERS[key_field.metadata["reader"]]
        values[key_field.name] = read(record, key_field.name)
    if not values["world_size"]:
        values["world_size"] = 1
    return key_type(**values)


def memory_bytes(record: dict) -> dict[str, int | None]:
    """Peak memory of a record by view (None where the view was unavailable)."""
    peaks = record.get("peak_memory_bytes") or {}
    return {view: peaks.get(view) for view in MEMORY_VIEWS}


def memory_per_call(record: dict) -> dict[str, list[int]]:
    """Each memory view's peak per timed call (views without per-call values left out;
    empty for records written before they were kept)."""
    calls = record.get("peak_memory_per_call_bytes") or {}
    return {view: [int(v) for v in calls[view]] for view in MEMORY_VIEWS if calls.get(view)}


def budget_memory(record: dict) -> tuple[str, int] | None:
    """(view, bytes) of the view that best answers "memory needed", or None."""
    peaks = memory_bytes(record)
    for view in BUDGET_VIEWS:
        if peaks.get(view) is not None:
            return view, int(peaks[view])
    return None


# ``latency_s["sample"]`` of a ``--rounds`` record: its values are the per-round medians
# (each from a fresh process), not per-call times (``latency_calls_s`` holds those).
ROUND_MEDIANS = "round medians"
CALLS = "calls"


def instability(record: dict) -> list[str]:
    """Why the record's own stability check distrusts its estimate (empty: stable, or a
    file written before the check existed)."""
    stability = record.get("stability")
    return [str(r) for r in stability.get("unstable") or []] if isinstance(stability, dict) else []


def latency_sample(record: dict) -> str:
    """What ``latency_s.values`` are: ``ROUND_MEDIANS`` or ``CALLS`` (older files: calls)."""
    return (record.get("latency_s") or {}).get("sample") or CALLS


def latency_values(record: dict) -> list[float]:
    """The raw latencies the headline is over (empty when it has none): per-call times, or
    the per-round medians of a ``--rounds`` record (``latency_sample`` says which)."""
    latency = record.get("latency_s") or {}
    return [float(v) for v in latency.get("values") or []]


def latency_stat(record: dict, stat: str) -> float | None:
    """One latency statistic (``median``, ``p90`` ...) in seconds, None when absent."""
    latency = record.get("latency_s") or {}
    value = latency.get(stat)
    return None if value is None else float(value)


def is_ok(record: dict) -> bool:
    return record.get("status") == "ok"


def unmatched_arguments(record: dict, names: tuple[str, ...] = UNMATCHED_ARGUMENTS) -> dict:
    """The record's call arguments that are not part of its ``ConfigKey``."""
    return {name: record.get(name) for name in names if name in record}
