"""``sdxl-bench history`` and ``gate --history`` as a user runs them."""

import re
import sys

import pytest

from tests.support.cli import run_in_process
from tests.support.history_runs import commit, write_history_run, write_series


@pytest.fixture
def runs(tmp_path):
    """12 runs of one machine, +20 % from run 7 on."""
    return write_series(tmp_path / "runs", [1.0] * 6 + [1.2] * 6, run_cv=0.01, seed=4)


@pytest.fixture
def store(tmp_path, runs):
    path = tmp_path / "history.sqlite"
    result = run_in_process("history", "add", *map(str, runs), "--store", str(path))
    assert result.code == 0, result.err
    return path


def test_add_stores_good_files_refuses_a_damaged_one_and_exits_2(tmp_path, runs):
    torn = tmp_path / "torn.jsonl"
    torn.write_text(runs[0].read_text()[:-40])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    path = tmp_path / "s.sqlite"
    result = run_in_process("history", "add", str(runs[0]), str(torn), str(empty), str(runs[1]),
                            "--store", str(path))
    assert result.code == 2
    refused = result.err.strip().splitlines()
    assert len(refused) == 2
    assert refused[0].startswith("sdxl-bench: refused: ") and str(torn) in refused[0]
    assert "torn line" in refused[0] and "is empty" in refused[1]
    assert result.out.count(": added: 2 config(s)") == 2
    assert "2 run(s) stored; 2 of 4 file(s) added or already present, 2 refused" in result.out
    again = run_in_process("history", "add", str(runs[0]), "--store", str(path))
    assert again.code == 0 and "already in the store" in again.out and "2 run(s) stored" in again.out


def test_add_takes_the_default_store_from_the_environment(tmp_path, runs, monkeypatch):
    monkeypatch.setenv("SDXL_BENCH_HISTORY", str(tmp_path / "default.sqlite"))
    assert run_in_process("history", "add", str(runs[0])).code == 0
    assert (tmp_path / "default.sqlite").is_file()
    shown = run_in_process("history", "show")
    assert shown.code == 0 and "1 run(s)" in shown.out


def test_show_lists_each_series_newest_first_with_its_change_point(store):
    result = run_in_process("history", "show", "--store", str(store))
    assert result.code == 0, result.err
    assert result.out.count("\n## t2i ") == 2
    section = result.out.split("\n## ")[1]
    dates = re.findall(r"^\| (2026-\S+ \S+)", section, re.M)
    assert dates == sorted(dates, reverse=True) and len(dates) == 12
    marked = [line for line in section.splitlines() if "▲ latency +" in line]
    assert len(marked) == 1 and commit(6)[:10] in marked[0]
    assert f"since {commit(5)[:10]}..{commit(6)[:10]}" in marked[0]
    last = run_in_process("history", "show", "--store", str(store), "--config", "bs2", "--last", "3")
    assert last.out.count("\n## t2i ") == 1 and len(re.findall(r"^\| 2026-", last.out, re.M)) == 3


def test_show_with_filters_matching_nothing_says_so(store):
    result = run_in_process("history", "show", "--store", str(store), "--machine", "H200")
    assert result.code == 2 and "no stored result" in result.err and "matches the filters" in result.err
    missing = run_in_process("history", "show", "--store", str(store) + ".nope")
    assert missing.code == 2 and "no history store at" in missing.err


def test_report_writes_one_self_contained_html_file(store, tmp_path):
    out = tmp_path / "dashboard"
    result = run_in_process("history", "report", "--store", str(store), "--out", str(out))
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    html = (out / "index.html").read_text()
    assert html.count('<img alt="trend of') == 2
    assert html.count('src="data:image/png;base64,') == 2
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "Regression feed" in html and "▲ regression" in html and "Hardware" in html
    assert f"{commit(5)[:10]}..{commit(6)[:10]}" in html


def test_report_ratios_to_a_chosen_reference_machine(store, tmp_path):
    gpu = write_history_run(tmp_path / "gpu.jsonl", 40, device="NVIDIA L4", host="gpu-1", factor=0.5)
    assert run_in_process("history", "add", str(gpu), "--store", str(store)).code == 0
    out = tmp_path / "d"
    result = run_in_process("history", "report", "--store", str(store), "--out", str(out),
                            "--reference", "L4")
    assert result.code == 0, result.err
    html = (out / "index.html").read_text()
    assert "reference machine <strong>NVIDIA L4, Test CPU @ gpu-1</strong>" in html
    assert re.search(r"<td>0\.4\d\dx \[", html)  # the CPU runs at under half the L4's images/s
    bad = run_in_process("history", "report", "--store", str(store), "--out", str(out),
                         "--reference", "nothing")
    assert bad.code == 2 and "matches 0 machines" in bad.err


def test_export_csv_and_refusals(store, tmp_path, monkeypatch):
    out = tmp_path / "h.csv"
    result = run_in_process("history", "export", "--store", str(store), "--out", str(out))
    assert result.code == 0 and "24 row(s)" in result.out
    assert out.read_text().splitlines()[0].startswith("started_at,commit,label,machine_id")
    unknown = run_in_process("history", "export", "--store", str(store), "--out", str(tmp_path / "h.xlsx"))
    assert unknown.code == 2 and "name it .csv or .parquet" in unknown.err
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    parquet = run_in_process("history", "export", "--store", str(store), "--out", str(tmp_path / "h.parquet"))
    assert parquet.code == 2
    assert parquet.err.strip().splitlines() == [
        "sdxl-bench: error: Parquet export needs pyarrow: pip install pyarrow"
        " (or export CSV: --out FILE.csv)"]


def test_export_parquet_holds_the_same_rows_and_columns_as_csv(store, tmp_path):
    parquet = pytest.importorskip("pyarrow.parquet")  # a dev dependency: runs in CI
    for name in ("h.csv", "h.parquet"):
        done = run_in_process("history", "export", "--store", str(store), "--out", str(tmp_path / name))
        assert done.code == 0, done.err
    csv_lines = (tmp_path / "h.csv").read_text().splitlines()
    table = parquet.read_table(tmp_path / "h.parquet")
    assert table.column_names == csv_lines[0].split(",")
    assert table.num_rows == len(csv_lines) - 1 == 24


def test_history_without_a_subcommand_is_a_usage_error():
    result = run_in_process("history")
    assert result.code == 2 and "needs a subcommand" in result.err


def test_gate_history_fails_a_slowdown_and_passes_the_same_code(store, tmp_path):
    rng_slow = write_history_run(tmp_path / "slow.jsonl", 50, factor=1.2 * 1.3)
    slow = run_in_process("gate", "--history", str(store), "--last", "5", str(rng_slow))
    assert slow.code == 1, slow.out + slow.err
    assert "regressed (fails)" in slow.out and "5 vs 1 history runs (t, df 4)" in slow.out
    assert "machine cpu, Test CPU @ runner-1" in slow.out and "FAIL:" in slow.out
    same = write_history_run(tmp_path / "same.jsonl", 51, factor=1.2)
    passed = run_in_process("gate", "--history", str(store), "--last", "5", str(same))
    assert passed.code == 0, passed.out + passed.err
    assert "PASS: no regression in 2 config(s) (2 unchanged)" in passed.out


def test_gate_history_does_not_use_a_stored_candidate_as_its_own_baseline(store, runs):
    result = run_in_process("gate", "--history", str(store), "--last", "5", str(runs[-1]))
    assert result.code == 0, result.out + result.err
    assert "5 run(s)" in result.out and commit(11)[:10] not in result.out.split("->")[0]


def test_gate_history_usage_errors(store, tmp_path, runs):
    other = write_history_run(tmp_path / "gpu.jsonl", 60, device="NVIDIA L4", host="gpu-1")
    foreign = run_in_process("gate", "--history", str(store), str(other))
    assert foreign.code == 2 and "no run of machine NVIDIA L4, Test CPU @ gpu-1" in foreign.err
    assert "machines stored: cpu, Test CPU @ runner-1" in foreign.err
    named = run_in_process("gate", "--history", str(store), "--machine", "ci", str(runs[0]))
    assert named.code == 2 and "no run of machine ci" in named.err
    assert run_in_process("gate", "--last", "5", str(runs[0])).err.count("go with --history") == 1
    window = run_in_process("gate", "--history", str(store), "--last", "1", str(runs[0]))
    assert window.code == 2 and "--last must be >= 2" in window.err
    both = run_in_process("gate", "--history", str(store), "--baseline", str(runs[0]),
                          "--candidate", str(runs[1]))
    assert both.code == 2 and "give only candidate runs" in both.err
    mixed = run_in_process("gate", "--history", str(store), str(runs[0]), str(other))
    assert mixed.code == 2 and "come from 2 machines" in mixed.err
    nostore = run_in_process("gate", "--history", str(tmp_path / "none.sqlite"), str(runs[0]))
    assert nostore.code == 2 and "no history store at" in nostore.err


def test_a_real_tiny_run_file_ingests_and_gates(tiny_run, tmp_path):
    path = tmp_path / "real.sqlite"
    added = run_in_process("history", "add", str(tiny_run.path), "--store", str(path))
    assert added.code == 0, added.err
    assert ": added: 1 config(s)" in added.out
    shown = run_in_process("history", "show", "--store", str(path))
    assert shown.code == 0 and "t2i-prompts-x-images bs2 n2 2steps 32x32 float32 tiny" in shown.out
    gated = run_in_process("gate", "--history", str(path), str(tiny_run.path))
    assert gated.code == 2 and "no run of machine" in gated.err  # its only run is itself


def test_gate_history_takes_only_runs_before_the_candidate(store, runs):
    # re-gating run 4 (stored): its baseline is runs 1..3, not the later ones nor itself
    result = run_in_process("gate", "--history", str(store), "--last", "10", str(runs[3]))
    assert result.code == 0, result.out + result.err
    assert "3 run(s)" in result.out and f"{commit(2)[:10]} (" not in result.out
    assert f".. {commit(2)[:10]};" in result.out


def test_report_of_a_store_without_an_ok_result_needs_no_reference_machine(tmp_path):
    failed = write_series(tmp_path / "oom", [1.0] * 2, status="oom")
    path = tmp_path / "oom.sqlite"
    assert run_in_process("history", "add", *map(str, failed), "--store", str(path)).code == 0
    result = run_in_process("history", "report", "--store", str(path), "--out",
                            str(tmp_path / "d"), "--reference", "anything")
    assert result.code == 0, result.err
    assert "No ok result stored yet." in (tmp_path / "d" / "index.html").read_text()


@pytest.fixture
def guided_store(tmp_path):
    """8 runs at guidance 5.0 and, among them, 2 at guidance 1.0 (classifier-free guidance
    off: 2.6x faster), as `run --guidance-scale 1.0` records them."""
    folder = tmp_path / "guided"
    guided = write_series(folder, [1.0] * 8, run_cv=0.01, seed=5,
                          arguments={"guidance_scale": 5.0, "seed": 0})
    unguided = [write_history_run(folder / f"cfg-off{i}.jsonl", 30 + i, factor=1 / 2.6,
                                  arguments={"guidance_scale": 1.0, "seed": 0}) for i in range(2)]
    path = tmp_path / "guided.sqlite"
    added = run_in_process("history", "add", *map(str, [*guided, *unguided]), "--store", str(path))
    assert added.code == 0, added.err
    return path


def test_show_report_and_export_keep_other_call_arguments_apart_and_say_so(guided_store, tmp_path):
    shown = run_in_process("history", "show", "--store", str(guided_store))
    assert shown.code == 0, shown.err
    titles = re.findall(r"^## (.*) — ", shown.out, re.M)
    assert titles == [f"t2i bs{bs} n1 4steps 64x64 float32 tiny · guidance_scale {g}"
                      for bs in (1, 2) for g in (1.0, 5.0)]
    assert "▲" not in shown.out and "▼" not in shown.out  # no step between the two
    out = tmp_path / "h.csv"
    assert run_in_process("history", "export", "--store", str(guided_store), "--out", str(out)).code == 0
    import csv

    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["series"].split(" · ")[1], r["guidance_scale"]) for r in rows} == {
        ("guidance_scale 5.0", "5.0"), ("guidance_scale 1.0", "1.0")}
    assert {r["seed"] for r in rows} == {"0"}
    dash = tmp_path / "dash"
    assert run_in_process("history", "report", "--store", str(guided_store), "--out", str(dash)).code == 0
    html = (dash / "index.html").read_text()
    assert html.count("guidance_scale 1.0 — ") == 2 and html.count("guidance_scale 5.0 — ") == 2
    assert "No change point in 4 series" in html


def test_gate_history_judges_against_runs_with_the_candidates_call_arguments(guided_store, tmp_path):
    off = write_history_run(tmp_path / "off.jsonl", 50, factor=1 / 2.6,
                            arguments={"guidance_scale": 1.0, "seed": 0})
    result = run_in_process("gate", "--history", str(guided_store), str(off))
    assert result.code == 0, result.out + result.err
    assert "2 vs 1 history runs" in result.out  # the two unguided runs, not the 8 guided
    other = write_history_run(tmp_path / "half.jsonl", 51, factor=0.7,
                              arguments={"guidance_scale": 3.0, "seed": 0})
    missing = run_in_process("gate", "--history", str(guided_store), str(other))
    assert "missing" in missing.out
    assert ("not in the history of this machine with guidance_scale 3.0 (stored: guidance_scale"
            " 1.0; guidance_scale 5.0)") in missing.out


def test_show_and_report_state_the_change_point_setting_and_take_another(store, tmp_path):
    shown = run_in_process("history", "show", "--store", str(store))
    assert "Change points ('balanced' setting: on a level series about" in shown.out
    assert "choose with --change-points strict|balanced|sensitive" in shown.out
    strict = run_in_process("history", "show", "--store", str(store), "--change-points", "strict")
    assert strict.code == 0 and "'strict' setting" in strict.out
    out = tmp_path / "strict-dash"
    report = run_in_process("history", "report", "--store", str(store), "--out", str(out),
                            "--change-points", "sensitive")
    assert report.code == 0, report.err
    html = (out / "index.html").read_text()
    assert "&#x27;sensitive&#x27; setting" in html or "'sensitive' setting" in html
    assert "false change point(s) per 365 runs" in html and "in 9 of 10 series" in html
    bad = run_in_process("history", "show", "--store", str(store), "--change-points", "loose")
    assert bad.code == 2 and "invalid choice: 'loose'" in bad.err
