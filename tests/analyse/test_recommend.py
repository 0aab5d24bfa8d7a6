from bench.analyse.recommend import Budget, recommend
from bench.result import ConfigResult
from bench.units import GIB
from tests.support import fakeruns


def record(*args, **kwargs) -> ConfigResult:
    """A config's result as a run file gives it back."""
    return ConfigResult.from_record(fakeruns.record(*args, **kwargs))


def configs():
    return [
        record([1.0] * 10, batch_size=1, memory=2 * GIB),  # 1 image/s
        record([1.5] * 10, batch_size=2, memory=3 * GIB),  # 1.33 images/s
        record([2.5] * 10, batch_size=4, memory=5 * GIB),  # 1.6 images/s, slow
        record([1.8] * 10, batch_size=8, memory=9 * GIB),  # 4.4 images/s, big
        record([], batch_size=16, status="oom", memory=None),
    ]


def test_recommends_most_images_per_second_within_both_budgets():
    result = recommend(configs(), Budget(max_latency_s=2.0, max_memory_gib=4.0))
    assert result.best.batch_size == 2


def test_every_other_config_gets_its_reason():
    result = recommend(configs(), Budget(max_latency_s=2.0, max_memory_gib=4.0))
    reasons = {rej.record.batch_size: rej.reason for rej in result.rejected}
    assert set(reasons) == {1, 4, 8, 16}
    assert reasons[1].startswith("fewer images/s")
    assert "latency p90 2.5 s > 2 s" in reasons[4]
    assert "peak memory (process_rss) 9 GiB > 4 GiB" in reasons[8]
    assert reasons[16].startswith("status oom")


def test_without_budget_the_fastest_ok_config_wins():
    assert recommend(configs(), Budget()).best.batch_size == 8


def test_no_config_fits_an_impossible_budget():
    result = recommend(configs(), Budget(max_latency_s=0.5))
    assert result.best is None
    assert "no config meets latency p90 <= 0.5 s" == result.why
    assert len(result.rejected) == 5


def test_config_without_memory_view_fails_a_memory_budget():
    result = recommend([record([1.0] * 3, memory=None)], Budget(max_memory_gib=1.0))
    assert result.best is None
    assert result.rejected[0].reason == "no memory measured"


def test_without_budget_and_no_ok_config_says_so():
    result = recommend([record([], status="oom", memory=None)], Budget())
    assert result.best is None
    assert result.why == "no config meets status ok with usable images (no budget given)"


def test_overlapping_throughput_intervals_are_called_tied_not_a_win():
    noisy = [
        record([1.0, 1.3, 0.8, 1.1, 0.9, 1.2], batch_size=1),  # ~1 image/s, wide
        record([1.9, 2.5, 1.7, 2.1, 2.3, 1.8], batch_size=2),  # ~1 image/s, wide
    ]
    result = recommend(noisy, Budget())
    assert [t.batch_size for t in result.tied] == [1 if result.best.batch_size == 2 else 2]
    assert "tied with" in result.why
    assert result.rejected[0].reason.startswith("tied with the leader")


def test_separated_throughput_intervals_name_a_winner():
    clear = [
        record([1.0, 1.01, 0.99, 1.02, 1.0, 0.98], batch_size=1),  # 1 image/s
        record([1.0, 1.01, 0.99, 1.02, 1.0, 0.98], batch_size=2),  # 2 images/s
    ]
    result = recommend(clear, Budget())
    assert result.best.batch_size == 2
    assert result.tied == ()
    assert "tied" not in result.why


# Nine fast calls and one very slow one: p90 = 1 + 0.1 × 11 = 2.1 s, while the median's
# upper bound is 1 s. The slow call is what a latency budget is about.
TAIL = [1.0] * 9 + [12.0]


def test_latency_budget_reads_p90_when_ten_calls_support_it():
    result = recommend([record(TAIL)], Budget(max_latency_s=2.0))
    assert result.best is None
    assert result.rejected[0].reason == "latency p90 2.1 s > 2 s"
    assert result.latency_note == "Latency is judged on p90."


def test_with_too_few_calls_for_p90_the_budget_is_checked_on_the_median_upper_bound():
    slow = record([1.0, 1.4, 2.6], batch_size=2)  # p90 of 3 calls would be ~the maximum
    result = recommend([slow], Budget(max_latency_s=2.0))
    assert result.rejected[0].reason == (
        "latency median upper bound 2.6 s > 2 s (3 calls: too few for p90, which needs 10)")


def test_fallback_to_the_median_upper_bound_is_said_in_the_note():
    result = recommend([record([1.0, 1.1, 1.2]), record(TAIL, batch_size=2)],
                       Budget(max_latency_s=5.0))
    assert "t2i/bs1-n1 (n=3) had fewer" in result.latency_note
    assert "slow calls are not checked" in result.latency_note
    assert "t2i/bs2-n1" not in result.latency_note
    assert "latency p90 (or median upper bound) <= 5 s" in result.why


def test_latency_budget_without_per_call_times_and_few_calls_cannot_be_checked():
    old = fakeruns.record([1.0, 1.1, 1.2])
    old["latency_s"] = {k: v for k, v in old["latency_s"].items() if k != "values"}
    result = recommend([ConfigResult.from_record(old)], Budget(max_latency_s=5.0))
    assert result.rejected[0].reason == ("latency budget cannot be checked: no per-call times"
                                         " and 3 calls, too few for p90")


def test_when_no_config_supports_p90_the_note_says_so_once():
    result = recommend([record([1.0, 1.1, 1.2]), record([2.0] * 6, batch_size=2)],
                       Budget(max_latency_s=5.0))
    assert result.latency_note.startswith(
        "Latency is judged on the upper end of each config's median confidence interval,"
        " not on p90: no config has the 10 timed calls p90 needs (n = 3, 6)")


def test_a_config_whose_images_are_nan_or_black_is_never_recommended_however_fast():
    results = [*configs()[:3], record([0.1] * 10, batch_size=8, nan_images=1, black_images=2)]
    result = recommend(results, Budget())
    assert result.best.batch_size == 4  # the fastest whose images are usable
    [broken] = [rej.reason for rej in result.rejected if rej.record.batch_size == 8]
    assert broken.startswith("broken images: 1 NaN, 2 black of 8 in the last call")
