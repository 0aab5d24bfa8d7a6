"""The tiny preset's cache folder: a path that cannot be a folder is a one-line error."""

from __future__ import annotations

import os

from tests.support.cli import run_forked


def test_a_cache_path_that_is_a_file_is_a_one_line_error(tmp_path):
    cache = tmp_path / "cache-file"
    cache.write_text("not a folder")
    env = dict(os.environ, SDXL_BENCH_CACHE=str(cache / "sub"), OMP_NUM_THREADS="1")
    result = run_forked("run", "--steps", "1", "--batch-sizes", "1", "--images-per-prompt", "1",
                        "--quiet", "--out", str(tmp_path / "r.jsonl"), env=env)
    assert result.code == 2
    assert "cannot be used as a folder" in result.err
    assert "Traceback" not in result.err
