#!/usr/bin/env bash
# Prepare, here, the wheels the lent GPU machine lacks (it reaches no network):
#
#     bash benchmarks/gpu_wheels.sh            # fills .gpu-wheels/, prints their sizes
#     bash benchmarks/gpu_wheels.sh diffusers==0.43.0   # carry another version instead
#
# sdxl-bench itself, diffusers, importlib_metadata and whatever they need that the lent
# image (benchmarks/gpu_image.txt) lacks, for its Python 3.12 on manylinux x86-64. Fails
# when a carried wheel needs a version the image does not have, or when the wheels are too
# large to travel. Then carry the folder: see docs/gpu.md. PY: the python to run (python3).
set -u
case "${1:-}" in -h|--help) sed -n '2,11p' "$0"; exit 0 ;; esac
exec "${PY:-python3}" "$(dirname "$0")/gpu_wheels.py" "$@"
