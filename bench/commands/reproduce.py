"""``sdxl-bench reproduce``: make one saved image again from its seed (or refine it).

Alone (default): the image is made in a call of its own (batch size 1) and compared with
the saved PNG against the batch-invariance tolerance. ``--exact``: the original batch is
made again and the image's content hash must be equal. ``--prompt``: a new prompt with
the same seed — pick an image from a batch, then refine its prompt.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import replace
from pathlib import Path

from bench.errors import UsageError


def register(subparsers) -> argparse.ArgumentParser:
    from bench.determinism.pixels import TOLERANCE_HELP

    parser = subparsers.add_parser(
        "reproduce",
        help="regenerate one saved image from its seed (manifest from --save-images)",
        description="Regenerate one image saved with --save-images, from the seed in its"
        " manifest: alone (compared with the saved image within the tolerance), with --exact"
        " in its original batch (content hash must match), or with --prompt as a refined image"
        " from the same seed.",
    )
    parser.add_argument("manifest", metavar="MANIFEST", help="manifest.json or the folder holding it")
    parser.add_argument("image_id", metavar="IMAGE_ID", help="image id (its file name, .png optional)")
    parser.add_argument("--prompt", default=None, metavar="TEXT",
                        help="a new prompt, same seed: make the refined image alone")
    parser.add_argument("--exact", action="store_true",
                        help="re-run the original batch layout and verify the content hash")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="where to write the PNG (default: <manifest folder>/reproduced/<id>.png)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    parser.add_argument("--tolerance", type=float, default=None, metavar="X", help=TOLERANCE_HELP)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return parser


def _out_path(args, manifest, ident: str) -> Path:
    if args.out:
        return Path(args.out).expanduser()
    suffix = "-exact" if args.exact else "-refined" if args.prompt is not None else ""
    return manifest.folder / "reproduced" / f"{ident}{suffix}.png"


def _validate(args) -> None:
    if args.prompt is not None and args.exact:
        raise UsageError("--prompt and --exact cannot be combined: --exact re-runs the original"
                         " batch with its original prompts")
    if args.prompt is not None and not args.prompt.strip():
        raise UsageError(f"--prompt {args.prompt!r}: a prompt must not be empty or only spaces")
    if args.tolerance is not None and not 0.0 <= args.tolerance <= 1.0:
        raise UsageError(f"--tolerance {args.tolerance}: must be between 0 and 1 (full scale)")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads {args.threads}: must be a positive integer")
    if args.out and not args.out.lower().endswith(".png"):
        raise UsageError(f"--out {args.out!r}: the image is written as PNG; use a .png name")


def main(args: argparse.Namespace) -> int:
    from bench.determinism.manifest import load_png, read_manifest
    from bench.execute.output import check_writable
    from bench.plan.models import resolve_model

    _validate(args)
    manifest = read_manifest(args.manifest)
    entry = manifest.entry(args.image_id)
    original = manifest.config(entry)
    model = resolve_model(manifest.data["model"])
    original_png = manifest.image_path(entry)
    if args.prompt is None and not original_png.is_file():
        raise UsageError(f"saved image {original_png} is missing: nothing to compare with")
    # Everything that can refuse is checked before the model is loaded and the image made.
    saved = load_png(original_png) if args.prompt is None else None
    out = _out_path(args, manifest, entry["id"])
    try:
        check_writable(out)
    except UsageError as exc:
        if args.out:
            raise
        raise UsageError(f"{exc} (the default place, beside the manifest; give --out"
                         " FILE.png)") from None

    from PIL import Image

    from bench.determinism.pixels import default_tolerance, max_abs_diff, psnr_db, quantized_tolerance
    from bench.determinism.single import single_call
    from bench.execute.session import open_session
    from bench.measure.config import prepare_call
    from bench.measure.device import resolve_device
    from bench.measure.images import content_hash, to_uint8
    from bench.plan.request import SweepRequest
    from bench.plan.scenario import Scenario
    from bench.plan.sweep import Plan
    from bench.store.atomic import write_bytes_atomic

    device = resolve_device(args.device)
    config = replace(original, device=device, warmup=0, repeats=1)
    prompts = tuple(manifest.data["prompts"])
    input_images = tuple(manifest.data.get("input_images", []))
    scenario = Scenario(name=config.scenario, description=f"as recorded in {manifest.folder}",
                        task=config.task, prompts=prompts, images=input_images,
                        num_default_images=manifest.data.get("num_default_images", 3))
    plan = Plan(scenario=scenario, model=model, prompts=prompts, images=input_images,
                configs=(config,))
    session = open_session(plan, SweepRequest(threads=args.threads))
    pipes = session.pipes.for_config(config)  # dtype and optimizations as made
    inputs = session.images
    if args.exact:
        call = prepare_call(pipes, config, prompts, inputs)
        image = call(call.fresh_generators())[entry["index"]]
        how = f"in its original batch ({config.config_id}, position {entry['index']})"
    else:
        prompt = args.prompt if args.prompt is not None else entry["prompt"]
        source = inputs[entry["input_image_index"]] if entry.get("input_image_index") is not None else None
        call = single_call(pipes, config, prompt, source, entry["seed"])
        image = call(call.fresh_generators())[0]
        how = "alone (batch size 1)" + (" with a new prompt" if args.prompt is not None else "")
    png = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(png, format="PNG")
    out.parent.mkdir(parents=True, exist_ok=True)  # check_writable made and removed it
    try:
        write_bytes_atomic(out, png.getvalue())
    except OSError as exc:  # the helper says it as a UsageError; this keeps it one line
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"reproduced {entry['id']} (seed {entry['seed']}, {entry['generator_device']} generator)"
          f" {how} on {device}: {out}")
    if original.device != device:
        print(f"note: the original was made on {original.device}; small differences are expected")
    if args.prompt is not None:
        print(f"refined from seed {entry['seed']}: {args.prompt!r} (was {entry['prompt']!r})")
        return 0
    diff, psnr = max_abs_diff(to_uint8(image), saved), psnr_db(to_uint8(image), saved)
    psnr_text = "∞" if psnr == float("inf") else f"{psnr:.1f}"
    same_hash = content_hash(image) == entry["sha256"]
    if args.exact:
        verdict = "hash matches" if same_hash else "HASH DIFFERS"
        print(f"{verdict}: {content_hash(image)[:16]} vs {entry['sha256'][:16]}"
              f" (max |Δ| {diff:.3g}, PSNR {psnr_text} dB)")
        return 0 if same_hash else 1
    tolerance = args.tolerance if args.tolerance is not None else default_tolerance(config.dtype)
    limit = quantized_tolerance(tolerance)
    ok = diff <= limit
    print(f"{'within tolerance' if ok else 'BEYOND TOLERANCE'}: max |Δ| {diff:.3g} vs the saved image"
          f" (tolerance {tolerance:.3g} + one 8-bit level = {limit:.3g}), PSNR {psnr_text} dB"
          + (", bit-identical" if same_hash else ""))
    return 0 if ok else 1
