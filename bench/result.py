"""The one result type: a config's measurement as every stage after ``measure`` sees it.

``measure`` turns its trackers' fields into a ``ConfigResult``; the sweep loop, the run
file, the history store, ``analyse`` and ``present`` all read its typed attributes. The
run file's JSON is its serialised form (``to_record``/``from_record``): this module is
the one place that knows a record's field names, so no other module indexes a record by
string. A field this code does not model (a tracker's detail, or a field of a newer
minor version) is kept verbatim in ``details`` and written back unchanged, and a field
the record did not have is not written back: ``from_record(r).to_record() == r``.

Records of older files are brought up to date on read (``migrate``), so every reader sees
one shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any


class Status(str, Enum):
    """How a config (or one rank of it, or one ``--rounds`` round) ended."""

    OK = "ok"
    OOM = "oom"  # out of memory (the config's peak before failing is kept)
    SKIPPED = "skipped"  # not run: a smaller layout already ran out of memory
    ERROR = "error"  # raised something else
    INTERRUPTED = "interrupted"  # SIGINT/SIGTERM while it was measured
    CRASHED = "crashed"  # an --isolate worker died without a record
    IDLE = "idle"  # a data-parallel rank with no prompt in this config

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        """A result ``--resume`` keeps: measured, or known not to fit."""
        return self in (Status.OK, Status.OOM, Status.SKIPPED)

    @property
    def failing(self) -> bool:
        """A measurement that could not be made (what a gate counts as a regression)."""
        return self in (Status.OOM, Status.ERROR, Status.CRASHED)

    @property
    def cut_short(self) -> bool:
        """Stopped from outside: says nothing about the code measured."""
        return self in (Status.INTERRUPTED, Status.CRASHED)


# What ``Latency.values`` are: per-call times, or (``--rounds``) the per-round medians.
CALLS = "calls"
ROUND_MEDIANS = "round medians"

# Every memory view a record may carry, in the order tables show them.
MEMORY_VIEWS = ("nvml_process_used", "nvml_device_used", "torch_reserved", "torch_allocated",
                "process_rss")
# Which view answers "how much memory does this config need", best first: the process's
# own device memory (CUDA context included), then the allocator's reservation, the whole
# device, the live tensors, and on CPU the process RSS.
BUDGET_VIEWS = ("nvml_process_used", "torch_reserved", "nvml_device_used", "torch_allocated",
                "process_rss")


class ReadOnly(Mapping):
    """A read-only dict that pickles (``types.MappingProxyType`` does not, and results cross
    process boundaries: data-parallel ranks gather each other's)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping | None = None) -> None:
        object.__setattr__(self, "_data", dict(data or {}))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __hash__(self) -> int:  # values are read_only data, hashable in turn
        return hash(frozenset(self._data.items()))

    def __reduce__(self):
        return (ReadOnly, (self._data,))


EMPTY = ReadOnly()


def read_only(value: Any) -> Any:
    """A read-only copy of JSON data (dicts become mappings, lists tuples)."""
    if isinstance(value, Mapping):
        return ReadOnly({k: read_only(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(read_only(v) for v in value)
    return value


def json_data(value: Any) -> Any:
    """JSON data back from ``read_only`` (mappings become dicts, tuples lists)."""
    if isinstance(value, Mapping):
        return {k: json_data(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [json_data(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


@dataclass(frozen=True)
class Summary:
    """A summary of raw seconds as stored in records (``bench.stats.summarize``)."""

    median: float
    mean: float | None = None
    p90: float | None = None
    p99: float | None = None
    min: float | None = None
    max: float | None = None
    stdev: float | None = None
    n: int = 0
    values: tuple[float, ...] = ()
    sample: str | None = None  # latency only: CALLS or ROUND_MEDIANS; None in older files
    rounds: tuple[int, ...] | None = None  # ``latency_calls_s``: the round of each value
    extra: Mapping[str, Any] = field(default=EMPTY)

    @classmethod
    def from_dict(cls, data: Mapping | None) -> Summary | None:
        if data is None:
            return None
        if not isinstance(data, Mapping) or data.get("median") is None:
            raise ValueError(f"a summary needs a median, got {data!r}")
        values = tuple(float(v) for v in data.get("values") or ())
        n = data.get("n")
        known = {"median", "mean", "p90", "p99", "min", "max", "stdev", "n", "values", "sample",
                 "round"}
        return cls(
            median=float(data["median"]),
            mean=_opt_float(data.get("mean")), p90=_opt_float(data.get("p90")),
            p99=_opt_float(data.get("p99")), min=_opt_float(data.get("min")),
            max=_opt_float(data.get("max")), stdev=_opt_float(data.get("stdev")),
            n=int(n) if n is not None else len(values), values=values,
            sample=None if data.get("sample") is None else str(data["sample"]),
            rounds=None if data.get("round") is None else tuple(int(r) for r in data["round"]),
            extra=read_only({k: v for k, v in data.items() if k not in known}),
        )

    def to_dict(self) -> dict:
        data: dict = {"median": self.median, "mean": self.mean, "p90": self.p90,
                      "p99": self.p99, "min": self.min, "max": self.max, "stdev": self.stdev,
                      "n": self.n, "values": list(self.values)}
        if self.sample is not None:
            data["sample"] = self.sample
        if self.rounds is not None:
            data["round"] = list(self.rounds)
        data.update(json_data(self.extra))
        return data

    @classmethod
    def of(cls, values: Iterable[float], sample: str | None = None) -> Summary:
        """The summary of raw values (every statistic of ``bench.stats.summarize``)."""
        from bench.stats import summarize

        return cls.from_dict({**summarize(list(values)), **({"sample": sample} if sample else {})})


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Stability:
    """The record's own check of its estimate (``bench.stats.stability.assess``)."""

    cv: float | None = None
    drift: float | None = None
    outliers: int = 0
    unstable: tuple[str, ...] = ()  # why the estimate is not to be trusted; empty: stable
    over: str | None = None  # ROUND_MEDIANS when the values were a --rounds record's

    @classmethod
    def from_dict(cls, data: Mapping | None) -> Stability | None:
        if data is None:
            return None
        return cls(cv=_opt_float(data.get("cv")), drift=_opt_float(data.get("drift")),
                   outliers=int(data.get("outliers") or 0),
                   unstable=tuple(str(r) for r in data.get("unstable") or ()),
                   over=_opt_str(data.get("over")))

    def to_dict(self) -> dict:
        return {"cv": self.cv, "drift": self.drift, "outliers": self.outliers,
                "unstable": list(self.unstable), **({"over": self.over} if self.over else {})}


@dataclass(frozen=True)
class ColdStart:
    """The process's own start: imports, first load, first call (metrics.md#cold-start)."""

    import_s: float | None = None
    load_s: float | None = None
    first_call_s: float | None = None
    first_call: str | None = None  # "warm-up" or "timed"; None when it failed
    first_call_config_id: str | None = None
    first_call_peak_bytes: int | None = None
    first_call_memory_view: str | None = None
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default=EMPTY)

    @classmethod
    def from_dict(cls, data: Mapping | None) -> ColdStart | None:
        if not data:
            return None
        names = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            import_s=_opt_float(data.get("import_s")), load_s=_opt_float(data.get("load_s")),
            first_call_s=_opt_float(data.get("first_call_s")),
            first_call=_opt_str(data.get("first_call")),
            first_call_config_id=_opt_str(data.get("first_call_config_id")),
            first_call_peak_bytes=_opt_int(data.get("first_call_peak_bytes")),
            first_call_memory_view=_opt_str(data.get("first_call_memory_view")),
            notes=tuple(str(n) for n in data.get("notes") or ()),
            extra=read_only({k: v for k, v in data.items() if k not in names}))

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        data["notes"] = list(self.notes)
        return {**data, **json_data(self.extra)}


@dataclass(frozen=True)
class Compilation:
    """What torch.compile did for the config (``CompileTracker``)."""

    compilations: int = 0
    recompilations: int = 0
    compile_s: float = 0.0
    compilations_in_timed_calls: int = 0
    extra: Mapping[str, Any] = field(default=EMPTY)

    @classmethod
    def from_dict(cls, data: Mapping | None) -> Compilation | None:
        if data is None:
            return None
        names = ("compilations", "recompilations", "compile_s", "compilations_in_timed_calls")
        return cls(compilations=int(data.get("compilations") or 0),
                   recompilations=int(data.get("recompilations") or 0),
                   compile_s=float(data.get("compile_s") or 0.0),
                   compilations_in_timed_calls=int(data.get("compilations_in_timed_calls") or 0),
                   extra=read_only({k: v for k, v in data.items() if k not in names}))

    def to_dict(self) -> dict:
        return {"compilations": self.compilations, "recompilations": self.recompilations,
                "compile_s": self.compile_s,
                "compilations_in_timed_calls": self.compilations_in_timed_calls,
                **json_data(self.extra)}


# --- how each field is read from and written to JSON -------------------------------------

@dataclass(frozen=True)
class _Codec:
    read: Callable[[Any], Any]
    write: Callable[[Any], Any]


def _nested(kind: Any) -> _Codec:
    return _Codec(kind.from_dict, lambda v: None if v is None else v.to_dict())


def _status(value: Any) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise ValueError(f"status {value!r} is not one of"
                         f" {', '.join(s.value for s in Status)}") from None


def _stages(value: Any) -> Mapping[str, Summary | None] | None:
    if value is None:
        return None
    return ReadOnly({name: Summary.from_dict(s) for name, s in value.items()})


def _memory(value: Any) -> Mapping[str, int | None] | None:
    if value is None:
        return None
    return ReadOnly({view: None if v is None else int(v) for view, v in value.items()})


def _memory_calls(value: Any) -> Mapping[str, tuple[int, ...]] | None:
    if value is None:
        return None
    return ReadOnly({view: tuple(int(x) for x in v or ()) for view, v in value.items()})


_DATA = _Codec(read_only, json_data)  # JSON objects and lists, read-only
_CODECS = {
    "status": _Codec(_status, lambda v: v.value),
    "float": _Codec(_opt_float, lambda v: v),
    "int": _Codec(_opt_int, lambda v: v),
    "str": _Codec(_opt_str, lambda v: v),
    "bool": _Codec(lambda v: None if v is None else bool(v), lambda v: v),
    "strings": _Codec(lambda v: tuple(str(x) for x in v or ()), list),
    "floats": _Codec(lambda v: None if v is None else tuple(float(x) for x in v),
                     lambda v: None if v is None else list(v)),
    "summary": _nested(Summary),
    "stability": _nested(Stability),
    "cold_start": _Codec(ColdStart.from_dict, lambda v: None if v is None else v.to_dict()),
    "compile": _nested(Compilation),
    "stages": _Codec(_stages, lambda v: None if v is None else
                     {k: None if s is None else s.to_dict() for k, s in v.items()}),
    "memory": _Codec(_memory, lambda v: None if v is None else dict(v)),
    "memory_calls": _Codec(_memory_calls, lambda v: None if v is None else
                           {k: list(x) for k, x in v.items()}),
    "data": _DATA,
}


def _f(codec: str, default: Any = None, name: str | None = None) -> Any:
    """A record field: how it is read and written, and its record name if not the attribute's."""
    metadata = {"codec": codec, **({"name": name} if name else {})}
    if isinstance(default, (list, dict)):
        raise TypeError("mutable default")
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class ConfigResult:
    """One config's measurement (a ``config`` record) or one round of it (``round``)."""

    config_id: str = _f("str", "?")
    status: Status = _f("status", Status.OK)
    error: str | None = _f("str")
    kind: str = _f("str", "config", name="type")  # "config" or "round"
    round: int | None = _f("int")  # the round of a ``round`` record (1-based)

    # the config as planned (``bench.plan.sweep.Config.describe``)
    scenario: str | None = _f("str")
    task: str | None = _f("str")
    model: str | None = _f("str")
    device: str | None = _f("str")
    dtype: str | None = _f("str")
    optimizations: Mapping[str, Any] | None = _f("data")
    batch_size: int | None = _f("int")
    num_images_per_prompt: int | None = _f("int")
    images_per_call: int | None = _f("int")
    num_inference_steps: int | None = _f("int")
    steps_run: int | None = _f("int")
    height: int | None = _f("int")
    width: int | None = _f("int")
    guidance_scale: float | None = _f("float")
    strength: float | None = _f("float")
    seed: int | None = _f("int")
    seeds: tuple[int, ...] | None = _f("data")
    generator_device: str | None = _f("str")
    warmup: int | None = _f("int")
    repeats: int | None = _f("int")
    id_axes: tuple[str, ...] | None = _f("data")
    min_time_s: float | None = _f("float")
    max_time_s: float | None = _f("float")
    target_uncertainty: float | None = _f("float")
    max_repeats: int | None = _f("int")

    # time
    latency: Summary | None = _f("summary", name="latency_s")
    images_per_s: float | None = _f("float")
    stages: Mapping[str, Summary | None] | None = _f("stages", name="stages_s")
    stopped_by: str | None = _f("str")
    timed_calls: int | None = _f("int")
    achieved_uncertainty: float | None = _f("float")
    cold_start: ColdStart | None = _f("cold_start")
    compile: Compilation | None = _f("compile")

    # trust
    warnings: tuple[str, ...] = _f("strings", ())
    stability: Stability | None = _f("stability")
    machine_load: Mapping[str, Any] | None = _f("data")

    # memory and energy
    peak_memory: Mapping[str, int | None] | None = _f("memory", name="peak_memory_bytes")
    peak_memory_per_call: Mapping[str, tuple[int, ...]] | None = _f(
        "memory_calls", name="peak_memory_per_call_bytes")
    device_memory_bytes: int | None = _f("int")
    energy_j_per_image: float | None = _f("float")
    avg_power_w: float | None = _f("float")
    energy_unavailable: str | None = _f("str")

    # work and the hardware limit
    flops_per_image: float | None = _f("float")
    achieved_tflops: float | None = _f("float")
    peak_tflops: float | None = _f("float")
    peak_source: str | None = _f("str")
    mfu: float | None = _f("float")

    # clocks and the CUDA event check
    throttle_warning: str | None = _f("str")
    latency_event_check: Mapping[str, Any] | None = _f("data")

    # images and the VAE
    vae_dtype: str | None = _f("str")
    vae_force_upcast: bool | None = _f("bool")
    nan_images: int | None = _f("int")
    black_images: int | None = _f("int")
    repeats_identical: bool | None = _f("bool")
    image_sha256: tuple[str, ...] | None = _f("data")
    prompt_indices: tuple[int, ...] | None = _f("data")
    images_dir: str | None = _f("str")
    image_files: tuple[str, ...] | None = _f("data")

    # --isolate workers that died
    exit_signal: str | None = _f("str")
    exit_code: int | None = _f("int")

    # data-parallel aggregates (scale-out.md)
    world_size: int | None = _f("int")
    base_config_id: str | None = _f("str")
    ranks: tuple[Mapping[str, Any], ...] | None = _f("data")

    # --rounds merges
    rounds: int | None = _f("int")
    rounds_planned: int | None = _f("int")
    round_statuses: tuple[str, ...] | None = _f("data")
    round_medians_s: tuple[float, ...] | None = _f("floats")
    latency_calls: Summary | None = _f("summary", name="latency_calls_s")
    merged_by_reader: bool | None = _f("bool")

    # every other field of the record, verbatim (trackers' details, newer fields)
    details: Mapping[str, Any] = field(default=EMPTY, metadata={"codec": None})
    # record fields this result's source did not have: not written back
    absent: frozenset[str] = field(default=frozenset(), metadata={"codec": None}, compare=False)

    # --- the record ---------------------------------------------------------------------

    @classmethod
    def from_record(cls, record: Mapping[str, Any], schema: int | None = None) -> ConfigResult:
        """Read a ``config`` or ``round`` record; ``ValueError``/``TypeError`` when malformed."""
        record = migrate(record, schema)
        values: dict[str, Any] = {}
        absent = set()
        for spec in _FIELDS:
            if spec.record_name in record:
                values[spec.attribute] = spec.codec.read(record[spec.record_name])
            else:
                absent.add(spec.record_name)
        values["details"] = read_only({k: v for k, v in record.items() if k not in _RECORD_NAMES})
        return cls(**values, absent=frozenset(absent))

    def to_record(self) -> dict:
        """The JSON record (fields the source lacked stay out)."""
        record = {}
        for spec in _FIELDS:
            if spec.record_name not in self.absent:
                record[spec.record_name] = spec.codec.write(getattr(self, spec.attribute))
        record.update(json_data(self.details))
        return record

    def with_fields(self, **record_fields: Any) -> ConfigResult:
        """This result with record fields added or replaced (by their record names, as a
        tracker or an annotation produces them)."""
        return ConfigResult.from_record({**self.to_record(), **record_fields})

    def has(self, attribute: str) -> bool:
        """Whether the record had this modelled field (a default stands in when not)."""
        return _RECORD_NAME[attribute] not in self.absent

    def detail(self, name: str, default: Any = None) -> Any:
        """A field this type does not model (a tracker's detail), read-only."""
        return self.details.get(name, default)

    # --- what readers ask ---------------------------------------------------------------

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def measured(self) -> bool:
        """Ok with a positive median latency: something to compare."""
        return self.ok and self.latency is not None and self.latency.median > 0

    @property
    def latency_values(self) -> tuple[float, ...]:
        """The raw seconds the headline is over: per call, or per round (``sample``)."""
        return self.latency.values if self.latency else ()

    @property
    def sample(self) -> str:
        """What ``latency_values`` are: CALLS or ROUND_MEDIANS (older files: calls)."""
        return (self.latency.sample if self.latency else None) or CALLS

    @property
    def median_s(self) -> float | None:
        return self.latency.median if self.latency else None

    @property
    def unstable(self) -> tuple[str, ...]:
        """Why the record's stability check distrusts its estimate (empty: stable or unchecked)."""
        return self.stability.unstable if self.stability else ()

    @property
    def broken_images(self) -> int:
        """Images of the last call that held NaN or were all black."""
        return (self.nan_images or 0) + (self.black_images or 0)

    @property
    def layout(self) -> str:
        return f"bs{self.batch_size} n{self.num_images_per_prompt}"

    def memory_bytes(self) -> dict[str, int | None]:
        """Peak memory by view, every view (None where unavailable)."""
        peaks = self.peak_memory or {}
        return {view: peaks.get(view) for view in MEMORY_VIEWS}

    def memory_per_call(self) -> dict[str, tuple[int, ...]]:
        """Each view's peak per timed call (views without values left out)."""
        calls = self.peak_memory_per_call or {}
        return {view: tuple(calls[view]) for view in MEMORY_VIEWS if calls.get(view)}

    def budget_memory(self) -> tuple[str, int] | None:
        """(view, bytes) of the view that best answers "memory needed", or None."""
        peaks = self.memory_bytes()
        for view in BUDGET_VIEWS:
            if peaks.get(view) is not None:
                return view, int(peaks[view])
        return None

    def replace(self, **changes: Any) -> ConfigResult:
        """A copy with typed attributes changed (fields set here are written back)."""
        absent = self.absent - {_RECORD_NAME[a] for a in changes if a in _RECORD_NAME}
        return replace(self, **changes, absent=absent)

    def drop(self, *attributes: str) -> ConfigResult:
        """A copy without these fields (back to their defaults, not written)."""
        defaults = {f.name: f.default for f in fields(self) if f.name in attributes}
        return replace(self, **defaults,
                       absent=self.absent | {_RECORD_NAME[a] for a in attributes})


@dataclass(frozen=True)
class _FieldSpec:
    attribute: str
    record_name: str
    codec: _Codec


_FIELDS = tuple(
    _FieldSpec(f.name, f.metadata.get("name", f.name), _CODECS[f.metadata["codec"]])
    for f in fields(ConfigResult) if f.metadata.get("codec")
)
_RECORD_NAMES = frozenset(spec.record_name for spec in _FIELDS)
_RECORD_NAME = {spec.attribute: spec.record_name for spec in _FIELDS}
RECORD_FIELDS = tuple(spec.record_name for spec in _FIELDS)  # a config record's modelled fields


def attribute_of(record_name: str) -> str:
    """The ConfigResult attribute that holds a record field (``latency_s`` → ``latency``)."""
    for spec in _FIELDS:
        if spec.record_name == record_name:
            return spec.attribute
    raise KeyError(record_name)


class Ending(str, Enum):
    """How a run ended (its footer's ``status``)."""

    COMPLETE = "complete"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Footer:
    """A run file's last record."""

    status: Ending
    finished_at: str | None = None
    duration_s: float | None = None
    configs: int | None = None  # config records written (``--rounds``: merged records)
    error: str | None = None  # why an aborted run stopped
    details: Mapping[str, Any] = field(default=EMPTY)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Footer:
        try:
            status = Ending(record.get("status"))
        except ValueError:
            raise ValueError(f"footer status {record.get('status')!r} is not one of"
                             f" {', '.join(e.value for e in Ending)}") from None
        known = ("type", "status", "finished_at", "duration_s", "configs", "error")
        return cls(status, _opt_str(record.get("finished_at")),
                   _opt_float(record.get("duration_s")), _opt_int(record.get("configs")),
                   _opt_str(record.get("error")),
                   read_only({k: v for k, v in record.items() if k not in known}))

    @property
    def complete(self) -> bool:
        return self.status is Ending.COMPLETE


# --- migrations: older records brought up to the current shape on read ------------------

def migrate(record: Mapping[str, Any], schema: int | None = None) -> Mapping[str, Any]:
    """The record in today's shape. Schema 1 is today's; what older writers of schema 1
    left out is filled in by readers' defaults, so nothing is rewritten yet. A future
    schema's migration goes here, keyed by the header's ``schema``."""
    if not isinstance(record, Mapping):
        raise TypeError(f"a record is a JSON object, got {type(record).__name__}")
    return record
