#!/usr/bin/env bash
# sdxl-bench GPU validation: one command, about 8 minutes on one H100/H200, install included.
#
#     bash benchmarks/gpu_validate.sh              # on the GPU machine, from the repository root
#     bash benchmarks/gpu_validate.sh --dry-run    # same plumbing on a CPU: tiny model, small sizes
#
# Fail-soft: every step runs under its own timeout (cut to what is left of a global deadline),
# its exit code goes to $OUT/steps.tsv, its output to $OUT/logs/STEP.log; a step that fails
# never stops the next. $OUT/summary.txt (and summary.json) says what passed and what to read.
# Knobs: OUT (default ./gpu-validate-out), BUDGET_S (default 470), PY (default .venv/bin/python,
# created with `pip install -e '.[dev]'` when it cannot import the stack), DRY=1 (= --dry-run).
# Docs: docs/gpu.md.
set -u
DRY=${DRY:-0}
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "gpu_validate.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
START=$(date +%s)
BUDGET=${BUDGET_S:-470}
DEADLINE=$((START + BUDGET))
OUT=${OUT:-$PWD/gpu-validate-out}
mkdir -p "$OUT/logs"
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/sdxl-validate.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT
export SDXL_BENCH_CACHE=${SDXL_BENCH_CACHE:-$TMPD/cache} SDXL_BENCH_TEST_CACHE=${SDXL_BENCH_TEST_CACHE:-$TMPD/testcache}
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$SDXL_BENCH_TEST_CACHE"
PY=${PY:-.venv/bin/python}
printf 'step\trc\tseconds\tnote\n' > "$OUT/steps.tsv"

if [ "$DRY" = 1 ]; then   # plumbing only: CPU, tiny model, small sizes, one thread
  export OMP_NUM_THREADS=1
  DEV=cpu; MODEL=tiny; SIZE=32; STEPS=2; DTYPE=float32; EXPECT=0; THREADS=(--threads 1)
  GPU_TESTS=(tests/measure/test_gpu.py)
else
  DEV=cuda; MODEL=sdxl-arch; SIZE=1024; STEPS=4; DTYPE=bfloat16; EXPECT=1; THREADS=()
  GPU_TESTS=(--deselect tests/execute/test_isolate.py::test_max_batch_finds_a_real_cuda_out_of_memory_boundary)
fi
echo "mode: $([ "$DRY" = 1 ] && echo 'DRY RUN (CPU plumbing check)' || echo GPU) -> $OUT"

left() { echo $((DEADLINE - $(date +%s))); }
# step NAME TIMEOUT_S CMD...   (the timeout is cut to the time left before the deadline)
step() {
  local name=$1 limit=$2; shift 2
  local rest; rest=$(left)
  if [ "$rest" -lt 15 ]; then
    printf '%s\tskipped\t0\tdeadline\n' "$name" >> "$OUT/steps.tsv"; echo "== $name: SKIPPED (deadline)"; return 0
  fi
  [ "$limit" -gt "$rest" ] && limit=$rest
  echo "== $name (timeout ${limit}s)"
  local t0; t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > "$OUT/logs/$name.log" 2>&1
  local rc=$?
  local dt=$(( $(date +%s) - t0 ))
  local note=""; [ "$rc" = 124 ] && note="TIMEOUT"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$dt" "$note" >> "$OUT/steps.tsv"
  echo "   rc=$rc ${dt}s $note"
  if [ "$rc" != 0 ]; then tail -n 8 "$OUT/logs/$name.log" | sed 's/^/   | /'; fi
  return 0
}
skip() { printf '%s\tskipped\t0\t%s\n' "$1" "$2" >> "$OUT/steps.tsv"; echo "== $1: SKIPPED ($2)"; }

# 0. install, only when the interpreter cannot import the measuring stack
if ! "$PY" -c "import bench, torch, diffusers, transformers, pytest" 2>/dev/null; then
  step install 300 bash -c "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'"
  PY=.venv/bin/python
else
  skip install "stack already importable"
fi

# 1. doctor: driver vs torch CUDA, NVML, MIG, clocks, SDPA kernels … (exit 1 = a FAIL line)
step doctor 90 bash -c "'$PY' -m bench doctor --json > '$OUT/doctor.json'"

# 2. gpu tests; with SDXL_BENCH_EXPECT_GPU=1 a machine without usable CUDA fails here
step pytest_gpu 200 env SDXL_BENCH_EXPECT_GPU=$EXPECT "$PY" -m pytest -m gpu -q -rs -p no:randomly \
  --junitxml="$OUT/pytest_gpu.xml" "${GPU_TESTS[@]}"

# 3. a short sweep at full size: batch 1, 2, 4
step sweep 150 "$PY" -m bench run --model $MODEL --device $DEV --dtype $DTYPE --scenario t2i-seeded \
  --batch-sizes 1,2,4 --images-per-prompt 1 --steps $STEPS --height $SIZE --width $SIZE \
  --warmup 1 --repeats 2 --quiet "${THREADS[@]}" --out "$OUT/sweep.jsonl"

# 4. determinism on the device (repeatability, batch invariance, generator devices)
step determinism 100 "$PY" -m bench determinism --model $MODEL --device $DEV --dtype $DTYPE \
  --scenario t2i-prompts --batch-sizes 2 --steps 2 --height $((SIZE / 2)) --width $((SIZE / 2)) \
  --quiet "${THREADS[@]}" --out "$OUT/determinism.jsonl"

# 5. the last GPU of several: CUDA events must agree with the wall clock there (set_device)
COUNT=$("$PY" -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)" 2>/dev/null || echo 0)
if [ "$DRY" != 1 ] && [ "${COUNT:-0}" -ge 2 ]; then
  step last_device 90 "$PY" -m bench run --model tiny --device "cuda:$((COUNT - 1))" --scenario t2i-prompts \
    --batch-sizes 4 --images-per-prompt 1 --steps 4 --height 256 --width 256 --warmup 1 --repeats 3 \
    --quiet --out "$OUT/last_device.jsonl"
else
  skip last_device "needs two GPUs (found ${COUNT:-0})"
fi

# 6. summary: what a reader needs from the files above
cat > "$TMPD/summary.py" <<'PYEOF'
import csv, json, os, sys, xml.etree.ElementTree as ET
out, dry = sys.argv[1], sys.argv[2] == "1"
S = {"mode": "dry-run" if dry else "gpu", "steps": {}, "verdict": None}
with open(os.path.join(out, "steps.tsv")) as f:
    for row in csv.DictReader(f, delimiter="\t"):
        S["steps"][row["step"]] = {"rc": row["rc"], "seconds": row["seconds"], "note": row["note"]}
def records(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return []
    rows = []
    for line in open(path):
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass
    return rows
try:
    d = json.load(open(os.path.join(out, "doctor.json")))
    S["doctor"] = {c["name"]: f"{c['level']}: {c['message']}" for c in d["checks"]}
except Exception as exc:
    S["doctor"] = f"no doctor.json ({exc})"
for name in ("sweep.jsonl", "last_device.jsonl"):
    S[name] = [{"config": r.get("config_id"), "status": r.get("status"), "error": r.get("error"),
                "images_per_s": r.get("images_per_s"),
                "latency_median_s": (r.get("latency_s") or {}).get("median"),
                "event_check": r.get("latency_event_check"),
                "peak_memory_bytes": r.get("peak_memory_bytes"),
                "peak_memory_unavailable": r.get("peak_memory_unavailable"),
                "energy_j_per_image": r.get("energy_j_per_image"), "mfu": r.get("mfu"),
                "throttle_warning": r.get("throttle_warning"), "warnings": r.get("warnings")}
               for r in records(name) if r.get("type") == "config"]
S["determinism"] = [{"check": r.get("check"), "verdict": r.get("verdict")}
                    for r in records("determinism.jsonl") if r.get("type") == "determinism"]
try:
    x = ET.parse(os.path.join(out, "pytest_gpu.xml")).getroot()
    x = x if x.tag == "testsuite" else x[0]
    S["pytest_gpu"] = {k: int(x.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
except Exception as exc:
    S["pytest_gpu"] = f"no junit xml ({exc})"
failed = [n for n, s in S["steps"].items() if s["rc"] not in ("0", "skipped")]
bad_configs = [r["config"] for r in S["sweep.jsonl"] if r["status"] != "ok"]
S["failed_steps"], S["failed_configs"] = failed, bad_configs
S["verdict"] = "PASS" if not failed and not bad_configs and S["sweep.jsonl"] else "FAIL"
json.dump(S, open(os.path.join(out, "summary.json"), "w"), indent=1, default=str)
lines = [f"verdict: {S['verdict']} ({S['mode']})",
         f"failed steps: {', '.join(failed) or 'none'}; failed sweep configs: {', '.join(bad_configs) or 'none'}",
         f"pytest -m gpu: {S['pytest_gpu']}"]
lines += [f"doctor {k}: {v}" for k, v in (S["doctor"].items() if isinstance(S["doctor"], dict) else [])]
for name in ("sweep.jsonl", "last_device.jsonl"):
    for r in S[name]:
        ev = (r["event_check"] or {}).get("max_relative_difference")
        lines.append(f"{name} {r['config']}: {r['status']} img/s={r['images_per_s']}"
                     f" p50={r['latency_median_s']} event_diff={ev} J/img={r['energy_j_per_image']}"
                     f" mfu={r['mfu']} {r['error'] or ''}")
lines += [f"determinism {r['check']}: {r['verdict']}" for r in S["determinism"]]
open(os.path.join(out, "summary.txt"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PYEOF
"$PY" "$TMPD/summary.py" "$OUT" "$DRY" 2>&1 | head -c 8000
echo; echo "== steps ($(( $(date +%s) - START ))s total)"; column -t -s $'\t' "$OUT/steps.tsv" 2>/dev/null || cat "$OUT/steps.tsv"
exit 0
