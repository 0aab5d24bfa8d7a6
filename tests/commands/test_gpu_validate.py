"""benchmarks/gpu_validate.sh: the GPU validation's plumbing (interpreter, carried wheels,
steps, timeouts, run files, summary) rehearsed on this CPU with ``--dry-run`` and the tiny
model, and its summary (gpu_validate.py) checked on made-up step files, so the few minutes
on a lent GPU are not spent debugging the script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from datetime import date
from pathlib import Path

from bench.result import Status
from benchmarks import gpu_validate as gv
from tests.support.cli import REPO

EXAMPLE = REPO / "reports" / "example" / "tiny-cpu.jsonl"


def probe_wheel(folder: Path) -> Path:
    """A wheel of one pure module, as gpu_wheels.sh would carry."""
    path = folder / "carried_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("carried_probe.py", "VALUE = 1\n")
        info = "carried_probe-1.0.dist-info"
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: carried-probe\nVersion: 1.0\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return path


def test_the_dry_run_installs_the_carried_wheels_passes_every_step_and_leaves_three_files(tmp_path):
    out, wheels = tmp_path / "out", tmp_path / "wheels"
    wheels.mkdir()
    probe_wheel(wheels)
    env = dict(os.environ, OUT=str(out), PY=sys.executable, BUDGET_S="170", WHEELS=str(wheels))
    done = subprocess.run(["bash", "benchmarks/gpu_validate.sh", "--dry-run"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "dry-run" and summary["verdict"] == "PASS", summary["failed"]
    assert {name: s["rc"] for name, s in summary["steps"].items()} == {
        "wheels": "0", "stack": "0", "doctor": "0", "pytest_gpu": "0", "sweep": "0",
        "determinism": "0", "last_device": "skipped"}
    assert summary["carried_wheels"] == ["carried-probe 1.0"]  # on the steps' sys.path
    assert f"python {sys.version.split()[0]} ({sys.executable})" in summary["stack"]
    assert [row["ok"] for row in summary["sweep"]] == [True, True, True]
    assert summary["determinism"] and {c["name"] for c in summary["doctor"]} >= {"cuda", "versions"}
    assert (out / "summary.txt").read_text().startswith("sdxl-bench gpu validation: PASS (dry-run)")
    # a device machine returns at most 8 files: the logs and run files travel as one archive
    assert sorted(p.name for p in out.iterdir()) == ["files.tar.gz", "summary.json", "summary.txt"]
    with tarfile.open(out / "files.tar.gz") as archive:
        assert {"files/sweep.jsonl", "files/logs/sweep.log", "files/stack.json"} <= set(archive.getnames())


def test_without_a_python_that_imports_torch_it_says_so_and_skips_the_rest(tmp_path):
    """No network, no venv to make: a missing interpreter is the first failure, not every step's."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    fake = bin_ / "python3"  # this python, but without torch
    fake.write_text(f'#!/bin/sh\n[ "$2" = "import torch" ] && exit 1\nexec {sys.executable} "$@"\n')
    fake.chmod(0o755)
    out = tmp_path / "out"
    env = dict(os.environ, OUT=str(out), PATH=f"{bin_}{os.pathsep}{os.environ['PATH']}",
               PYTHONS="python3", WHEELS=str(tmp_path / "none"))
    env.pop("PY", None)
    done = subprocess.run(["bash", "benchmarks/gpu_validate.sh", "--dry-run"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert [(f["step"], f["first_error"]) for f in summary["failed"]] == [
        ("python", "error: no python imports torch (tried python3): set PY=/path/to/python")]
    assert {s["note"] for name, s in summary["steps"].items() if name != "python"} == {"no python with torch"}


def test_an_unknown_argument_is_one_line_and_exit_2():
    done = subprocess.run(["bash", "benchmarks/gpu_validate.sh", "--bogus"], cwd=REPO,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_the_first_error_line_of_a_traceback_is_the_exception():
    log = ("== loading\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
           "    run()\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
    assert gv.first_error(log) == "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"


def test_the_first_error_line_of_pytest_output_is_its_first_assertion_line():
    log = ("tests/measure/test_gpu.py F.\n    def test_x():\n>       assert 1 == 2\n"
           "E       assert 1 == 2\nE         extra\nFAILED tests/measure/test_gpu.py::test_x\n")
    assert gv.first_error(log) == "E       assert 1 == 2"


def test_a_log_without_an_error_line_gives_its_last_line():
    assert gv.first_error("starting\nkilled by the kernel\n\n") == "killed by the kernel"
    assert gv.first_error("") is None


def write_steps(files: Path, rows: list[tuple[str, str, str, str]], logs: dict[str, str]) -> None:
    (files / "logs").mkdir(parents=True)
    lines = ["step\trc\tseconds\tnote", *("\t".join(row) for row in rows)]
    (files / "steps.tsv").write_text("\n".join(lines) + "\n")
    for name, text in logs.items():
        (files / "logs" / f"{name}.log").write_text(text)


def test_a_failed_step_leads_the_summary_with_its_first_error_line(tmp_path):
    write_steps(tmp_path, [("stack", "0", "3", ""), ("sweep", "1", "12", ""), ("determinism", "124", "100",
                                                                               "TIMEOUT")],
                {"sweep": "Traceback (most recent call last):\nRuntimeError: CUDA error: no kernel image\n"})
    data = gv.summarise(tmp_path, "gpu", date(2026, 12, 1))
    lines = gv.summary_lines(data)
    assert data["verdict"] == "FAIL" and lines[0].startswith("sdxl-bench gpu validation: FAIL (gpu)")
    assert lines[3] == "FAILED step sweep (rc 1, 12 s): RuntimeError: CUDA error: no kernel image"
    assert lines[4] == "FAILED step determinism (rc 124, 100 s): timed out after 100 s"


def test_a_failed_doctor_gives_its_first_fail_line(tmp_path):
    write_steps(tmp_path, [("doctor", "1", "6", "")], {"doctor": ""})
    checks = [{"name": "cuda", "level": "PASS", "message": "fine"},
              {"name": "versions", "level": "FAIL", "message": "diffusers is not installed"}]
    (tmp_path / "doctor.json").write_text(json.dumps({"checks": checks}))
    (failed,) = gv.summarise(tmp_path, "gpu")["failed"]
    assert failed["first_error"] == "FAIL versions: diffusers is not installed"


def test_a_missing_file_is_said_not_raised(tmp_path):
    write_steps(tmp_path, [("sweep", "0", "5", "")], {})
    data = gv.summarise(tmp_path, "gpu")
    assert data["sweep"] == "not written" and data["verdict"] == "FAIL"
    assert "sweep: not written" in gv.summary_lines(data)


def test_a_config_line_has_images_per_s_latency_memory_energy_mfu_and_the_event_check():
    row = {"config": "t2i-seeded/bs4-n1", "status": str(Status.OK), "ok": True, "error": None,
           "images_per_s": 1.25, "latency_median_s": 3.2, "latency_p90_s": 3.3,
           "peak_memory_bytes": {"nvml_process_used": 20 * 2**30, "torch_reserved": 18 * 2**30,
                                 "torch_allocated": None},
           "peak_memory_unavailable": {"torch_allocated": "why not"},
           "energy_j_per_image": 410.0, "avg_power_w": 650.0, "energy_unavailable": None,
           "mfu": 0.41, "event_vs_wall": 0.004, "events_agree": True, "warnings": ["clocks fell"]}
    line = gv.config_line("sweep", row)
    for text in ("1.250 img/s", "p50 3.2000 s", "NVML process 20.00", "torch reserved 18.00",
                 "torch allocated n/a (why not)", "410.0 J/img at 650 W", "MFU 41.0%",
                 "events vs wall 0.40% (agree)", "\n  warning: clocks fell"):
        assert text in line, text


def test_a_failed_config_line_gives_its_status_and_error():
    row = {"config": "c", "status": str(Status.OOM), "ok": False, "error": "CUDA out of memory"}
    assert gv.config_line("sweep", row) == "sweep c: OOM CUDA out of memory"


def test_configs_are_read_through_the_result_type():
    rows = gv.configs(EXAMPLE)
    assert rows and all(row["images_per_s"] and row["latency_median_s"] for row in rows if row["ok"])


def test_the_report_is_named_by_date_and_card():
    assert gv.report_name("NVIDIA H100 80GB HBM3", date(2026, 12, 1)) == \
        "reports/gpu/2026-12-01-nvidia-h100-80gb-hbm3.txt"
