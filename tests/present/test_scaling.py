"""A ``--scaling`` run shown: the terminal table and the plot beside the run file."""

from __future__ import annotations

from PIL import Image

from bench.present.scaling import format_table, show_scaling
from bench.store.scaling_result import ScalingPoint, ScalingResult

RESULT = ScalingResult("t2i/bs1-n1", 2.0, (ScalingPoint(1, 2.0, 1.0, 1.0),
                                           ScalingPoint(2, 3.6, 1.8, 0.9),
                                           ScalingPoint(4, None, None, None)))


def test_table_has_one_row_per_world_size_with_a_dash_where_a_size_failed():
    lines = format_table([RESULT]).splitlines()
    assert lines[0].split() == ["config", "ranks", "images/s", "speedup", "efficiency"]
    assert lines[2].split() == ["t2i/bs1-n1", "2", "3.600", "1.800", "0.900"]
    assert lines[3].split() == ["t2i/bs1-n1", "4", "—", "—", "—"]


def test_show_scaling_prints_the_table_and_writes_the_plot_beside_the_run_file(tmp_path, capsys):
    out = tmp_path / "run.jsonl"
    show_scaling([RESULT], out)
    printed = capsys.readouterr().out
    assert "t2i/bs1-n1" in printed and f"scaling plot: {out.with_suffix('.scaling.png')}" in printed
    assert Image.open(out.with_suffix(".scaling.png")).width > 100
