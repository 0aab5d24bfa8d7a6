"""Copy a diffusers pipeline folder and replace its UNet with a wider random one.

A planted, real regression for checking the gate end to end: the same folder layout, the
same text encoders and VAE, only the UNet does more work per step. Used for the real
check in docs/statistics.md:

    python benchmarks/heavier_unet.py ~/.cache/sdxl-bench/tiny-*/ /tmp/tiny-heavy --width-factor 2
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="pipeline folder (model_index.json, unet/, ...)")
    parser.add_argument("target", type=Path, help="new folder (must not exist)")
    parser.add_argument("--width-factor", type=int, default=2, help="multiply UNet channels by this")
    args = parser.parse_args(argv)
    if not (args.source / "unet" / "config.json").is_file():
        print(f"error: {args.source} has no unet/config.json", file=sys.stderr)
        return 2
    if args.target.exists():
        print(f"error: {args.target} exists", file=sys.stderr)
        return 2
    if args.width_factor < 1:
        print(f"error: --width-factor must be >= 1, got {args.width_factor}", file=sys.stderr)
        return 2
    import torch
    from diffusers import UNet2DConditionModel

    shutil.copytree(args.source, args.target)
    config = UNet2DConditionModel.load_config(args.source / "unet")
    config["block_out_channels"] = [c * args.width_factor for c in config["block_out_channels"]]
    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_config(config)
    shutil.rmtree(args.target / "unet")
    unet.save_pretrained(args.target / "unet")
    print(f"{args.target}: UNet channels {config['block_out_channels']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
