"""``--rounds`` records merged, judged for stability and gated on per-round medians."""

import pytest

from bench.analyse.gate import INCONCLUSIVE, PER_CALL, PER_ROUND, REGRESSED, UNCHANGED, Thresholds, gate
from bench.present.verdicts import reason_texts
from bench.result import CALLS, ROUND_MEDIANS, ConfigResult, Status
from bench.stats.stability import assess, warning
from bench.store.rounds import merge_rounds
from tests.support import results as typed


def round_record(number, values, status="ok", rss=100, **extra):
    return ConfigResult.from_record(
        {"type": "round", "round": number, "config_id": "s/bs2-n1", "status": status,
         "images_per_call": 2, "peak_memory_bytes": {"process_rss": rss},
         "latency_s": {"median": sorted(values)[len(values) // 2], "values": values}
         if values else None, **extra})


def test_the_headline_is_over_the_per_round_medians_and_every_call_keeps_its_round():
    merged = merge_rounds([round_record(1, [1.0, 1.2, 1.1]), round_record(2, [2.0, 2.2, 2.1]),
                           round_record(3, [1.5, 1.4, 1.6])], planned=3)
    assert merged.kind == "config" and merged.rounds == 3
    assert merged.round_medians_s == (1.1, 2.1, 1.5)
    assert merged.latency_values == (1.1, 2.1, 1.5)
    assert merged.sample == ROUND_MEDIANS and merged.latency.n == 3
    assert merged.images_per_s == pytest.approx(2 / 1.5)
    assert merged.latency_calls.n == 9
    assert merged.latency_calls.rounds == (1, 1, 1, 2, 2, 2, 3, 3, 3)
    assert "round" not in merged.to_record()


def test_an_interrupted_round_is_listed_but_kept_out_of_the_figures():
    merged = merge_rounds([round_record(1, [1.0, 1.2, 1.1], rss=100),
                           round_record(2, [0.9, 1.0, 1.1], rss=300),
                           round_record(3, None, status="interrupted")], planned=5)
    assert merged.status is Status.OK and merged.rounds == 2 and merged.rounds_planned == 5
    assert merged.round_statuses == ("ok", "ok", "interrupted")
    assert merged.round_medians_s == (1.1, 1.0)
    assert merged.peak_memory == {"process_rss": 300}  # the largest peak of any round


def test_per_call_memory_peaks_of_every_finished_round_are_kept_for_the_memory_noise():
    first = round_record(1, [1.0, 1.1], peak_memory_per_call_bytes={"process_rss": [100, 101]})
    second = round_record(2, [1.0, 1.1], peak_memory_per_call_bytes={"process_rss": [110, 109]})
    merged = merge_rounds([first, second], planned=2)
    assert merged.peak_memory_per_call == {"process_rss": (100, 101, 110, 109)}


def test_one_finished_round_keeps_its_per_call_headline_and_says_so():
    merged = merge_rounds([round_record(1, [1.0, 1.2, 1.1]),
                           round_record(2, None, status="crashed")], planned=2)
    assert merged.latency_values == (1.0, 1.2, 1.1)
    assert merged.sample == CALLS and merged.latency.sample == CALLS


def test_a_config_with_no_finished_round_keeps_the_failure():
    merged = merge_rounds([round_record(1, None, status="oom")], planned=3)
    assert merged.status is Status.OOM and merged.rounds == 0
    assert "round_medians_s" not in merged.to_record()


def test_spread_between_rounds_is_reported_as_such_with_more_rounds_as_the_fix():
    stability = assess([1.0, 1.4, 0.8, 1.3], rounds=True)
    assert stability["unstable"][0].startswith("the rounds' medians spread by")
    assert "more --rounds" in warning(stability)


def entry(medians, sample=ROUND_MEDIANS):
    return typed.entry("cfg", latencies=medians, median_s=sorted(medians)[len(medians) // 2],
                       sample=sample)


def one_run(e, name):
    return typed.result_set(e, name=name)


BASE = [1.00, 1.03, 0.98, 1.01, 0.99, 1.02]


def test_gate_of_two_six_round_runs_is_judged_on_six_versus_six_round_medians():
    # +15 %: inside the one-run drift bound (run CV 10 %), so per-call samples could not
    # call it; per-round medians are between-process samples and can.
    [verdict] = gate(one_run(entry(BASE), "a"), one_run(entry([v * 1.15 for v in BASE]), "b"),
                     Thresholds())
    assert verdict.effect.samples == PER_ROUND
    assert (verdict.effect.n_base, verdict.effect.n_cand) == (6, 6)
    assert verdict.outcome == REGRESSED


def test_the_same_change_in_per_call_times_of_one_run_stays_within_the_drift_bound():
    calls = BASE * 2
    [verdict] = gate(one_run(entry(calls, CALLS), "a"),
                     one_run(entry([v * 1.15 for v in calls], CALLS), "b"), Thresholds())
    assert verdict.effect.samples == PER_CALL and verdict.outcome == UNCHANGED


def test_rounds_on_one_side_only_are_inconclusive_and_say_what_to_do():
    [verdict] = gate(one_run(entry(BASE), "a"), one_run(entry(BASE * 2, CALLS), "b"),
                     Thresholds())
    assert verdict.outcome == INCONCLUSIVE
    assert "measure both sides with --rounds" in reason_texts(verdict)[0]


def test_too_few_rounds_name_rounds_as_what_is_missing():
    [verdict] = gate(one_run(entry(BASE[:3]), "a"), one_run(entry(BASE[:3]), "b"), Thresholds())
    assert verdict.outcome == INCONCLUSIVE
    assert "rounds per side (--rounds)" in " ".join(reason_texts(verdict))


def test_a_rounds_run_killed_before_merging_reads_back_from_its_finished_rounds(tmp_path):
    """SIGKILL after two of three rounds leaves the header and round records only: no
    finished round is lost to the readers."""
    import json
    import warnings

    from bench.store.result_files import load_results
    from bench.store.run_file import read_run

    path = tmp_path / "killed.jsonl"
    lines = [{"type": "header", "schema": 1, "tool": "sdxl-bench", "options": {"rounds": 3}},
             round_record(1, [1.0, 1.2, 1.1]).to_record(),
             round_record(2, [2.0, 2.2, 2.1]).to_record()]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = read_run(path)
    said = [str(w.message) for w in caught]
    assert any("no footer" in text for text in said)
    assert any("merged here from their finished rounds" in text for text in said)
    (record,) = run.results
    assert record.merged_by_reader is True
    assert (record.rounds, record.rounds_planned) == (2, 3)
    assert record.round_medians_s == (1.1, 2.1)
    assert record.sample == ROUND_MEDIANS
    (entry,) = load_results(path).entries
    assert entry.result.sample == ROUND_MEDIANS and list(entry.result.latency_values) == [1.1, 2.1]
