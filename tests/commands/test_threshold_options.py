"""The verdict flags of ``gate`` and ``ab`` parsed into thresholds."""

import pytest

from bench.commands.threshold_options import parse_percent
from bench.errors import UsageError


def test_percent_thresholds_parse_with_or_without_sign():
    assert parse_percent("5%", "--max-slowdown") == 0.05
    assert parse_percent("12.5", "--max-slowdown") == 0.125


def test_bad_percent_threshold_is_a_usage_error():
    with pytest.raises(UsageError, match="--max-slowdown expects a percentage"):
        parse_percent("fast", "--max-slowdown")


def test_negative_or_not_a_number_percent_is_refused_naming_the_flag():
    for text in ("-5%", "nan"):
        with pytest.raises(UsageError, match="--run-cv must be a non-negative percentage"):
            parse_percent(text, "--run-cv")
