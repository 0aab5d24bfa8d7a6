#!/usr/bin/env bash
# sdxl-bench GPU validation: one command on a lent GPU machine, about 8 minutes (docs/gpu.md).
#
#     bash benchmarks/gpu_validate.sh              # on the GPU machine, from the repository root
#     bash benchmarks/gpu_validate.sh --dry-run    # the same plumbing on a CPU: tiny model, 32²
#
# No network is needed or tried. It runs the machine's own python3 when that imports torch
# (else .venv/bin/python), installs the wheels carried in .gpu-wheels/ (prepared elsewhere by
# benchmarks/gpu_wheels.sh) with `pip install --no-index --no-deps --target` into a
# temporary folder, and puts that folder on PYTHONPATH. It installs nothing else.
# Fail-soft: every step runs under its own timeout, cut to what is left of one deadline
# (BUDGET_S); a failing step never stops the next. $OUT/summary.txt says what ran, which
# step failed and its first error line, and the figures; summary.json holds the same as
# data and files.tar.gz every log and run file (3 files: they all come back from a device).
# Knobs: OUT (./gpu-validate-out), BUDGET_S (470), PY (the python to use), PYTHONS (those
# tried without PY: python3 .venv/bin/python), WHEELS (.gpu-wheels), DRY=1 (= --dry-run).
set -u
DRY=${DRY:-0}
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu_validate.sh: unknown argument $arg (allowed: --dry-run, --help)" >&2; exit 2 ;;
  esac
done
START=$(date +%s)
BUDGET=${BUDGET_S:-470}
DEADLINE=$((START + BUDGET))
OUT=${OUT:-$PWD/gpu-validate-out}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
FILES=$OUT/files        # packed into files.tar.gz at the end
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.."           # the repository root: the checkout's tests and bench/
WHEELS=${WHEELS:-.gpu-wheels}
rm -rf "$FILES" "$OUT/files.tar.gz" "$OUT/summary.txt" "$OUT/summary.json"
mkdir -p "$FILES/logs"
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/sdxl-validate.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT
SITE=$TMPD/site
export SDXL_BENCH_CACHE=${SDXL_BENCH_CACHE:-$TMPD/cache} SDXL_BENCH_TEST_CACHE=${SDXL_BENCH_TEST_CACHE:-$TMPD/testcache}
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
# The checkout first (its bench/ is what runs), then the carried wheels, then the image.
export PYTHONPATH=$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$SDXL_BENCH_TEST_CACHE"
printf 'step\trc\tseconds\tnote\n' > "$FILES/steps.tsv"

if [ "$DRY" = 1 ]; then   # plumbing only: CPU, tiny model, small sizes, one thread
  export OMP_NUM_THREADS=1
  MODE=dry-run; DEV=cpu; MODEL=tiny; SIZE=32; STEPS=2; DTYPE=float32; EXPECT=0; THREADS=(--threads 1)
  GPU_TESTS=(tests/measure/test_gpu.py)
else
  MODE=gpu; DEV=cuda; MODEL=sdxl-arch; SIZE=1024; STEPS=4; DTYPE=bfloat16; EXPECT=1; THREADS=()
  GPU_TESTS=(--deselect tests/execute/test_isolate.py::test_max_batch_finds_a_real_cuda_out_of_memory_boundary)
fi
echo "mode: $MODE -> $OUT"

left() { echo $((DEADLINE - $(date +%s))); }
# step NAME TIMEOUT_S CMD...   (the timeout is cut to the time left before the deadline)
step() {
  local name=$1 limit=$2; shift 2
  local rest; rest=$(left)
  if [ -n "${NO_PYTHON:-}" ]; then skip "$name" "$NO_PYTHON"; return 0; fi
  if [ "$rest" -lt 15 ]; then skip "$name" deadline; return 0; fi
  [ "$limit" -gt "$rest" ] && limit=$rest
  echo "== $name (timeout ${limit}s)"
  local t0; t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > "$FILES/logs/$name.log" 2>&1
  local rc=$?
  local dt=$(( $(date +%s) - t0 ))
  local note=""; [ "$rc" = 124 ] && note="TIMEOUT"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$dt" "$note" >> "$FILES/steps.tsv"
  echo "   rc=$rc ${dt}s $note"
  if [ "$rc" != 0 ]; then tail -n 8 "$FILES/logs/$name.log" | sed 's/^/   | /'; fi
  return 0
}
skip() {   # without a python, that is the reason for every skip
  local why=${NO_PYTHON:-$2}
  printf '%s\tskipped\t0\t%s\n' "$1" "$why" >> "$FILES/steps.tsv"; echo "== $1: SKIPPED ($why)"
}
fail() { printf '%s\t1\t0\t%s\n' "$1" "$2" >> "$FILES/steps.tsv"; echo "$2" > "$FILES/logs/$1.log"; echo "== $1: FAILED ($2)"; }

# 0. the interpreter: PY, else the machine's own python3 when it imports torch, else .venv
PYTHONS=${PYTHONS:-python3 .venv/bin/python}
if [ -z "${PY:-}" ]; then
  for candidate in $PYTHONS; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import torch' >/dev/null 2>&1; then
      PY=$candidate; break
    fi
  done
fi
if [ -z "${PY:-}" ]; then
  PY=""   # every later step is skipped; the summary needs no torch (python3)
  fail python "error: no python imports torch (tried $PYTHONS): set PY=/path/to/python"
  NO_PYTHON="no python with torch"
fi

# 1. the carried wheels, into $SITE: never the network (--no-index); pip's absence is no stop
if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  step wheels 120 bash -c '
    py=$1 site=$2; shift 2
    if "$py" -m pip --version >/dev/null 2>&1; then
      "$py" -m pip install --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$@"
    else   # a wheel is a zip archive: unpacked, its packages import the same
      "$py" -c "import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]" "$site" "$@"
    fi
    ls "$site"' _ "$PY" "$SITE" "$WHEELS"/*.whl
else
  skip wheels "none in $WHEELS: prepare them where there is network with benchmarks/gpu_wheels.sh"
fi

# 2. what this run uses, in one line (and a failure naming what cannot be imported)
step stack 90 "$PY" "$HERE/gpu_validate.py" stack "$FILES" "$SITE"
[ -s "$FILES/logs/stack.log" ] && echo "   $(head -n 1 "$FILES/logs/stack.log")"

# 3. doctor: driver vs torch CUDA, versions, NVML, MIG, clocks, SDPA kernels … (exit 1 = a FAIL line)
step doctor 90 bash -c "'$PY' -m bench doctor --json > '$FILES/doctor.json'"

# 4. gpu tests; with SDXL_BENCH_EXPECT_GPU=1 a machine without usable CUDA fails here
step pytest_gpu 200 env SDXL_BENCH_EXPECT_GPU=$EXPECT "$PY" -m pytest -m gpu -q -rs -p no:randomly \
  --junitxml="$FILES/pytest_gpu.xml" "${GPU_TESTS[@]}"

# 5. a short sweep at full size: batch 1, 2, 4
step sweep 150 "$PY" -m bench run --model $MODEL --device $DEV --dtype $DTYPE --scenario t2i-seeded \
  --batch-sizes 1,2,4 --images-per-prompt 1 --steps $STEPS --height $SIZE --width $SIZE \
  --warmup 1 --repeats 2 --quiet "${THREADS[@]}" --out "$FILES/sweep.jsonl"

# 6. determinism on the device (repeatability, batch invariance, generator devices)
step determinism 100 "$PY" -m bench determinism --model $MODEL --device $DEV --dtype $DTYPE \
  --scenario t2i-prompts --batch-sizes 2 --steps 2 --height $((SIZE / 2)) --width $((SIZE / 2)) \
  --quiet "${THREADS[@]}" --out "$FILES/determinism.jsonl"

# 7. the last GPU of several: CUDA events must agree with the wall clock there (set_device)
COUNT=$("$PY" -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)" 2>/dev/null || echo 0)
if [ "$DRY" != 1 ] && [ "${COUNT:-0}" -ge 2 ]; then
  step last_device 90 "$PY" -m bench run --model tiny --device "cuda:$((COUNT - 1))" --scenario t2i-prompts \
    --batch-sizes 4 --images-per-prompt 1 --steps 4 --height 256 --width 256 --warmup 1 --repeats 3 \
    --quiet --out "$FILES/last_device.jsonl"
else
  skip last_device "needs two GPUs (found ${COUNT:-0})"
fi

# 8. the summary (no torch needed), then every file packed into one archive
"${PY:-python3}" "$HERE/gpu_validate.py" summary "$FILES" "$OUT" "$MODE" 2>&1 | head -c 12000
[ -s "$OUT/summary.txt" ] || echo "summary.txt not written: see $FILES" >&2
tar -czf "$OUT/files.tar.gz" -C "$OUT" files && rm -rf "$FILES"
echo "== $(( $(date +%s) - START ))s in all; every log and run file: $OUT/files.tar.gz"
exit 0
