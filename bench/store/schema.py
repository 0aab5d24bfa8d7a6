"""Which fields of a config identify its workload: the key that matches configs across runs.

Each ``Config`` field says how it takes part (``metadata["match"]``); the key type is
derived from that, so a new field cannot silently stay out of (or into) the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, field, fields, make_dataclass
from typing import Any

from bench.plan.optimizations import Optimizations
from bench.plan.sweep import Config
from bench.result import ConfigResult, json_data

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


def optimization_tokens(result: ConfigResult) -> tuple[str, ...]:
    """``("attn-math", "compile")``: the result's optimizations that differ from the default,
    as the config-id fragments name them (unknown settings as ``name=value``)."""
    chosen = result.optimizations
    if not isinstance(chosen, Mapping):
        return ()
    defaults = Optimizations().describe()
    settings = Optimizations(**{k: v for k, v in chosen.items() if k in defaults})
    tokens = [settings.token(k) for k in defaults if chosen.get(k, defaults[k]) != defaults[k]]
    return (*tokens, *sorted(f"{k}={v}" for k, v in chosen.items() if k not in defaults))


def _field(result: ConfigResult, name: str) -> Any:
    """A config field of a result: a modelled attribute, else a detail (a Config field
    this reader's ConfigResult does not know yet)."""
    return getattr(result, name) if name in _ATTRIBUTES else result.detail(name)


# How a key field of each Config type is read from a record: (type in the key, reader).
_READERS: dict[str, tuple[type, Callable[[ConfigResult, str], object]]] = {
    "str": (str, lambda result, name: str(_field(result, name))),
    "int": (int, lambda result, name: int(_field(result, name) or 0)),
    "float": (float, lambda result, name: float(_field(result, name) or 0.0)),
    "Optimizations": (tuple, lambda result, name: optimization_tokens(result)),
}
_ATTRIBUTES = frozenset(f.name for f in fields(ConfigResult))


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


def config_key(result: ConfigResult, key_type: type = ConfigKey) -> Any:
    """The matching key of a result (``key_type``: another Config's key, for tests)."""
    values = {}
    for key_field in fields(key_type):
        _, read = _READERS[key_field.metadata["reader"]]
        values[key_field.name] = read(result, key_field.name)
    if not values["world_size"]:
        values["world_size"] = 1
    return key_type(**values)


def unmatched_arguments(result: ConfigResult, names: tuple[str, ...] = UNMATCHED_ARGUMENTS
                        ) -> dict:
    """The result's call arguments that are not part of its ``ConfigKey``."""
    return {name: json_data(_field(result, name)) for name in names
            if name not in result.absent and (name in _ATTRIBUTES or name in result.details)}
