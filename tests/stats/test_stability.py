
"""A config's estimate is marked unstable, in words and with the fix, when its calls
spread, drift or stall, or the machine was busy while they ran."""

from __future__ import annotations

from bench.result import ConfigResult
from bench.stats.stability import assess, drift, outliers, warning

STEADY = [1.00, 1.01, 0.99, 1.00, 1.02, 0.98, 1.00, 1.01, 0.99]


def test_steady_calls_on_a_quiet_machine_are_stable():
    result = assess(STEADY, {"before": 0.3, "after": 0.4, "cores": 2})
    assert result["unstable"] == [] and warning(result) is None


def test_calls_that_drift_are_unstable_with_the_size_of_the_drift():
    drifting = [3.2, 3.0, 2.8, 2.2, 2.0, 1.8, 1.4, 1.3, 1.3]  # the load went away mid-config
    result = assess(drifting)
    assert drift(drifting) < -0.5
    assert any("drifted -57%" in reason for reason in result["unstable"])


def test_one_stalled_call_is_an_outlier():
    assert outliers([*STEADY, 3.0]) == 1
    assert outliers(STEADY) == 0


def test_a_busy_machine_makes_the_estimate_unstable_and_says_what_to_do():
    result = assess(STEADY, {"before": 5.6, "after": 3.1, "cores": 2})
    text = warning(result)
    assert "the machine was busy (load 5.6 on 2 cores)" in text
    assert "quieter machine" in text and "sdxl-bench ab" in text


def test_wide_spread_is_unstable():
    result = assess([1.0, 1.5, 0.7, 1.3, 0.8, 1.4])
    assert result["cv"] > 0.1
    assert any("spread" in reason for reason in result["unstable"])


def test_too_few_calls_give_no_drift_figure():
    assert drift([1.0, 2.0, 3.0]) is None


def unstable_record():
    drifting = [3.2, 3.0, 2.8, 2.2, 2.0, 1.8, 1.4, 1.3, 1.3]
    stability = assess(drifting)
    return ConfigResult.from_record(
        {"config_id": "t2i/bs1-n1", "batch_size": 1, "num_images_per_prompt": 1,
         "images_per_call": 1, "status": "ok", "images_per_s": 0.5,
         "latency_s": {"median": 2.0, "values": drifting, "n": 9},
         "stability": stability, "warnings": [warning(stability)]})


def test_the_terminal_table_marks_an_unstable_config_and_says_why():
    from bench.present.console import console, results_table

    out = console(width=240)
    with out.capture() as captured:
        out.print(results_table([unstable_record()]))
    text = " ".join(captured.get().split())  # the note may wrap under the table
    assert "ok (unstable) [1]" in text
    assert "[1] bs1-n1: unstable estimate:" in text and "the calls drifted -57%" in text
    assert text.rstrip().endswith("(sdxl-bench ab)")  # the fix, at the end, is not cut off


def test_the_report_marks_an_unstable_config_and_lists_its_warning():
    from bench.present.document import to_markdown
    from bench.present.report import summary_table

    assert "ok, unstable" in to_markdown("t", [summary_table([unstable_record()])])
