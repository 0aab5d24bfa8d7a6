"""``max-batch``'s terminal result: the memory each image adds first, the whole-process
peak per image (weights and context included) second and named as such."""

from __future__ import annotations

from bench.units import GIB


def _gib(value: float, digits: int = 4) -> str:
    return f"{value / GIB:.{digits}f} GiB"


def max_batch_text(summary: dict, limit: int) -> str:
    """The result lines of a search that found a size that fits."""
    axis, best = summary["axis"], summary["max_size"]
    lines = [f"largest {axis} that fits: {best}"
             + (" (the --limit; larger sizes were not tried)" if best == limit else "")]
    marginal, peak = summary.get("marginal_bytes_per_image"), summary.get("peak_memory_bytes")
    view = summary.get("peak_memory_view")
    if marginal is not None:
        lines.append(
            f"memory per image: {_gib(marginal)} (slope of peak {view} over"
            f" {summary['memory_fit_probes']} probes that fit, worst misfit"
            f" {_gib(summary['memory_fit_max_residual_bytes'])}); fixed part"
            f" {_gib(summary['fixed_bytes'], 3)} (weights, context)")
    elif peak is not None:
        lines.append("memory per image: n/a (one probe fit: the weights cannot be told apart"
                     " from the images; raise --limit or the memory budget)")
    if peak is not None:
        lines.append(f"whole-process peak at {best}: {_gib(peak, 3)} ({view}),"
                     f" {_gib(summary['whole_peak_bytes_per_image'])} per image including"
                     " the fixed part")
    return "\n".join(lines)
