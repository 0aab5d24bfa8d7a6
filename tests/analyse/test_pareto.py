from bench.analyse.pareto import frontier, pareto_front
from bench.result import ConfigResult
from tests.support import fakeruns


def record(*args, **kwargs) -> ConfigResult:
    return ConfigResult.from_record(fakeruns.record(*args, **kwargs))


def test_dominated_points_are_left_off_the_frontier():
    points = [(1.0, 10.0), (2.0, 15.0), (2.5, 12.0), (3.0, 20.0), (1.5, 9.0)]
    # (2.5, 12) is beaten by (2.0, 15); (1.5, 9) by (1.0, 10).
    assert pareto_front(points) == [0, 1, 3]


def test_frontier_is_ordered_by_latency():
    points = [(3.0, 20.0), (1.0, 10.0), (2.0, 15.0)]
    assert pareto_front(points) == [1, 2, 0]


def test_identical_points_are_both_kept():
    assert pareto_front([(1.0, 5.0), (1.0, 5.0)]) == [0, 1]


def test_equal_latency_keeps_only_the_higher_throughput():
    assert pareto_front([(1.0, 5.0), (1.0, 6.0)]) == [1]


def test_frontier_skip_failed_configs_and_order_by_latency():
    fast = record([0.1] * 3, batch_size=1)  # 10 images/s at 0.1 s
    big = record([0.4] * 3, batch_size=8)  # 20 images/s at 0.4 s
    dominated = record([0.5] * 3, batch_size=4)  # 8 images/s at 0.5 s
    failed = record([], batch_size=16, status="oom")
    assert frontier([big, dominated, failed, fast]) == [fast, big]


def test_a_config_whose_images_are_nan_or_black_is_not_on_the_frontier():
    fast = record([0.1] * 3, batch_size=1)
    broken = record([0.05] * 3, batch_size=8, black_images=8)  # fastest, images all black
    assert frontier([fast, broken]) == [fast]
