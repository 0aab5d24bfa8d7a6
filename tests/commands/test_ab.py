"""`sdxl-bench ab` end to end with a stand-in for `sdxl-bench run` (no torch)."""

import shlex
import sys
from pathlib import Path

import pytest

from bench.errors import UsageError
from bench.execute.ab import complete_pairs, half_pair, interleaved, pair_files, run_argv
from tests.support.cli import run_in_process

FAKE = Path(__file__).with_name("fake_sdxl_bench.py")


def side(factor=1.0, *extra):
    return shlex.join([sys.executable, str(FAKE), "--factor", str(factor), *extra])


def test_runs_alternate_which_side_goes_first():
    assert interleaved(3) == [(1, "a"), (1, "b"), (2, "b"), (2, "a"), (3, "a"), (3, "b")]


def test_run_argv_appends_run_out_model_and_sweep_flags():
    argv = run_argv(["sdxl-bench"], "/m", ["--steps", "2"], Path("o.jsonl"))
    assert argv == ["sdxl-bench", "run", "--out", "o.jsonl", "--quiet", "--model", "/m",
                    "--steps", "2"]


def test_complete_pairs_count_from_the_first_and_a_half_done_pair_is_seen(tmp_path):
    for name in ("pair01-a", "pair01-b", "pair02-a", "pair02-b", "pair03-b"):
        (tmp_path / f"{name}.jsonl").write_text("")
    assert complete_pairs(tmp_path) == 2 and half_pair(tmp_path, 2)
    assert not half_pair(tmp_path, 3)
    assert complete_pairs(tmp_path / "nothing") == 0


def test_pair_files_name_the_first_missing_file(tmp_path):
    (tmp_path / "pair01-a.jsonl").write_text("")
    with pytest.raises(UsageError, match="pair 1 is incomplete: .*pair01-b.jsonl does not exist"):
        pair_files(tmp_path, 1)


def test_identical_sides_pass_as_unchanged(tmp_path):
    result = run_in_process("ab", "--a-command", side(), "--b-command", side(), "--pairs", "8",
                     "--out", str(tmp_path / "ab"))
    assert result.code == 0, result.out + result.err
    assert "PASS: no regression in 2 config(s) (2 unchanged)" in result.out
    assert len(list((tmp_path / "ab").glob("pair*-?.jsonl"))) == 16


def test_slower_candidate_fails_as_regressed_with_its_ratio(tmp_path):
    result = run_in_process("ab", "--a-command", side(), "--b-command", side(1.2), "--pairs", "8",
                     "--out", str(tmp_path / "ab"))
    assert result.code == 1
    assert "2 regressed" in result.out
    assert "8 pairs per-pair median ratios" in result.out


def test_too_few_pairs_fail_as_inconclusive_unless_allowed(tmp_path):
    args = ["ab", "--a-command", side(), "--b-command", side(2.0), "--pairs", "3"]
    result = run_in_process(*args, "--out", str(tmp_path / "one"))
    assert result.code == 1
    assert "too few samples" in result.out
    assert run_in_process(*args, "--out", str(tmp_path / "two"), "--allow-inconclusive").code == 0


def test_sweep_flags_after_double_dash_reach_every_run(tmp_path):
    out = tmp_path / "ab"
    run_in_process("ab", "--a-command", side(), "--b-command", side(), "--pairs", "1",
            "--out", str(out), "--allow-inconclusive", "--", "--steps", "2")
    argvs = [p.read_text() for p in out.glob("*.argv")]
    assert len(argvs) == 2 and all(a.endswith("--steps 2") for a in argvs)


def test_existing_out_folder_with_files_is_refused(tmp_path):
    (tmp_path / "old.jsonl").write_text("{}")
    result = run_in_process("ab", "--a-command", side(), "--b-command", side(), "--out", str(tmp_path))
    assert result.code == 2
    assert "is not an empty folder" in result.err


def test_out_flag_after_double_dash_is_a_usage_error(tmp_path):
    result = run_in_process("ab", "--out", str(tmp_path / "ab"), "--", "--out", "x.jsonl")
    assert result.code == 2
    assert "--out after `--` is not allowed" in result.err


def test_a_failing_run_stops_ab_with_its_last_error_line(tmp_path):
    result = run_in_process("ab", "--a-command", side(1.0, "--fail"), "--b-command", side(),
                     "--pairs", "2", "--out", str(tmp_path / "ab"))
    assert result.code == 2
    assert "side A run 1 exited 1: boom: the pipeline would not load" in result.err


def test_judge_only_rejudges_the_files_already_written(tmp_path):
    out = tmp_path / "ab"
    run_in_process("ab", "--a-command", side(), "--b-command", side(1.2), "--pairs", "8", "--out", str(out))
    again = run_in_process("ab", "--pairs", "8", "--out", str(out), "--judge-only")
    assert again.code == 1 and "2 regressed" in again.out


def test_judge_only_without_pairs_judges_every_complete_pair(tmp_path):
    out = tmp_path / "ab"
    run_in_process("ab", "--a-command", side(), "--b-command", side(1.2), "--pairs", "9", "--out", str(out))
    (out / "pair09-b.jsonl").unlink()  # as if stopped during the last run
    again = run_in_process("ab", "--out", str(out), "--judge-only")
    assert again.code == 1 and "2 regressed" in again.out
    assert "ab: 8 pair(s)" in again.out
    assert "pair 9 has one side only" in again.err


def test_judge_only_on_a_folder_without_runs_is_one_line(tmp_path):
    result = run_in_process("ab", "--out", str(tmp_path), "--judge-only")
    assert result.code == 2 and "no complete pair of runs to judge" in result.err
