"""Distance to the hardware limit: FLOPs per image → achieved TFLOP/s → MFU.

- achieved TFLOP/s = FLOPs per image × images/s (median latency) / 10¹²
- MFU (model FLOPs utilisation) = achieved TFLOP/s / peak TFLOP/s of the device for the
  config's dtype (datasheet table or ``--peak-tflops``).

Also gathers the record's ``warnings``: throttling, compilation inside timed calls,
CUDA events disagreeing with the wall clock, the fp16 VAE caveat.
"""

from __future__ import annotations

from bench.measure.hardware import peak_tflops
from bench.plan.sweep import Config
from bench.result import ROUND_MEDIANS, ConfigResult
from bench.stats.stability import assess, warning


def dtype_notes(config: Config, vae_force_upcast: bool | None) -> tuple[str | None, str | None]:
    """(VAE decode dtype, warning) — SDXL's VAE overflows in float16 unless upcast."""
    if config.dtype != "float16":
        return config.dtype, None
    if vae_force_upcast:
        return "float32", ("float16 with force_upcast: the VAE is cast to float32 for every decode"
                           " (slower, more memory; avoids NaN/black images)")
    return "float16", ("float16 VAE without force_upcast: SDXL's VAE can overflow (NaN or black"
                       " images; see nan_images/black_images)")


def target_missed(config: Config, result: ConfigResult) -> str | None:
    """A sentence when ``--target-uncertainty`` was not reached (time or call cap first)."""
    stopped = result.stopped_by
    if config.target_uncertainty is None or stopped not in ("max_time", "max_repeats"):
        return None
    achieved = result.achieved_uncertainty
    got = f"±{achieved:.1%}" if achieved is not None else "no interval yet (< 6 calls)"
    return (f"target uncertainty ±{config.target_uncertainty:.1%} not reached: stopped by"
            f" {stopped} after {result.timed_calls} calls with {got}; raise --max-time"
            " or --max-repeats, or measure on a quieter machine")


def count_flops_ahead(configs) -> None:
    """Count every config's FLOPs before any config is measured (never raises).

    Counting builds the model on the meta device once per model and size and caches the
    result: a few MiB (meta modules, torch's FLOP counter) stay resident for the rest of
    the process. Counted after the first config's measurement, as ``limit_fields`` does,
    that memory would sit in the RSS peak of every later config and not the first: an
    in-process sweep's CPU peak memory would depend on its config order."""
    try:
        from bench.measure.flops import flops_per_image
    except Exception:
        return
    for config in configs:
        try:
            flops_per_image(config)
        except Exception:  # limit_fields records the error on the config itself
            pass


def limit_fields(config: Config, result: ConfigResult, device_name: str | None,
                 peak_override: dict[str, float] | None = None, world_size: int = 1) -> dict:
    """FLOPs, achieved TFLOP/s, MFU and warnings for one result, as record fields (never
    raises).

    A data-parallel record's images/s is over ``world_size`` devices, so its MFU is
    against ``world_size`` times one device's peak."""
    try:
        from bench.measure.flops import flops_per_image

        fields = flops_per_image(config)
    except Exception as exc:  # a hub model whose configs cannot be read offline, …
        fields = {"flops_per_image": None, "flops_error": f"{type(exc).__name__}: {exc}"}
    peak, peak_source = peak_tflops(device_name, config.dtype, peak_override)
    flops, rate = ConfigResult.from_record(fields).flops_per_image, result.images_per_s
    achieved = flops * rate / 1e12 if flops and rate else None
    mfu = achieved / (peak * world_size) if achieved is not None and peak else None
    fields.update({"achieved_tflops": achieved, "peak_tflops": peak, "peak_source": peak_source,
                   "mfu": mfu})
    vae_dtype, dtype_warning = dtype_notes(config, result.vae_force_upcast)
    fields["vae_decode_dtype"] = vae_dtype
    warnings = [w for w in (result.throttle_warning, dtype_warning) if w]
    in_timed_calls = result.compile.compilations_in_timed_calls if result.compile else 0
    if in_timed_calls:
        warnings.append(f"{in_timed_calls} compilation(s) during timed"
                        " calls: latency includes compile time (raise --warmup)")
    check = result.latency_event_check
    if check and not check.get("agree"):
        warnings.append(f"CUDA events and the synchronised wall clock differ by up to"
                        f" {check['max_relative_difference']:.1%}")
    stability = assess(result.latency_values, result.machine_load,
                       rounds=result.sample == ROUND_MEDIANS)
    fields["stability"] = stability
    if warning(stability):
        warnings.append(warning(stability))
    missed = target_missed(config, result)
    if missed:
        warnings.append(missed)
    if mfu is not None and mfu > 1:
        warnings.append(f"MFU {mfu:.0%} is impossible: the peak ({peak:g} TFLOP/s,"
                        f" {peak_source}) is below what was achieved; check --peak-tflops")
    fields["warnings"] = warnings
    return fields
