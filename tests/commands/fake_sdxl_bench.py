"""Stands in for `sdxl-bench` in ab tests: `fake_sdxl_bench.py [--factor F] run --out FILE ...`
writes a run file of two configs whose latencies are scaled by F, with a little noise
that differs per file so no two runs are identical."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.fakeruns import record, write_run  # noqa: E402

BASE = [1.00, 1.01, 0.99]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--factor", type=float, default=1.0)
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("command")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--model", default="tiny")
    args, sweep = parser.parse_known_args()
    if args.fail:
        print("boom: the pipeline would not load", file=sys.stderr)
        return 1
    noise = random.Random(str(args.out)).uniform(0.99, 1.01)
    configs = [record([v * args.factor * noise for v in BASE], batch_size=bs) for bs in (1, 2)]
    write_run(args.out, configs)
    (args.out.parent / (args.out.name + ".argv")).write_text(" ".join(sys.argv[1:] + sweep))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
