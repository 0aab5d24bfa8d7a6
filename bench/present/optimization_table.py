"""The optimization table: one row per config, with compile cost and distance to the limit.

Like the diffusers "fast diffusion" table (fp32 → bf16 → SDPA → compile → fused QKV),
made from a run's records: latency and speed-up against the first row of the same batch
layout, compile time and recompilations, TFLOP per image, achieved TFLOP/s and MFU.
"""

from __future__ import annotations

HEADERS = ("dtype", "attention", "options", "layout", "size", "steps", "p50 s", "img/s", "speed-up",
           "compile s", "recompiles", "TFLOP/img", "TFLOP/s", "MFU", "status")
# Short names keep the table narrow: compile, channels-last, fused QKV, VAE slicing/tiling.
OPTION_NAMES = {"compile": "compile", "channels_last": "chlast", "fuse_qkv": "qkv",
                "vae_slicing": "slice", "vae_tiling": "tile"}


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _layout(record: dict) -> tuple:
    return (record["batch_size"], record["num_images_per_prompt"], record["height"],
            record["width"], record["num_inference_steps"])


def optimization_rows(records: list[dict]) -> list[tuple[str, ...]]:
    """Rows of strings in HEADERS order (pure: usable for terminal and Markdown)."""
    baseline: dict[tuple, float] = {}
    rows = []
    for r in records:
        latency = (r.get("latency_s") or {}).get("median")
        layout = _layout(r)
        if latency and layout not in baseline:
            baseline[layout] = latency
        opts = r.get("optimizations") or {}
        options = "+".join(short for n, short in OPTION_NAMES.items() if opts.get(n)) or "none"
        compile_info = r.get("compile") or {}
        compiled = opts.get("compile")
        flops = r.get("flops_per_image")
        status = r.get("status", "?")
        if r.get("warnings"):
            status += f" ({len(r['warnings'])} warning{'s' if len(r['warnings']) > 1 else ''})"
        rows.append((
            r["dtype"], opts.get("attention", "sdpa"), options,
            f"{r['batch_size']}×{r['num_images_per_prompt']}", f"{r['height']}×{r['width']}",
            str(r["num_inference_steps"]),
            _fmt(latency, ".4f"), _fmt(r.get("images_per_s"), ".3f"),
            _fmt(baseline[layout] / latency if latency else None, ".2f"),
            _fmt(compile_info.get("compile_s") if compiled else None, ".1f"),
            str(compile_info.get("recompilations", 0)) if compiled else "—",
            _fmt(flops / 1e12 if flops else None, ".4g"),
            _fmt(r.get("achieved_tflops"), ".3g"),
            _fmt(r.get("mfu"), ".1%"), status,
        ))
    return rows


def markdown(records: list[dict]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in optimization_rows(records)]
    return "\n".join(lines)


def optimization_table(records: list[dict]):
    """The rich table (``console.results_console`` prints it unsqueezed); its caption names the peak used
    for MFU, or why there is none."""
    from rich import box
    from rich.table import Table

    table = Table(title="optimizations and distance to the hardware limit", box=box.SIMPLE_HEAD)
    for name in HEADERS:
        table.add_column(name, justify="left" if name in ("dtype", "attention", "options", "status")
                         else "right")
    for row in optimization_rows(records):
        table.add_row(*row)
    sources = sorted({r.get("peak_source") for r in records if r.get("peak_source")})
    table.caption = ("options: chlast = channels-last, qkv = fused QKV, slice/tile = VAE slicing/tiling"
                     + ("\npeak: " + "; ".join(sources) if sources else ""))
    return table
