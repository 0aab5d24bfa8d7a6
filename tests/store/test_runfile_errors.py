"""``read_run`` on files that are not whole run files: a clear one-line ``UsageError``
(never a traceback from json or KeyError), or a warning where the records can be used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.errors import UsageError
from bench.store.run_file import SCHEMA_VERSION, read_run

HEADER = {"type": "header", "schema": SCHEMA_VERSION, "tool": "sdxl-bench", "plan": {}, "env": {}}
RECORD = {"type": "config", "config_id": "s/bs1-n1", "status": "ok"}


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


BAD_FILES = {
    "empty": (lambda p: write(p), "is empty"),
    "blank lines only": (lambda p: write(p, "", "  "), "is empty"),
    "truncated header": (lambda p: write(p, json.dumps(HEADER)[:40]), "line 1 is not JSON"),
    "foreign json lines": (lambda p: write(p, '{"name": "x"}'), "not an sdxl-bench record"),
    "foreign csv": (lambda p: write(p, "a,b,c", "1,2,3"), "not an sdxl-bench run file"),
    "json array": (lambda p: write(p, "[1, 2]"), "not an sdxl-bench record"),
    "another tool's header": (lambda p: write(p, json.dumps({**HEADER, "tool": "other"})),
                              "no sdxl-bench header"),
    "newer schema": (lambda p: write(p, json.dumps({**HEADER, "schema": SCHEMA_VERSION + 1})),
                     f"has schema {SCHEMA_VERSION + 1}; this sdxl-bench reads schema <="),
    "binary": (lambda p: (p.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe"), p)[1], "cannot read"),
    "torn line in the middle": (lambda p: write(p, json.dumps(HEADER), '{"type": "con',
                                                json.dumps(RECORD)), "line 2 is not JSON"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_run_file_is_a_clear_usage_error(kind, tmp_path):
    make, expected = BAD_FILES[kind]
    path = make(tmp_path / "run.jsonl")
    with pytest.raises(UsageError) as caught:
        read_run(path)
    message = str(caught.value)
    assert expected in message and str(path) in message
    assert "\n" not in message


def test_missing_run_file_is_named(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_run(tmp_path / "nope.jsonl")


def test_directory_is_not_a_run_file(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        read_run(tmp_path)


def test_header_only_file_reads_with_no_records_and_a_warning(tmp_path):
    path = write(tmp_path / "run.jsonl", json.dumps(HEADER))
    with pytest.warns(UserWarning, match="no footer"):
        run = read_run(path)
    assert run.configs == [] and run.footer is None
