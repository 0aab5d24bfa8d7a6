"""Prepare, here, the wheels the lent GPU machine lacks (run through gpu_wheels.sh).

The lent machines reach no network: what their image (``gpu_image.txt``) does not have must
travel with the working tree (64 MiB in all) and is installed there with ``pip install
--no-index --no-deps --target``. With ``--no-deps`` pip checks nothing there, so the check
is made here instead: every requirement of every carried wheel (sdxl-bench's with its
``measure`` extra), evaluated for the image's Python 3.12 on Linux x86-64, must be met by
another carried wheel or by the image. What nothing meets is downloaded too, until nothing
is missing; a version the image has but a wheel does not accept is an error, named here and
not found on the GPU. What the image's own packages require of a carried one is not known
here: ``sdxl-bench doctor`` (its versions check) judges that there.

    python3 benchmarks/gpu_wheels.py [--out .gpu-wheels] [--max-mib 32] [--image-needs FILE]
                                     [NAME==VERSION ...]

A NAME==VERSION argument carries that version instead of the default (``CARRY``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
except ImportError:  # a bare interpreter: pip carries its own copy
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parent.parent
IMAGE = Path(__file__).with_name("gpu_image.txt")
# Known good on both ends (pyproject.toml): what the image lacks, at the versions CI runs.
CARRY = ("diffusers==0.42.1", "importlib_metadata==10.2.0")
# The image's interpreter, for requirement markers and pip's choice of wheel. Its torch is
# a manylinux_2_28 wheel, so its glibc is at least 2.28: no newer manylinux tag is asked for.
PYTHON = "3.12"
TARGET = {"python_version": PYTHON, "python_full_version": "3.12.3", "os_name": "posix",
          "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
          "platform_python_implementation": "CPython", "implementation_name": "cpython",
          "implementation_version": "3.12.3", "platform_release": "", "platform_version": ""}
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64",
             "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64")
EXTRAS = {"sdxl-bench": ("measure",)}  # the extras a carried wheel is used with
TRAVEL_LIMIT_MIB = 64  # everything that travels to the lent machine in one call
ROUNDS = 5  # downloads of newly found needs before giving up


def canonical(name: str) -> str:
    """A distribution's name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: str  # canonical
    version: str
    requires: tuple[str, ...]  # Requires-Dist lines, markers included

    @classmethod
    def read(cls, path: Path) -> Wheel:
        with zipfile.ZipFile(path) as archive:
            (meta,) = [n for n in archive.namelist()
                       if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            message = Parser().parsestr(archive.read(meta).decode("utf-8"))
        return cls(path, canonical(message["Name"]), message["Version"],
                   tuple(message.get_all("Requires-Dist") or ()))


def read_image(text: str) -> dict[str, str | None]:
    """``gpu_image.txt``: canonical name → the version read there (None: not read)."""
    image: dict[str, str | None] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            image[canonical(name)] = version.strip() or None
    return image


def needs(wheel: Wheel, extras: tuple[str, ...] = ()) -> list[Requirement]:
    """The wheel's requirements that apply on the image (with these extras)."""
    found = []
    for line in wheel.requires:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({**TARGET, "extra": extra})
                                     for extra in ("", *extras)):
            found.append(req)
    return found


@dataclass(frozen=True)
class Gaps:
    missing: dict[str, SpecifierSet]  # name → what its users accept: to be carried too
    needed_by: dict[str, list[str]]
    conflicts: list[str]  # one sentence each: what needs which version, and what is there
    from_image: dict[str, list[str]]  # image package → the carried wheels that need it


def gaps(wheels: list[Wheel], image: dict[str, str | None]) -> Gaps:
    """What the carried wheels need that neither they nor the image provide (pure)."""
    carried = {w.name: w.version for w in wheels}
    result = Gaps({}, {}, [], {})
    names = [w.name for w in wheels]
    for name in sorted({n for n in names if names.count(n) > 1}):
        result.conflicts.append(f"two wheels of {name}: keep one version")
    for wheel in wheels:
        for req in needs(wheel, EXTRAS.get(wheel.name, ())):
            name, by = canonical(req.name), f"{wheel.name} {wheel.version}"
            if name in carried:
                have, where = carried[name], "the carried wheel is"
            elif name in image:
                have, where = image[name], "the image has"
                result.from_image.setdefault(name, []).append(by)
            else:
                result.missing[name] = result.missing.get(name, SpecifierSet()) & req.specifier
                result.needed_by.setdefault(name, []).append(by)
                continue
            if have is not None and not req.specifier.contains(have, prereleases=True):
                fix = (f"pin an older {wheel.name}, or carry {name} at a version that fits"
                       f" (name it: gpu_wheels.sh {name}==VERSION)")
                result.conflicts.append(f"{by} needs {req.name}{req.specifier}, but {where}"
                                        f" {have}: {fix}")
    return result


def carried(defaults: tuple[str, ...], asked: list[str]) -> list[str]:
    """The default pins, each replaced by an asked pin of the same name (pure)."""
    chosen = {canonical(Requirement(spec).name): spec for spec in (*defaults, *asked)}
    return list(chosen.values())


def run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        lines = [line for line in done.stderr.splitlines() if line.strip()
                 and not line.startswith("WARNING: Location")]
        raise SystemExit(f"gpu_wheels: {' '.join(args[2:4])} failed: "
                         + (lines[-1] if lines else f"exit {done.returncode}"))


def download(specs: list[str], out: Path) -> None:
    """The wheels for the image's Python and platform, without their dependencies."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--python-version", PYTHON, "--implementation", "cp", *platforms, "-d", str(out),
         *specs])


def build_self(out: Path) -> None:
    """sdxl-bench's wheel, built from a copy of what it is made of (no build/ left here)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "sdxl-bench"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, source / name)
        for name in ("bench", "scenarios"):
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)])


def travelling_bytes() -> int | None:
    """What the working tree sends (tracked and untracked-not-ignored files); None if no git."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO,
                                capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return sum(os.path.getsize(REPO / p) for p in listed.decode().split("\0")
               if p and (REPO / p).is_file())


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.0f} KiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_wheels.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / ".gpu-wheels",
                        help="the folder to fill (its *.whl are replaced; default .gpu-wheels)")
    parser.add_argument("--max-mib", type=float, default=32,
                        help="fail when the wheels are larger (default 32)")
    parser.add_argument("--image-needs", type=Path, metavar="FILE",
                        help="write the image's packages the wheels need, one a line (for a"
                        " venv that stands in for the image)")
    parser.add_argument("pins", nargs="*", metavar="NAME==VERSION",
                        help=f"carry this version instead (defaults: {' '.join(CARRY)})")
    args = parser.parse_args(argv)
    for pin in args.pins:
        if "==" not in pin:
            parser.error(f"{pin!r}: give NAME==VERSION (one version of each is carried)")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.whl"):
        old.unlink()
    image = read_image(IMAGE.read_text())
    build_self(out)
    download(carried(CARRY, args.pins), out)
    why: dict[str, str] = {}
    for _ in range(ROUNDS):
        wheels = [Wheel.read(p) for p in sorted(out.glob("*.whl"))]
        found = gaps(wheels, image)
        if found.conflicts:
            print("\n".join(f"gpu_wheels: {c}" for c in found.conflicts), file=sys.stderr)
            return 1
        if not found.missing:
            break
        for name, users in found.needed_by.items():
            why[name] = "needed by " + ", ".join(users)
        download([f"{name}{spec}" for name, spec in found.missing.items()], out)
    else:
        print(f"gpu_wheels: still missing after {ROUNDS} rounds: {', '.join(found.missing)}",
              file=sys.stderr)
        return 1
    if args.image_needs:
        args.image_needs.write_text("".join(f"{name}\n" for name in sorted(found.from_image)))
    total = 0
    for wheel in wheels:
        size = wheel.path.stat().st_size
        total += size
        print(f"{wheel.path.name:60} {mib(size):>9}  {why.get(wheel.name, 'carried')}")
    tree = travelling_bytes()
    travels = f"; with the working tree ({mib(tree)}) {mib(tree + total)} of" \
        f" {TRAVEL_LIMIT_MIB} MiB travels" if tree is not None else ""
    print(f"{len(wheels)} wheels, {mib(total)} in {out}{travels}")
    if total > args.max_mib * 2**20 or (tree or 0) + total > 0.9 * TRAVEL_LIMIT_MIB * 2**20:
        print(f"gpu_wheels: too large to carry (wheels over {args.max_mib:g} MiB, or everything"
              f" over 90% of {TRAVEL_LIMIT_MIB} MiB)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
