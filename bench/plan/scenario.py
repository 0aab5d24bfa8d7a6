"""Scenarios: small modules that declare a workload; loaded by name or by file path.

A scenario module defines ``SCENARIO = Scenario(...)``. Built-in ones live in the
repository's ``scenarios/`` folder, which the wheel ships as ``bench/scenarios/``;
``--scenario path/to/file.py`` loads any other.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from bench.errors import UsageError

TASKS = ("text2img", "img2img")
AXES = ("batch_size", "num_images_per_prompt")


def _builtin_dir() -> Path:
    """Where the built-in scenarios are: ``bench/scenarios/`` in an installed wheel (the
    packaging maps the top-level ``scenarios/`` there), else ``scenarios/`` beside the
    ``bench`` package in a source checkout or an editable install."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "scenarios"
    return installed if installed.is_dir() else package.parent / "scenarios"


BUILTIN_DIR = _builtin_dir()

# The three prompts of the diffusers batch-inference guide.
DEFAULT_PROMPTS = (
    "cinematic photo of A beautiful sunset over mountains, 35mm photograph, film, "
    "professional, 4k, highly detailed",
    "cinematic film still of a cat basking in the sun on a roof in Turkey, highly detailed, "
    "high budget hollywood movie, cinemascope, moody, epic, gorgeous, film grain",
    "pixel-art a cozy coffee shop interior, low-res, blocky, pixel art style, 8-bit graphics",
)


@dataclass(frozen=True)
class Scenario:
    """A workload: task, inputs, fixed call arguments and the sweep axes that apply.

    ``images`` holds paths or URLs; empty means the built-in generated images
    (``num_default_images`` of them). ``check_repeats`` hashes every timed call's images
    and records whether they were identical (costs time outside the timed window).
    """

    name: str
    description: str
    task: str = "text2img"
    prompts: tuple[str, ...] = DEFAULT_PROMPTS
    images: tuple[str, ...] = ()
    num_default_images: int = 3
    call_kwargs: Mapping[str, object] = field(default_factory=dict)
    axes: tuple[str, ...] = AXES
    check_repeats: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"scenario {self.name!r}: task {self.task!r} is not one of {TASKS}")
        unknown = set(self.axes) - set(AXES)
        if unknown or not self.axes:
            raise ValueError(f"scenario {self.name!r}: axes must be a non-empty subset of {AXES}")
        if not self.prompts:
            raise ValueError(f"scenario {self.name!r}: needs at least one prompt")
        object.__setattr__(self, "call_kwargs", MappingProxyType(dict(self.call_kwargs)))


def builtin_names() -> list[str]:
    return sorted(p.stem.replace("_", "-") for p in BUILTIN_DIR.glob("*.py") if p.stem[0] != "_")


def load_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a scenario module by file path."""
    path = Path(name_or_path).expanduser()
    if name_or_path.endswith(".py") or "/" in name_or_path:
        if not path.is_file():
            raise UsageError(f"--scenario {name_or_path!r}: file does not exist")
    else:
        path = BUILTIN_DIR / f"{name_or_path.replace('-', '_')}.py"
        if not path.is_file():
            raise UsageError(
                f"--scenario {name_or_path!r} is unknown; built-in scenarios: "
                + ", ".join(builtin_names())
            )
    return _import_scenario(path)


def _import_scenario(path: Path) -> Scenario:
    spec = importlib.util.spec_from_file_location(f"sdxl_bench_scenario_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise UsageError(f"scenario file {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:  # sys.exit() in a module would end sdxl-bench silently
        raise UsageError(
            f"scenario file {path} called sys.exit({exc.code!r}) while being imported: a"
            " scenario module must define SCENARIO = Scenario(...), not exit"
        ) from None
    except Exception as exc:  # any error in a user's module is their error to see
        raise UsageError(
            f"scenario file {path} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    scenario = getattr(module, "SCENARIO", None)
    if not isinstance(scenario, Scenario):
        raise UsageError(f"scenario file {path} defines no SCENARIO = Scenario(...)")
    return _images_beside(scenario, path.resolve().parent)


def _images_beside(scenario: Scenario, folder: Path) -> Scenario:
    """A scenario's relative image paths are relative to its own file, not to wherever
    the user happens to run ``sdxl-bench``."""
    def resolve(image: str) -> str:
        if image.startswith(("http://", "https://")) or Path(image).expanduser().is_absolute():
            return image
        return str(folder / image)

    images = tuple(resolve(image) for image in scenario.images)
    return scenario if images == scenario.images else dataclasses.replace(scenario, images=images)
