"""Bad files and flags: exit 2 with one line on stderr, never a traceback."""

import json

import pytest

from tests.support.cli import run_in_process, run_subprocess
from tests.support.fakeruns import header, record, write_run


def assert_usage_error(result, fragment):
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("sdxl-bench: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.err


def good_run(tmp_path):
    return write_run(tmp_path / "good.jsonl", [record([1.0, 1.1, 1.2, 1.0])])


def bad_files(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    truncated = tmp_path / "truncated.json"
    truncated.write_text('{"machine_info": {}, "benchmarks": [{"name": "x", "st')
    cut_run = tmp_path / "cut.jsonl"  # killed while writing its header
    cut_run.write_text(json.dumps(header())[:40])
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"hello": "world", "type": "greeting"}))
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps({**header(), "schema": 99}) + "\n")
    return {
        "empty": (empty, "is empty"),
        "truncated": (truncated, "not valid JSON"),
        "cut-run": (cut_run, "is not JSON"),
        "foreign": (foreign, "not an sdxl-bench run file"),
        "newer": (newer, "upgrade sdxl-bench"),
        "absent": (tmp_path / "absent.jsonl", "does not exist"),
    }


@pytest.mark.parametrize("kind", ["empty", "truncated", "cut-run", "foreign", "newer", "absent"])
@pytest.mark.parametrize("command", ["gate", "compare"])
def test_unreadable_file_exits_2_with_one_line(tmp_path, kind, command):
    path, fragment = bad_files(tmp_path)[kind]
    assert_usage_error(run_in_process(command, str(good_run(tmp_path)), str(path)), fragment)


@pytest.mark.parametrize("kind", ["empty", "cut-run", "foreign", "newer", "absent"])
def test_report_on_unreadable_file_exits_2_with_one_line(tmp_path, kind):
    path, fragment = bad_files(tmp_path)[kind]
    result = run_in_process("report", str(path), "--out", str(tmp_path / "out"))
    assert_usage_error(result, fragment)


def test_bad_threshold_exits_2(tmp_path):
    run = str(good_run(tmp_path))
    assert_usage_error(run_in_process("gate", run, run, "--max-slowdown", "lots"), "--max-slowdown")


def test_bad_report_format_exits_2(tmp_path):
    result = run_in_process("report", str(good_run(tmp_path)), "--format", "pdf")
    assert_usage_error(result, "--format")


def test_malformed_record_exits_2(tmp_path):
    path = write_run(tmp_path / "bad.jsonl", [{**record([1.0]), "batch_size": "many"}])
    assert_usage_error(run_in_process("gate", str(path), str(path)), "malformed")


def test_real_cli_process_prints_one_line_for_an_unreadable_file(tmp_path):
    path, fragment = bad_files(tmp_path)["newer"]
    result = run_subprocess("gate", str(good_run(tmp_path)), str(path))
    assert_usage_error(result, fragment)


@pytest.mark.parametrize("command", ["report", "gate", "compare"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e999"])
def test_a_latency_summary_with_a_number_that_is_not_finite_exits_2(tmp_path, command, value):
    """JSON has no NaN or infinity and the harness never writes one; Python's json reads
    them anyway, and a count of Infinity calls once crashed ``report``."""
    path = write_run(tmp_path / "bad.jsonl", [record([1.0, 1.1, 0.9])])
    text = path.read_text().replace('"n": 3', f'"n": {value}')
    path.write_text(text)
    args = [command, str(path)] + ([str(path)] if command != "report" else
                                   ["--out", str(tmp_path / "out")])
    assert_usage_error(run_in_process(*args), "line 2 holds")


@pytest.mark.parametrize("command", ["report", "gate", "compare"])
def test_a_config_id_that_is_not_a_string_exits_2_naming_the_line(tmp_path, command):
    path = write_run(tmp_path / "bad.jsonl", [{**record([1.0]), "config_id": ["a", "b"]}])
    result = run_in_process(command, str(path), *([str(path)] if command != "report" else []))
    assert_usage_error(result, "line 2: a config record's config_id must be a string")


def test_history_refuses_a_config_id_that_is_not_a_string_and_makes_no_store(tmp_path):
    path = write_run(tmp_path / "bad.jsonl", [{**record([1.0]), "config_id": ["a", "b"]}])
    result = run_in_process("history", "add", str(path), "--store", str(tmp_path / "h.sqlite"))
    assert result.code == 2 and "config_id must be a string" in result.err
    assert not (tmp_path / "h.sqlite").exists()
