"""Plots: which configs form one line over batch size, and the intervals and instability
marks on every headline figure (read back from the figures' artists)."""

import pytest

from bench.present.plots import (
    UNSTABLE_LABEL,
    hardware_figure,
    latency_figure,
    memory_figure,
    pareto_figure,
    plot_lines,
    stage_figure,
    throughput_figure,
)
from bench.result import ConfigResult, Status
from bench.stats import median_uncertainty, throughput_interval
from tests.support.fakeruns import record


def result(latencies: list[float], **fields) -> ConfigResult:
    """A config's result with these raw latencies (``fakeruns.record``'s other defaults)."""
    return ConfigResult.from_record(record(latencies, **fields))


def images_per_s_interval(r: ConfigResult):
    """The images/s interval the plots should draw: the median's, in images per second."""
    return throughput_interval(median_uncertainty(list(r.latency_values)), r.images_per_call)


def test_one_line_per_images_per_prompt():
    results = [result([0.1] * 3, batch_size=b, num_images_per_prompt=n) for b in (1, 2) for n in (1, 2)]
    lines = plot_lines(results)
    assert list(lines) == ["n=1", "n=2"]
    assert [r.batch_size for r in lines["n=1"]] == [1, 2]


def test_a_swept_dtype_gets_its_own_lines():
    results = [result([0.1] * 3, batch_size=b, dtype=d) for b in (1, 2) for d in ("float32", "bfloat16")]
    assert list(plot_lines(results)) == [
        "t2i 4steps 64x64 bfloat16 tiny n=1",
        "t2i 4steps 64x64 float32 tiny n=1",
    ]


def test_failed_configs_are_not_drawn():
    results = [result([0.1] * 3, batch_size=1), result([], batch_size=2, status=Status.OOM)]
    assert [r.batch_size for r in plot_lines(results)["n=1"]] == [1]


# Intervals and instability marks, read back from the figures' artists.

NOISY = [1.0, 1.3, 0.8, 1.1, 0.9, 1.2, 1.05, 0.95]  # 8 calls: a 95 % order-statistic interval


def two_configs(unstable_batch: int | None = None) -> list[ConfigResult]:
    unstable = {"stability": {"unstable": ["spread: CV 14% > 10%"]}}
    return [result([v * b for v in NOISY], batch_size=b, **(unstable if b == unstable_batch else {}))
            for b in (1, 2)]


def vertical_bars(ax) -> list[tuple[float, float, float]]:
    """(x, low, high) of every vertical error bar drawn on the axes."""
    bars = []
    for container in ax.containers:
        for collection in getattr(container, "lines", [None, None, []])[2]:
            for (x0, y0), (x1, y1) in collection.get_segments():
                if x0 == x1:
                    bars.append((x0, min(y0, y1), max(y0, y1)))
    return sorted(bars)


def crosses(ax) -> list[tuple[float, float]]:
    return [tuple(map(float, p)) for c in ax.collections if c.get_label() == UNSTABLE_LABEL
            for p in c.get_offsets()]


def test_throughput_plot_draws_each_configs_images_per_s_interval():
    results = two_configs()
    ax = throughput_figure(results).axes[0]
    expected = [(r.batch_size, images_per_s_interval(r).low, images_per_s_interval(r).high)
                for r in results]
    assert vertical_bars(ax) == [pytest.approx(e) for e in expected]


def test_latency_plot_draws_the_median_interval_and_no_p90_below_ten_calls():
    results = two_configs()
    ax = latency_figure(results).axes[0]
    intervals = [median_uncertainty(list(r.latency_values)) for r in results]
    assert vertical_bars(ax) == [pytest.approx((r.batch_size, i.low, i.high))
                                 for r, i in zip(results, intervals, strict=True)]
    assert not [c for c in ax.collections if c.get_label().endswith("p90")]


def test_latency_plot_ticks_p90_once_ten_calls_support_it():
    ax = latency_figure([result([1.0 + 0.01 * i for i in range(10)])]).axes[0]
    assert [c.get_label() for c in ax.collections if c.get_label().endswith("p90")] == ["n=1 p90"]


def test_unstable_config_gets_a_cross_in_the_throughput_and_latency_plots():
    results = two_configs(unstable_batch=2)
    unstable = results[1]
    assert crosses(throughput_figure(results).axes[0]) == [
        (2.0, pytest.approx(unstable.images_per_s))]
    assert crosses(latency_figure(results).axes[0]) == [
        (2.0, pytest.approx(unstable.latency.median))]


def test_stable_configs_get_no_cross():
    assert crosses(throughput_figure(two_configs()).axes[0]) == []


def test_pareto_plot_draws_both_intervals_and_the_unstable_cross():
    ax = pareto_figure(two_configs(unstable_batch=1)).axes[0]
    (container,) = [c for c in ax.containers if c.has_xerr and c.has_yerr]
    assert len(container.lines[2]) == 2  # x and y error bars
    assert len(crosses(ax)) == 1


def test_hardware_comparison_bars_carry_their_interval():
    results = two_configs()
    ax = hardware_figure([("cpu-a", results), ("cpu-b", two_configs())]).axes[0]
    interval = images_per_s_interval(results[0])
    lows_highs = [(low, high) for _, low, high in vertical_bars(ax)]
    assert (pytest.approx(interval.low), pytest.approx(interval.high)) in lows_highs
    assert len(lows_highs) == 4


def test_stage_plot_labels_an_unstable_config():
    ax = stage_figure(two_configs(unstable_batch=2)).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["bs1 n1", "bs2 n1 ✗ unstable"]


def test_memory_plot_draws_the_per_call_spread_below_each_peak():
    GIB = 2**30
    results = [
        r.with_fields(peak_memory_bytes={"process_rss": int(max(calls) * GIB)},
                      peak_memory_per_call_bytes={"process_rss": [int(c * GIB) for c in calls]})
        for r, calls in zip(two_configs(), ([1.0, 1.2, 1.1], [2.0, 2.5, 2.4]), strict=True)
    ]
    ax = memory_figure(results).axes[0]
    assert vertical_bars(ax) == [pytest.approx((1, 1.0, 1.2)), pytest.approx((2, 2.0, 2.5))]
