"""``run --resume`` of a file it must not continue: a finished run is left exactly as it is
(resuming would rewrite its footer, and ``history add`` would then see another run), and
a malformed file is refused before it is touched, never rewritten and then crashed on.
No model is loaded: the files are made here from a real plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.errors import StorageError, UsageError
from bench.execute import resume
from bench.execute.resume import load_for_resume, rewrite
from bench.plan.models import resolve_model
from bench.plan.scenario import load_scenario
from bench.plan.sweep import SweepOptions, make_plan
from tests.support.cli import run_in_process
from tests.support.fakeruns import header, record

FLAGS = ("--scenario", "t2i-prompts", "--batch-sizes", "1,2", "--images-per-prompt", "1",
         "--steps", "2", "--height", "32", "--width", "32")


def plan():
    return make_plan(load_scenario("t2i-prompts"), resolve_model("tiny"), SweepOptions(
        batch_sizes="1,2", images_per_prompt="1", steps=2, height=32, width=32, device="cpu"))


def run_file(path: Path, statuses=("ok", "ok"), footer="complete", **changes) -> Path:
    """A run of ``plan()`` as the harness writes it: one record per config with the given
    statuses, the footer, and ``changes`` to the first record (a file damaged by hand)."""
    the_plan = plan()
    head = {**header(), "command": ["sdxl-bench", "run", *FLAGS], "plan": the_plan.describe()}
    records = [{**record([0.1, 0.11, 0.12], status=status), **config.describe(),
                "status": status} for config, status in zip(the_plan.configs, statuses,
                                                            strict=False)]
    records[0].update(changes)
    lines = [head, *records]
    if footer:
        lines.append({"type": "footer", "status": footer, "finished_at": "2026-01-01T00:01:00Z",
                      "duration_s": 60.0, "configs": len(records)})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_finished_run_is_left_exactly_as_it_is(tmp_path):
    path = run_file(tmp_path / "done.jsonl")
    before = path.read_bytes()
    result = run_in_process("run", "--resume", str(path))
    assert result.code == 0
    assert result.err.strip() == (f"sdxl-bench: run file {path} is finished (2 of 2 configs"
                                  " measured, footer complete): nothing to resume; the file is"
                                  " left as it is")
    assert path.read_bytes() == before  # footer, finished_at and duration untouched


def test_the_resuming_job_refuses_a_finished_run_too(tmp_path):
    with pytest.raises(UsageError, match="is finished"):
        load_for_resume(run_file(tmp_path / "done.jsonl"), plan())


@pytest.mark.parametrize(("statuses", "footer"), [(("ok",), None), (("ok", "error"), "complete"),
                                                  (("ok", "interrupted"), "interrupted")])
def test_a_run_with_something_left_to_measure_is_resumed(tmp_path, statuses, footer):
    resumed = load_for_resume(run_file(tmp_path / "part.jsonl", statuses, footer), plan())
    assert resumed.rerun == (plan().configs[1].config_id,)


@pytest.mark.parametrize(("change", "words"), [
    ({"optimizations": 5}, "does not match its planned config (optimizations is 5, the plan"
                           " has {'attention'"),
    ({"dtype": "float16"}, "(dtype is 'float16', the plan has 'float32')"),
    ({"latency_s": None}, "is ok but holds no latency"),
])
def test_a_kept_record_that_contradicts_its_plan_is_refused_before_the_file_is_touched(
        tmp_path, change, words):
    path = run_file(tmp_path / "bad.jsonl", ("ok", "interrupted"), "interrupted", **change)
    before = path.read_bytes()
    with pytest.raises(UsageError, match="the file is malformed; start a new run") as caught:
        load_for_resume(path, plan())
    assert words in str(caught.value)
    assert path.read_bytes() == before


def test_a_header_whose_resumptions_are_not_a_list_is_refused(tmp_path):
    path = run_file(tmp_path / "bad.jsonl", ("ok", "interrupted"), "interrupted")
    lines = path.read_text().splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "resumed": 5})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UsageError, match="the header's 'resumed' is not a list"):
        load_for_resume(path, plan())


@pytest.mark.parametrize("command", ["run", [5, "run"]])
def test_a_recorded_command_that_is_not_a_list_of_arguments_is_refused(tmp_path, command):
    path = run_file(tmp_path / "bad.jsonl", ("ok", "interrupted"), "interrupted")
    lines = path.read_text().splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "command": command})
    path.write_text("\n".join(lines) + "\n")
    before = path.read_bytes()
    result = run_in_process("run", "--resume", str(path))
    assert result.code == 2 and "its recorded command is not a list of arguments" in result.err
    assert "Traceback" not in result.err and path.read_bytes() == before


def test_a_rewrite_that_fails_leaves_the_file_and_no_temporary(tmp_path, monkeypatch):
    path = run_file(tmp_path / "part.jsonl", ("ok", "interrupted"), "interrupted")
    before = path.read_bytes()
    kept = load_for_resume(path, plan())

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(resume.os, "fsync", full)
    with pytest.raises(StorageError, match="it is left as it was"):
        rewrite(path, kept.header, kept.kept)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.jsonl"]
