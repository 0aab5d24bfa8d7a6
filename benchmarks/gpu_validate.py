"""The two Python parts of gpu_validate.sh: ``stack`` (what the run uses, in one line) and
``summary`` (what a developer needs to act on, from the step files).

    python benchmarks/gpu_validate.py stack FILES         # writes FILES/stack.json
    python benchmarks/gpu_validate.py summary FILES OUT MODE

``stack`` imports torch and the measuring stack, each in its own ``try``: it exits 1 when
one is missing, naming it, so every later failure is not the first thing read. ``summary``
needs no torch and never raises on missing or broken files: it says what is missing.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# What the steps import: a missing one fails the stack step, naming it.
NEEDED = ("bench", "torch", "diffusers", "transformers", "accelerate", "pynvml", "pytest")
GIB = 2**30
# A line that says what went wrong: an exception, pytest's E lines and FAILED lines, a
# one-line CLI error. The first one in a log is the one to read first.
ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*|E {2,}\S.*|FAILED .*"
                        r"|(?:ERROR|FAIL|error|fatal)\b:?\s.*|sdxl-bench[\w ]*: .*)$")
MEMORY = (("nvml_process_used", "NVML process"), ("nvml_device_used", "NVML device"),
          ("torch_reserved", "torch reserved"), ("torch_allocated", "torch allocated"),
          ("process_rss", "RSS"))


# --- stack ------------------------------------------------------------------------------

def _version(module: str) -> tuple[str | None, str | None, str | None]:
    """(version, file, error) of an importable module."""
    try:
        mod = __import__(module)
    except Exception as exc:
        return None, None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return getattr(mod, "__version__", "?"), getattr(mod, "__file__", None), None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _driver() -> tuple[str | None, list[str]]:
    """The NVIDIA driver and the GPUs' names, from NVML or else nvidia-smi (None, [])."""
    try:
        import pynvml

        pynvml.nvmlInit()
        names = [pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
                 for i in range(pynvml.nvmlDeviceGetCount())]
        driver = pynvml.nvmlSystemGetDriverVersion()
        return _text(driver), [_text(n) for n in names]
    except Exception:
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version,name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout
        rows = [line.split(", ", 1) for line in out.splitlines() if ", " in line]
        return (rows[0][0], [r[1] for r in rows]) if rows else (None, [])
    except Exception:
        return None, []


def carried_distributions(site: str) -> list[str]:
    """``name version`` of each distribution this interpreter finds in the carried folder."""
    from importlib import metadata

    return sorted(f"{d.metadata['Name']} {d.version}" for d in metadata.distributions()
                  if str(d.locate_file("")).startswith(site))


def stack(files: Path, site: str | None) -> int:
    """Print one line of what this run uses; write it to FILES/stack.json; 1 if incomplete."""
    facts: dict[str, Any] = {"python": sys.version.split()[0], "executable": sys.executable,
                             "errors": {}}
    for module in NEEDED:
        version, where, error = _version(module)
        facts[module] = version
        if error:
            facts["errors"][module] = error
        elif site and where and str(where).startswith(site):
            facts.setdefault("carried", []).append(module)
    if facts["torch"]:
        import torch

        facts["torch_cuda"] = torch.version.cuda
        facts["cuda_available"] = torch.cuda.is_available()
        facts["device_count"] = torch.cuda.device_count() if facts["cuda_available"] else 0
    facts["driver"], facts["gpus"] = _driver()
    facts["carried_wheels"] = carried_distributions(site) if site else []
    (files / "stack.json").write_text(json.dumps(facts, indent=1))
    print(stack_line(facts))
    for module, error in facts["errors"].items():
        print(f"cannot import {module}: {error}")
    return 1 if facts["errors"] else 0


def stack_line(facts: dict) -> str:
    """``python 3.12.3 (/path) · torch 2.11.0+cu130 (CUDA 13.0) · driver 580.1 · …``"""
    carried = set(facts.get("carried") or ())

    def named(module: str) -> str:
        version = facts.get(module) or "MISSING"
        return f"{module} {version}" + (" (carried)" if module in carried else "")

    cuda = f"CUDA {facts['torch_cuda']}" if facts.get("torch_cuda") else "a CPU build"
    gpus = facts.get("gpus") or []
    where = f"{len(gpus)} × {gpus[0]}" if gpus else "no GPU"
    return (f"python {facts.get('python')} ({facts.get('executable')})"
            f" · torch {facts.get('torch') or 'MISSING'} ({cuda})"
            f" · driver {facts.get('driver') or 'none'} · {where} · {named('diffusers')}"
            f" · {named('transformers')} · {named('bench')}")


# --- summary ----------------------------------------------------------------------------

def first_error(text: str) -> str | None:
    """The first line of a log that says what went wrong, else its last line (pure)."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if ERROR_LINE.match(line.strip()):
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except Exception:
        return None


def read_steps(files: Path) -> dict[str, dict]:
    steps: dict[str, dict] = {}
    try:
        with open(files / "steps.tsv") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                steps[row["step"]] = {"rc": row["rc"], "seconds": row["seconds"], "note": row["note"]}
    except OSError:
        pass
    return steps


def failed_steps(files: Path, steps: dict[str, dict]) -> list[dict]:
    """Each step that did not exit 0 (nor was skipped), with the first error line of its log."""
    failed = []
    for name, step in steps.items():
        if step["rc"] in ("0", "skipped"):
            continue
        log = files / "logs" / f"{name}.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        reason = f"timed out after {step['seconds']} s" if step["note"] == "TIMEOUT" else None
        if name == "doctor" and not reason:  # its output is doctor.json; the log holds stderr
            checks = (_json(files / "doctor.json") or {}).get("checks") or []
            reason = next((f"{c['level']} {c['name']}: {c['message']}" for c in checks
                           if c["level"] == "FAIL"), None) if not text.strip() else None
        failed.append({"step": name, "rc": step["rc"], "seconds": step["seconds"],
                       "first_error": reason or first_error(text) or "(empty log)"})
    return failed


def configs(path: Path) -> list[dict] | str:
    """The figures of each config of a run file (a sentence when there is none)."""
    if not path.exists():
        return "not written"
    try:
        from bench.store.run_file import read_run

        results = read_run(path).results
    except Exception as exc:
        return f"unreadable: {type(exc).__name__}: {exc}"
    rows = []
    for r in results:
        check = r.detail("latency_event_check") or {}
        rows.append({
            "config": r.config_id, "status": str(r.status), "ok": r.ok, "error": r.error,
            "images_per_s": r.images_per_s,
            "latency_median_s": r.latency.median if r.latency else None,
            "latency_p90_s": r.latency.p90 if r.latency else None,
            "peak_memory_bytes": dict(r.peak_memory or {}),
            "peak_memory_unavailable": r.detail("peak_memory_unavailable"),
            "energy_j_per_image": r.energy_j_per_image, "avg_power_w": r.avg_power_w,
            "energy_unavailable": r.energy_unavailable, "mfu": r.mfu,
            "event_vs_wall": check.get("max_relative_difference"),
            "events_agree": check.get("agree"),
            "warnings": list(r.warnings)})
    return rows


def determinism(path: Path) -> list[dict] | str:
    if not path.exists():
        return "not written"
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and row.get("type") == "determinism":
            rows.append({"check": row.get("check"), "verdict": row.get("verdict"),
                         "detail": row.get("detail")})
    return rows


def pytest_counts(path: Path) -> dict | str:
    try:
        root = ET.parse(path).getroot()
    except Exception as exc:
        return f"no junit xml ({type(exc).__name__})"
    suite = root if root.tag == "testsuite" else root[0]
    counts: dict[str, Any] = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    counts["failed"] = []
    for case in suite.iter("testcase"):
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None:
            message = (bad.get("message") or bad.text or "").strip().splitlines()
            counts["failed"].append(f"{case.get('name')}: {message[0][:200] if message else '?'}")
    return counts


def fmt(value: Any, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _gib(value: Any) -> str:
    return f"{value / GIB:.2f}" if isinstance(value, (int, float)) else "–"


def config_line(name: str, row: dict) -> str:
    """One config's figures on one line (pure)."""
    if not row["ok"]:
        return f"{name} {row['config']}: {row['status'].upper()} {row['error'] or ''}".rstrip()
    peak, why = row["peak_memory_bytes"], row["peak_memory_unavailable"] or {}
    memory = ", ".join(f"{label} {_gib(peak[key])}" if peak[key] is not None else
                       f"{label} n/a ({why.get(key, '?')})" for key, label in MEMORY if key in peak)
    events = "n/a" if row["event_vs_wall"] is None else \
        f"{row['event_vs_wall']:.2%} ({'agree' if row['events_agree'] else 'DISAGREE'})"
    energy = f"{fmt(row['energy_j_per_image'], '.1f')} J/img at {fmt(row['avg_power_w'], '.0f')} W" \
        if row["energy_j_per_image"] is not None else f"energy n/a ({row['energy_unavailable'] or '?'})"
    return (f"{name} {row['config']}: {fmt(row['images_per_s'], '.3f')} img/s, p50"
            f" {fmt(row['latency_median_s'], '.4f')} s (p90 {fmt(row['latency_p90_s'], '.4f')}),"
            f" peak GiB: {memory or 'none'}; {energy}, MFU {fmt(row['mfu'], '.1%')},"
            f" events vs wall {events}"
            + "".join(f"\n  warning: {w}" for w in row["warnings"]))


def report_name(card: str | None, day: date) -> str:
    """Where the summary is committed: reports/gpu/DATE-CARD.txt (pure)."""
    slug = re.sub(r"[^a-z0-9]+", "-", (card or "unknown-gpu").lower()).strip("-")
    return f"reports/gpu/{day.isoformat()}-{slug}.txt"


def summarise(files: Path, mode: str, day: date | None = None) -> dict:
    """Everything the summary says, as data."""
    steps = read_steps(files)
    facts = _json(files / "stack.json") or {}
    gpus = facts.get("gpus") or []
    data: dict[str, Any] = {
        "mode": mode, "date": (day or date.today()).isoformat(), "card": gpus[0] if gpus else None,
        "stack": stack_line(facts) if facts else "not read (see the stack step)",
        "carried_wheels": facts.get("carried_wheels") or [], "steps": steps,
        "failed": failed_steps(files, steps)}
    doctor = _json(files / "doctor.json")
    data["doctor"] = [{"name": c["name"], "level": c["level"], "message": c["message"], "fix": c.get("fix")}
                      for c in doctor["checks"]] if doctor else "no doctor.json"
    data["pytest_gpu"] = pytest_counts(files / "pytest_gpu.xml")
    for name in ("sweep", "last_device"):
        data[name] = configs(files / f"{name}.jsonl")
    data["determinism"] = determinism(files / "determinism.jsonl")
    sweep = data["sweep"] if isinstance(data["sweep"], list) else []
    data["failed_configs"] = [r["config"] for r in sweep if not r["ok"]]
    data["verdict"] = "PASS" if not data["failed"] and not data["failed_configs"] and sweep else "FAIL"
    data["report"] = report_name(data["card"], date.fromisoformat(data["date"])) if mode == "gpu" else None
    return data


def summary_lines(data: dict) -> list[str]:
    """The summary as text: verdict, stack, failures with their first error line, figures (pure)."""
    lines = [f"sdxl-bench gpu validation: {data['verdict']} ({data['mode']}) {data['date']}"
             f" on {data['card'] or 'no GPU'}", f"stack: {data['stack']}",
             f"carried: {', '.join(data['carried_wheels']) or 'none'}"]
    for step in data["failed"]:
        lines.append(f"FAILED step {step['step']} (rc {step['rc']}, {step['seconds']} s):"
                     f" {step['first_error']}")
    if not data["failed"]:
        lines.append("failed steps: none")
    counts = data["pytest_gpu"]
    if isinstance(counts, dict):
        lines.append(f"pytest -m gpu: {counts['tests']} tests, {counts['failures']} failures,"
                     f" {counts['errors']} errors, {counts['skipped']} skipped")
        lines += [f"  failed test {name}" for name in counts["failed"]]
    else:
        lines.append(f"pytest -m gpu: {counts}")
    for name in ("sweep", "last_device"):
        rows, step = data[name], data["steps"].get(name) or {}
        if step.get("rc") == "skipped":
            lines.append(f"{name}: skipped ({step.get('note')})")
        elif isinstance(rows, str):
            lines.append(f"{name}: {rows}")
        else:
            lines += [config_line(name, row) for row in rows]
    rows = data["determinism"]
    lines.append("determinism: " + (rows if isinstance(rows, str) else
                                    ", ".join(f"{r['check']} {r['verdict']}" for r in rows) or "no checks"))
    checks = data["doctor"]
    if isinstance(checks, str):
        lines.append(f"doctor: {checks}")
    else:
        lines += [f"doctor {c['level']} {c['name']}: {c['message']}"
                  + (f" (fix: {c['fix']})" if c["fix"] else "") for c in checks if c["level"] != "PASS"]
        lines.append("doctor PASS: " + (", ".join(c["name"] for c in checks if c["level"] == "PASS")
                                        or "none"))
    lines.append("steps: " + ", ".join(f"{n} {s['rc']}{' TIMEOUT' if s['note'] == 'TIMEOUT' else ''}"
                                       + (f" ({s['note']})" if s["rc"] == "skipped" else
                                          f" ({s['seconds']} s)") for n, s in data["steps"].items()))
    if data["report"]:
        lines.append(f"commit this summary as {data['report']}")
    return lines


def summary(files: Path, out: Path, mode: str) -> int:
    data = summarise(files, mode)
    (out / "summary.json").write_text(json.dumps(data, indent=1, default=str))
    text = "\n".join(summary_lines(data)) + "\n"
    (out / "summary.txt").write_text(text)
    print(text, end="")
    return 0


def main(argv: list[str]) -> int:
    if str(REPO) not in sys.path:  # bench (the checkout's), also without PYTHONPATH
        sys.path.insert(0, str(REPO))
    if len(argv) >= 2 and argv[0] == "stack":
        return stack(Path(argv[1]), argv[2] if len(argv) > 2 and argv[2] else None)
    if len(argv) == 4 and argv[0] == "summary":
        return summary(Path(argv[1]), Path(argv[2]), argv[3])
    print("usage: gpu_validate.py stack FILES [SITE] | summary FILES OUT MODE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
