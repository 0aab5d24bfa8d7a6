"""``sdxl-bench list`` says what each preset costs as measured, not as hoped."""

from __future__ import annotations

from tests.support.cli import run_in_process


def test_tiny_is_described_by_its_measured_time_per_image():
    listed = " ".join(run_in_process("list").out.split())
    tiny = listed.split("tiny 64px, 4 steps by default")[1].split("sdxl-arch")[0]
    assert "milliseconds" not in tiny  # 0.12-0.37 s per call were measured
    assert "about 0.2 s per image on an idle CPU at its defaults, more on a busy one" in tiny
