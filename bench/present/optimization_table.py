"""The optimization table: one row per config, with compile cost and distance to the limit.

Like the diffusers "fast diffusion" table (fp32 → bf16 → SDPA → compile → fused QKV),
made from a run's records: latency and speed-up against the first row of the same batch
layout, compile time and recompilations, TFLOP per image, achieved TFLOP/s and MFU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields

from bench.plan.optimizations import Optimizations
from bench.result import ConfigResult

HEADERS = ("dtype", "attention", "options", "layout", "size", "steps", "p50 s", "img/s", "speed-up",
           "compile s", "recompiles", "TFLOP/img", "TFLOP/s", "MFU", "status")
# Short names keep the table narrow: compile, channels-last, fused QKV, VAE slicing/tiling.
OPTION_NAMES = {"compile": "compile", "channels_last": "chlast", "fuse_qkv": "qkv",
                "vae_slicing": "slice", "vae_tiling": "tile"}
_SETTINGS = frozenset(f.name for f in fields(Optimizations))


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _layout(result: ConfigResult) -> tuple:
    return (result.batch_size, result.num_images_per_prompt, result.height, result.width,
            result.num_inference_steps)


def settings(result: ConfigResult) -> Optimizations:
    """The result's optimizations, typed (settings this version does not know left out)."""
    chosen = result.optimizations or {}
    return Optimizations(**{name: value for name, value in chosen.items() if name in _SETTINGS})


def optimization_rows(results: Sequence[ConfigResult]) -> list[tuple[str, ...]]:
    """Rows of strings in HEADERS order (pure: usable for terminal and Markdown)."""
    baseline: dict[tuple, float] = {}
    rows = []
    for r in results:
        latency = r.median_s
        layout = _layout(r)
        if latency and layout not in baseline:
            baseline[layout] = latency
        opts = settings(r)
        options = "+".join(short for n, short in OPTION_NAMES.items() if getattr(opts, n)) or "none"
        compiled = r.compile if opts.compile else None  # what torch.compile did, when asked
        flops = r.flops_per_image
        status = r.status.value
        if r.warnings:
            status += f" ({len(r.warnings)} warning{'s' if len(r.warnings) > 1 else ''})"
        rows.append((
            r.dtype, opts.attention, options,
            f"{r.batch_size}×{r.num_images_per_prompt}", f"{r.height}×{r.width}",
            str(r.num_inference_steps),
            _fmt(latency, ".4f"), _fmt(r.images_per_s, ".3f"),
            _fmt(baseline[layout] / latency if latency else None, ".2f"),
            _fmt(compiled.compile_s if compiled else None, ".1f"),
            str(compiled.recompilations if compiled else 0) if opts.compile else "—",
            _fmt(flops / 1e12 if flops else None, ".4g"),
            _fmt(r.achieved_tflops, ".3g"),
            _fmt(r.mfu, ".1%"), status,
        ))
    return rows


def markdown(results: Sequence[ConfigResult]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in optimization_rows(results)]
    return "\n".join(lines)


def optimization_table(results: Sequence[ConfigResult | Mapping]):
    """The rich table (``console.results_console`` prints it unsqueezed); its caption names the peak used
    for MFU, or why there is none."""
    from rich import box
    from rich.table import Table

    table = Table(title="optimizations and distance to the hardware limit", box=box.SIMPLE_HEAD)
    for name in HEADERS:
        table.add_column(name, justify="left" if name in ("dtype", "attention", "options", "status")
                         else "right")
    for row in optimization_rows(results):
        table.add_row(*row)
    sources = sorted({r.peak_source for r in results if r.peak_source})
    table.caption = ("options: chlast = channels-last, qkv = fused QKV, slice/tile = VAE slicing/tiling"
                     + ("\npeak: " + "; ".join(sources) if sources else ""))
    return table
