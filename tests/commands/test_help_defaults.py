"""Docs check: every default that a command's ``--help`` states is the default it uses.

Each help text is expanded as argparse prints it, and every "(default: X)" found in it is
compared with the flag's real default: argparse's own when the flag has one, else the value
the code fills in for an unset flag (planned from the real scenario and model, not read
from the help's own constants). A stated default that is neither needs a line in
``DESCRIBED``, so a new one cannot slip through unchecked.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.cli import build_parser
from bench.plan.models import resolve_model
from bench.plan.request import SweepRequest
from bench.plan.scenario import builtin_names, load_scenario
from bench.plan.sweep import SweepOptions, make_plan

STATED = re.compile(r"(?<!by )\bdefault\b:?\s*(?P<value>[^)]*)")


def commands(parser: argparse.ArgumentParser, name: str = ""
             ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command's parser (``history add`` and the other subcommands included)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                yield from commands(subparser, f"{name} {sub}".strip())
    if name:
        yield name, parser


def help_text(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The action's help as ``--help`` prints it (``%(default)s`` and the like filled in)."""
    params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
    return action.help % dict(params, prog=parser.prog)


def statements() -> list[tuple[str, str, object, str]]:
    """(command, dest, real default, stated value) for every default stated in a help."""
    found = []
    for name, parser in commands(build_parser()):
        for action in parser._actions:
            if not action.help or action.help is argparse.SUPPRESS:
                continue
            for match in STATED.finditer(help_text(parser, action)):
                found.append((name, action.dest, parser.get_default(action.dest), match["value"]))
    return found


def shown(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def default_plan(scenario: str = SweepRequest().scenario, model: str = "tiny", **options):
    return make_plan(load_scenario(scenario), resolve_model(model), SweepOptions(**options))


def swept(axis: str) -> str:
    return shown(tuple(dict.fromkeys(getattr(c, axis) for c in default_plan().configs)))


def by_model(field: str, folder: str | None = None) -> str:
    """What a config of each kind of model gets when the flag is unset, in the help's words."""
    values = {name: getattr(default_plan(model=name).configs[0], field)
              for name in ("tiny", "sdxl-arch")}
    otherwise = resolve_model("owner/name").default_steps if field == "num_inference_steps" else (
        resolve_model("owner/name").default_size)
    assert values["sdxl-arch"] == otherwise  # "otherwise" covers the full-size preset
    return "; ".join([f"{values['tiny']} for tiny"] + ([f"a local folder: {folder}"] if folder else [])
                     + [f"{otherwise} otherwise"])


def img2img_strength() -> str:
    strengths = {default_plan(name, batch_sizes="1").configs[0].strength
                 for name in builtin_names() if load_scenario(name).task == "img2img"}
    assert len(strengths) == 1
    return f"the scenario's, {strengths.pop()}"


def held_at_smallest() -> str:
    smallest = {min(getattr(c, axis) for c in default_plan().configs)
                for axis in ("batch_size", "num_images_per_prompt")}
    assert len(smallest) == 1
    return f"grown when it is --axis, else {smallest.pop()}"


def adaptive_cap() -> str:
    return str(default_plan(target_uncertainty="2%").configs[0].max_repeats)


def tolerances() -> str:
    from bench.determinism.pixels import DEFAULT_TOLERANCES, LEVEL

    levels = {dtype: round(t / LEVEL) for dtype, t in DEFAULT_TOLERANCES.items()}
    assert levels == {"float32": 1, "float16": 8, "bfloat16": 8}
    return "by dtype: 1/255 for float32, 8/255 for float16 and bfloat16"


def probe_dtypes() -> str:
    from bench.measure.matmul_probe import probe_dtypes

    return f"{shown(probe_dtypes(None, 'cpu'))} on CPU; {shown(probe_dtypes(None, 'cuda:0'))} on CUDA"


def last_runs() -> str:
    from bench.commands.gate import DEFAULT_LAST

    return str(DEFAULT_LAST)


def ab_pairs() -> str:
    from bench.commands.ab import DEFAULT_PAIRS

    return f"{DEFAULT_PAIRS}; with --judge-only: every complete pair in --out"


# Flags left unset (None) whose default the code fills in: the help must say that value.
RESOLVED: dict[tuple[str | None, str], Callable[[], str]] = {
    (None, "batch_sizes"): lambda: swept("batch_size"),
    (None, "images_per_prompt"): lambda: swept("num_images_per_prompt"),
    ("max-batch", "batch_sizes"): held_at_smallest,
    ("max-batch", "images_per_prompt"): held_at_smallest,
    (None, "steps"): lambda: by_model("num_inference_steps"),
    (None, "height"): lambda: by_model("height", "its UNet sample size × VAE scale"),
    (None, "strength"): img2img_strength,
    (None, "max_repeats"): adaptive_cap,
    (None, "tolerance"): tolerances,
    ("env", "probe_dtype"): probe_dtypes,
    ("gate", "last"): last_runs,
    ("ab", "pairs"): ab_pairs,
}
# Defaults stated in words: nothing to compare, but each is listed, so that a new statement
# of a value is checked (above) rather than passed as prose.
DESCRIBED = {
    (None, "threads"): "torch's choice",
    ("max-batch", "axis"): "the scenario's first axis",
    ("run", "out"): "reports/runs/<time>_<scenario>_<model>_<device>.jsonl",
    ("determinism", "out"): "reports/runs/<time>_determinism-<scenario>_<model>_<device>.jsonl",
    ("reproduce", "out"): "<manifest folder>/reproduced/<id>.png",
    ("gate", "machine"): "the fingerprint",
    (None, "allow_inconclusive"): "they fail",
    ("ab", "a_command"): "this interpreter's `python -m bench`",
    (None, "store"): "$SDXL_BENCH_HISTORY, else ~/.local/share/sdxl-bench/history.sqlite",
    ("history add", "commit"): "the run header's git_commit",
    ("history report", "reference"): "the one with the most results",
}


def lookup(table: dict, command: str, dest: str):
    return table.get((command, dest), table.get((None, dest)))


def value_part(stated: str) -> str:
    """``6, the fewest with which …`` → ``6``; ``10%; 0 trusts the calls`` → ``10%``."""
    return re.split(r"[;,] ", stated, maxsplit=1)[0]


STATEMENTS = statements()


def check(command: str, dest: str, real: object, stated: str) -> None:
    """AssertionError unless ``stated`` is the real default of ``command --dest``."""
    if (resolved := lookup(RESOLVED, command, dest)) is not None:
        assert real is None, f"{command} --{dest} has a default ({real!r}): compare with it instead"
        assert stated == resolved()
    elif (words := lookup(DESCRIBED, command, dest)) is not None:
        assert stated == words
    elif isinstance(real, Path):
        assert Path(value_part(stated)) == real
    else:
        assert real is not None, f"{command} --{dest}: unset, yet its help states {stated!r}"
        assert value_part(stated) == shown(real)


@pytest.mark.parametrize("command, dest, real, stated", STATEMENTS,
                         ids=[f"{c} --{d.replace('_', '-')}" for c, d, _, _ in STATEMENTS])
def test_a_stated_default_is_the_real_one(command, dest, real, stated):
    check(command, dest, real, stated)


@pytest.mark.parametrize("dest, real, stated", [
    ("warmup", 0, "1"),  # max-batch before this check: it said 1 and used 0
    ("repeats", 1, "6, the fewest with which `gate` can reach a verdict"),
    ("dtype", "float32", "float16"),
    ("limit", None, "64"),  # unset, and no code that fills it in is known
    ("batch_sizes", None, "1,2"),  # the plan fills in 1,2,4
])
def test_a_wrong_statement_is_caught(dest, real, stated):
    with pytest.raises(AssertionError):
        check("run", dest, real, stated)


def test_the_check_reads_the_defaults_of_every_measuring_and_reading_command():
    stated = {(command, dest) for command, dest, _, _ in STATEMENTS}
    assert {("run", "repeats"), ("max-batch", "warmup"), ("max-batch", "repeats"),
            ("gate", "max_slowdown"), ("report", "out"), ("history add", "store")} <= stated


def test_the_expanded_help_is_what_help_prints(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping: a help is one line
    for _, parser in commands(build_parser()):
        printed = " ".join(parser.format_help().split())
        for action in parser._actions:
            if action.help and action.help is not argparse.SUPPRESS:
                assert " ".join(help_text(parser, action).split()) in printed


def test_max_batch_probes_with_one_timed_call_and_no_warm_up_by_default():
    args = build_parser().parse_args(["max-batch"])
    assert (args.warmup, args.repeats) == (0, 1)


def test_determinism_offers_no_timing_flags_it_would_not_use():
    for flag in ("--warmup", "--repeats"):
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args(["determinism", flag, "3"])
        assert exited.value.code == 2


@pytest.mark.parametrize("command", ["run", "determinism"])
def test_the_flags_left_out_are_the_requests_defaults(command):
    from bench.commands.sweep_options import request_from_args

    assert request_from_args(build_parser().parse_args([command])) == SweepRequest()


def test_max_batch_left_alone_is_the_default_request_probed_once():
    from bench.commands.max_batch import PROBE_DEFAULTS
    from bench.commands.sweep_options import request_from_args

    request = request_from_args(build_parser().parse_args(["max-batch"]))
    assert request == SweepRequest(options=PROBE_DEFAULTS)
    assert PROBE_DEFAULTS == SweepOptions(warmup=0, repeats=1)
