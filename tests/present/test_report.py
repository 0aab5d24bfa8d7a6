"""The report command on synthetic runs: files written, plots embedded, sections present."""

import base64
import io
import json
import re

from PIL import Image

from bench.units import GIB
from tests.support.cli import run_in_process
from tests.support.fakeruns import record, write_run

BASE_LATENCY = {1: 0.2, 2: 0.3, 4: 0.5}  # images/s grows with the batch size


def sweep(tmp_path, name="run.jsonl", device_name="cpu"):
    records = [
        record([base * (1 + 0.01 * i) for i in range(6)], batch_size=bs, memory=bs * GIB)
        for bs, base in BASE_LATENCY.items()
    ]
    records.append(record([], batch_size=8, status="oom", memory=None))
    return write_run(tmp_path / name, records, device_name=device_name)


def embedded_pngs(html_text):
    return [
        Image.open(io.BytesIO(base64.b64decode(data)))
        for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html_text)
    ]


def test_report_writes_markdown_with_pngs_and_self_contained_html(tmp_path):
    out = tmp_path / "out"
    result = run_in_process("report", str(sweep(tmp_path)), "--out", str(out))
    assert result.code == 0, result.err
    markdown = (out / "report.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(linked) == 5  # throughput, latency, memory, Pareto, stages
    assert all((out / name).is_file() for name in linked)
    html_text = (out / "report.html").read_text()
    pngs = embedded_pngs(html_text)
    assert len(pngs) == 5
    assert all(png.width > 100 and png.height > 100 for png in pngs)
    assert "<img" in html_text and 'src="run' not in html_text  # nothing external


def test_report_format_html_only_writes_no_markdown(tmp_path):
    out = tmp_path / "out"
    assert run_in_process("report", str(sweep(tmp_path)), "--out", str(out), "--format", "html").code == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]


def test_report_recommends_within_budget_and_explains_rejections(tmp_path):
    out = tmp_path / "out"
    args = ["report", str(sweep(tmp_path)), "--out", str(out), "--max-memory", "2.5"]
    assert run_in_process(*args).code == 0
    markdown = (out / "report.md").read_text()
    assert "**Recommended: `t2i/bs2-n1`**" in markdown
    assert "peak memory (process_rss) 4 GiB > 2.5 GiB" in markdown
    assert "status oom" in markdown


def test_report_says_tied_once_when_intervals_overlap(tmp_path):
    # bs1 at 1 image per 0.10-0.16 s, bs2 at 2 images per 0.19-0.31 s: the same images/s
    # within noise, the point estimates a little apart.
    noisy = [0.10, 0.16, 0.11, 0.15, 0.12, 0.14]
    run = write_run(tmp_path / "tied.jsonl", [record(noisy, batch_size=1),
                                              record([2 * v - 0.005 for v in noisy], batch_size=2)])
    out = tmp_path / "out"
    assert run_in_process("report", str(run), "--out", str(out)).code == 0
    markdown = (out / "report.md").read_text()
    assert "**Tied: `t2i/bs2-n1`, `t2i/bs1-n1`**: `t2i/bs2-n1` leads by point estimate" in markdown
    assert markdown.count("intervals overlap") == 2  # the verdict once, the rejection row once
    assert "Recommended:" not in markdown


def test_report_summary_shows_intervals_n_and_memory_in_gib(tmp_path):
    out = tmp_path / "out"
    run_in_process("report", str(sweep(tmp_path)), "--out", str(out))
    markdown = (out / "report.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| t2i/bs4-n1"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # images/s, its CI, p50, its CI, p90, p99, n, process_rss GiB; 6 calls support no tail
    assert cells[7:15] == ["7.8", "[7.62, 8]", "0.512", "[0.5, 0.525]", "—", "—", "6", "4.00"]


def test_report_summary_shows_p90_from_ten_calls(tmp_path):
    path = write_run(tmp_path / "ten.jsonl", [record([1.0 + 0.01 * i for i in range(10)])])
    out = tmp_path / "out"
    run_in_process("report", str(path), "--out", str(out))
    row = next(line for line in (out / "report.md").read_text().splitlines()
               if line.startswith("| t2i/bs1-n1"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[11:14] == ["1.08", "—", "10"]


def test_hardware_comparison_appears_only_for_several_devices(tmp_path):
    same = tmp_path / "same"
    run_in_process(
        "report",
        str(sweep(tmp_path, "a.jsonl")),
        str(sweep(tmp_path, "b.jsonl")),
        "--out",
        str(same),
    )
    assert "Hardware comparison" not in (same / "report.md").read_text()
    mixed = tmp_path / "mixed"
    a = sweep(tmp_path, "a.jsonl", device_name="NVIDIA H100")
    b = sweep(tmp_path, "b.jsonl", device_name="NVIDIA A100")
    assert run_in_process("report", str(a), str(b), "--out", str(mixed)).code == 0
    assert (mixed / "hardware-comparison.png").is_file()


def test_report_environment_names_each_device(tmp_path):
    out = tmp_path / "out"
    a = sweep(tmp_path, "a.jsonl", device_name="NVIDIA H100")
    run_in_process("report", str(a), "--out", str(out))
    assert re.search(r"\| device_name +\| NVIDIA H100", (out / "report.md").read_text())


def test_report_says_a_cpu_runs_cuda_version_is_only_torchs_build(tmp_path):
    out = tmp_path / "out"
    a = sweep(tmp_path, "a.jsonl")
    run = [json.loads(line) for line in a.read_text().splitlines()]
    run[0]["env"].update(cuda="13.0", cuda_available=False)
    a.write_text("".join(json.dumps(r) + "\n" for r in run))
    run_in_process("report", str(a), "--out", str(out))
    assert re.search(r"\| cuda +\| 13.0 \(torch's build; no CUDA device was available\)",
                     (out / "report.md").read_text())


def sweep_with_images(tmp_path, files_listed=True):
    """A run whose bs1 config saved three images, as ``run --save-images`` records them."""
    folder = tmp_path / "images"
    folder.mkdir()
    names = [f"bs1-{i}.png" for i in range(3)]
    for i, name in enumerate(names):
        Image.new("RGB", (64, 64), (80 * i, 0, 0)).save(folder / name)
    saved = {"images_dir": str(folder)}
    if files_listed:
        saved["image_files"] = names
    records = [
        record([0.2, 0.21, 0.22], batch_size=1, **saved),
        record([0.3, 0.31, 0.32], batch_size=2),
    ]
    return write_run(tmp_path / "run.jsonl", records)


def test_saved_images_become_a_grid(tmp_path):
    out = tmp_path / "out"
    assert run_in_process("report", str(sweep_with_images(tmp_path)), "--out", str(out)).code == 0
    grid = Image.open(out / "run1-run-images-t2i-bs1-n1.png")
    assert grid.size == (3 * 64, 64)
    assert "run1-run-images-t2i-bs2-n1.png" not in (out / "report.md").read_text()


def test_images_folder_without_file_list_is_globbed(tmp_path):
    out = tmp_path / "out"
    run = sweep_with_images(tmp_path, files_listed=False)
    assert run_in_process("report", str(run), "--out", str(out)).code == 0
    assert Image.open(out / "run1-run-images-t2i-bs1-n1.png").size == (3 * 64, 64)


def test_missing_images_folder_is_noted_not_fatal(tmp_path):
    run = write_run(tmp_path / "run.jsonl", [record([0.2, 0.21], images_dir=str(tmp_path / "gone"))])
    out = tmp_path / "out"
    assert run_in_process("report", str(run), "--out", str(out)).code == 0
    assert "images of t2i/bs1-n1 not found" in (out / "report.md").read_text()


def test_compare_out_writes_a_report_with_hardware_plot(tmp_path):
    a = sweep(tmp_path, "a.jsonl", device_name="NVIDIA H100")
    b = sweep(tmp_path, "b.jsonl", device_name="NVIDIA A100")
    out = tmp_path / "cmp"
    result = run_in_process("compare", str(a), str(b), "--out", str(out))
    assert result.code == 0, result.err
    assert len(embedded_pngs((out / "compare.html").read_text())) == 1
    assert "Hardware comparison" in (out / "compare.md").read_text()


def test_summary_shows_tflops_and_mfu_only_when_measured(tmp_path):
    plain = write_run(tmp_path / "plain.jsonl", [record([0.2, 0.21])])
    run_in_process("report", str(plain), "--out", str(tmp_path / "plain"))
    assert "MFU" not in (tmp_path / "plain" / "report.md").read_text()
    measured = write_run(tmp_path / "mfu.jsonl", [record([0.2, 0.21], achieved_tflops=350.0, mfu=0.354)])
    run_in_process("report", str(measured), "--out", str(tmp_path / "mfu"))
    row = next(
        line
        for line in (tmp_path / "mfu" / "report.md").read_text().splitlines()
        if line.startswith("| t2i/bs1-n1")
    )
    assert "| 350 " in row and "| 35.4% " in row


def test_report_shows_why_energy_is_missing(tmp_path):
    reason = "cpu: no GPU energy counter"
    path = write_run(tmp_path / "cpu.jsonl", [record([1.0, 1.1, 1.2], energy_unavailable=reason)])
    out = tmp_path / "out"
    run_in_process("report", str(path), "--out", str(out))
    row = next(line for line in (out / "report.md").read_text().splitlines()
               if line.startswith("| t2i/bs1-n1"))
    assert "n/a" in [cell.strip() for cell in row.split("|")]  # the shared reason: once, below
    assert f"- J/image n/a for every config: {reason}" in (out / "report.md").read_text()


def test_report_gives_each_row_its_energy_reason_when_reasons_differ(tmp_path):
    path = write_run(tmp_path / "mixed.jsonl", [
        record([1.0, 1.1, 1.2], energy_unavailable="cpu: no GPU energy counter"),
        record([1.0, 1.1, 1.2], batch_size=2, energy_unavailable="NVML: not supported")])
    out = tmp_path / "out"
    run_in_process("report", str(path), "--out", str(out))
    markdown = (out / "report.md").read_text()
    cells = {cell.strip() for line in markdown.splitlines() if line.startswith("| t2i/")
             for cell in line.split("|")}
    assert {"n/a (cpu: no GPU energy counter)", "n/a (NVML: not supported)"} <= cells
    assert "for every config" not in markdown


def test_report_shows_cold_start_beside_the_steady_state(tmp_path):
    cold = {"import_s": 8.7, "load_s": 0.47, "first_call_s": 0.142, "first_call": "warm-up",
            "first_call_config_id": "t2i/bs1-n1", "first_call_peak_bytes": 2 * GIB,
            "first_call_memory_view": "process_rss", "notes": []}
    path = write_run(tmp_path / "cold.jsonl", [record([0.1, 0.11, 0.12], cold_start=cold),
                                               record([0.2] * 3, batch_size=2, cold_start=None)])
    out = tmp_path / "out"
    run_in_process("report", str(path), "--out", str(out))
    markdown = (out / "report.md").read_text()
    assert "### Cold start" in markdown
    row = next(line for line in markdown.split("### Cold start")[1].splitlines()
               if line.startswith("| t2i/bs1-n1"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:7] == ["t2i/bs1-n1", "8.7", "0.47", "0.142", "warm-up", "2 GiB process_rss",
                         "0.11"]


def test_report_names_nan_and_black_images_and_never_recommends_that_config(tmp_path):
    records = [record([0.2] * 6, batch_size=1),
               record([0.1] * 6, batch_size=4, nan_images=1, black_images=1,
                      stability={"unstable": ["the calls spread by 12%"]})]
    out = tmp_path / "out"
    result = run_in_process("report", str(write_run(tmp_path / "r.jsonl", records)),
                            "--out", str(out))
    assert result.code == 0, result.err
    markdown = (out / "report.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| t2i/bs4-n1"))
    assert "| ok, unstable, 1 NaN, 1 black |" in row  # as the terminal table says it
    assert "**Recommended: `t2i/bs1-n1`**" in markdown
    assert "| t2i/bs4-n1 | broken images: 1 NaN, 1 black of 4 in the last call" in markdown


def test_compare_of_two_single_runs_says_its_significance_ignores_between_run_noise(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [record([1.0, 1.01, 1.02, 1.0, 1.01, 1.03])])
    b = write_run(tmp_path / "b.jsonl", [record([1.1, 1.12, 1.11, 1.13, 1.12, 1.14])])
    out = tmp_path / "out"
    result = run_in_process("compare", str(a), str(b), "--out", str(out))
    assert "significant" in result.out
    note = " ".join(result.out.split("note: ")[1].split())
    assert note.startswith("'significant' here is a Mann-Whitney test over the per-call times"
                           " of one run per side")
    assert "understate the noise between runs" in (out / "compare.md").read_text()
