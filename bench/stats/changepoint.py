"""Change points in a series of runs: where did a workload get slower (or faster) and stay
so, and where is it drifting?

Pure functions over a list of positive values in run order (median latencies, peak memory
bytes). The method (docs/history.md has the reasoning and the measured error rates):

1. Work on logs, so a step is a ratio and noise is relative.
2. Estimate the run-to-run noise sigma robustly, as the geometric mean of two estimates,
   each the MAD of something a step or a drift hardly moves: the successive differences
   (around their median, so a steady drift cancels) and each value's distance to the
   median of its neighbourhood (itself and up to 2 runs either side: an outlying run is
   outvoted by its neighbours). Times sqrt(n / (n - 4)) for n runs (a MAD of few values
   often comes out small), and never below ``noise_floor`` (the sampling error of a run's
   median from its own calls, ``bench.analyse.trends.within_run_floor``; 0.2 % at least).
3. Clip each value to within ``CLIP`` sigma of its neighbourhood median: one or two
   outlying runs (a hiccup) are pulled back to the noise, while a level held for three
   runs or more, or a trend, moves the neighbourhood median with it and is left alone.
4. Penalised segmentation, exact by dynamic programming: the series is cut into segments,
   each either a *level* (>= ``min_size`` runs) or a *trend* (a straight line in logs,
   >= ``TREND_MIN`` runs), minimising the squared residuals in units of sigma^2 plus a
   penalty per segment (``Setting.penalty``) and an extra one per trend
   (``Setting.trend``). Squares on clipped values are as efficient as means on normal
   noise, and the clipping keeps an outlying run from buying a segment.
5. Report every cut between two segments whose levels differ by at least ``Setting.min_z``
   standard errors as a **step** (so the start or end of a drift, where the line meets a
   level, is no step), and every trend segment whose slope reaches ``Setting.min_z``
   standard errors as a **drift**: a slow change spread over many runs is one drift, not
   a staircase of steps.

The operating point is ``Setting``: the penalties trade false change points on flat
series against the smallest step found within a few runs. ``SETTINGS`` holds the three
that ``history show`` and ``history report`` offer (``--change-points``), with their
error rates as ``benchmarks/history_simulation.py`` measured them (docs/history.md).
Intervals use the normal approximation and ignore that the cut was chosen to fit, so
they are somewhat narrow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from bench.stats.distributions import normal_quantile, t_quantile
from bench.stats.summary import median

MIN_SIZE = 3  # runs on each side of a step before it is reported
TREND_MIN = 6  # runs a drift spans, at least (fewer cannot be told from a step)
CLIP = 3.0  # values are clipped to the neighbourhood median +- CLIP sigma
NOISE_FLOOR = 0.002  # smallest relative run-to-run noise assumed (0.2 %)
WINDOW = 500  # only the newest runs are searched: the search costs O(n^2)
CONFIDENCE = 0.95
_MAD_TO_SIGMA = 1.4826  # MAD of a normal sample times this is its standard deviation
_HALF = 2  # runs either side in the neighbourhood median
# For normal noise the median distance to the neighbourhood median is 0.49 sigma (simulated).
_NEIGHBOURHOOD_TO_SIGMA = 1 / 0.49
SMALL_SAMPLE = 4
# The noise from a fit's residuals (df degrees of freedom) is scaled by
# ``uncertainty_factor``: few runs give a noise estimate that is often far too small.
CAUTION_Z = 3.0
_CAUTION_P = 0.5 * (1 + math.erf(CAUTION_Z / math.sqrt(2)))
GUARD = 0.7  # nor below this share of the robust estimate: a fit that invents a step by
# chance has small residuals, and the noise they give would invite more steps


@dataclass(frozen=True)
class Setting:
    """An operating point of the detector, and what ``benchmarks/history_simulation.py``
    measured it to give on 2026-12-08 (docs/history.md): ``false_per_year`` change points
    on a level series per 365 runs (a year of nightly runs, each night's report counted),
    and, per number of runs after a step, the smallest step (in run-to-run standard
    deviations) found at its run in 9 of 10 series (``found``)."""

    name: str
    penalty: float  # per segment, in sigma^2 (squared residuals)
    trend: float  # extra per trend segment
    min_z: float  # standard errors a reported step or drift reaches
    false_per_year: float
    found: tuple[tuple[int, float], ...]  # (runs after the step, step in sd)

    @staticmethod
    def percent(sigmas: float, noise: float) -> float:
        """The step of ``sigmas`` standard deviations at a run-to-run noise (CV) ``noise``."""
        return math.exp(sigmas * math.sqrt(math.log1p(noise * noise))) - 1

    def text(self) -> str:
        """The operating point in a dashboard reader's words."""
        steps = ", ".join(f"{sd:g}x the run-to-run noise within {runs} runs" if i == 0
                          else f"{sd:g}x within {runs}" for i, (runs, sd) in enumerate(self.found))
        at_5 = ", ".join(f"{self.percent(sd, 0.05):+.0%}" for _, sd in self.found)
        return (f"'{self.name}' setting: on a level series about {self.false_per_year:g} false"
                f" change point(s) per 365 runs (a year of nightly runs); steps found in 9 of 10"
                f" series: {steps} (at 5% noise: {at_5})")


STRICT = Setting("strict", penalty=30.0, trend=14.0, min_z=5.0, false_per_year=0.03,
                 found=((3, 6.0), (5, 4.5), (10, 3.0)))
BALANCED = Setting("balanced", penalty=20.0, trend=10.0, min_z=4.0, false_per_year=0.17,
                   found=((3, 4.5), (5, 3.5), (10, 3.0)))
SENSITIVE = Setting("sensitive", penalty=16.0, trend=9.0, min_z=3.6, false_per_year=0.53,
                    found=((3, 4.0), (5, 3.5), (10, 2.5)))
SETTINGS = {s.name: s for s in (STRICT, BALANCED, SENSITIVE)}
DEFAULT = BALANCED


@dataclass(frozen=True)
class Step:
    """One change point: the level moved from ``before`` to ``after`` at ``index``."""

    index: int  # first run after the step (0-based position in the series)
    before: float  # level just before the step (original units)
    after: float  # level just after it
    ratio: float  # after / before
    low: float  # interval of the ratio
    high: float
    z: float  # step in standard errors
    n_before: int  # runs in the neighbouring segments
    n_after: int

    @property
    def change(self) -> float:
        """Relative change, +0.15 for 15 % higher."""
        return self.ratio - 1

    def interval_text(self) -> str:
        return f"[{self.low - 1:+.1%}, {self.high - 1:+.1%}]"


@dataclass(frozen=True)
class Drift:
    """A slow change: from run ``start`` to run ``end - 1`` the level moved by ``rate``
    per run, ``total`` over the span."""

    start: int  # first run of the drift (0-based)
    end: int  # one past its last run
    rate: float  # ratio per run (1.01: 1 % slower each run)
    low: float  # interval of the per-run ratio
    high: float
    z: float  # slope in standard errors

    @property
    def runs(self) -> int:
        return self.end - self.start

    @property
    def total(self) -> float:
        """The ratio from the first run of the drift to its last."""
        return self.rate ** (self.runs - 1)

    @property
    def change(self) -> float:
        """Relative change over the drift, +0.15 for 15 % higher."""
        return self.total - 1

    def interval_text(self) -> str:
        return f"[{self.low - 1:+.2%}, {self.high - 1:+.2%}]"


class Segment(NamedTuple):
    """A piece of the series: runs ``start`` to ``end - 1``, their fitted level at the
    first and the last run (equal for a level, different for a drift)."""

    start: int
    end: int
    first: float
    last: float

    @property
    def trend(self) -> bool:
        return self.first != self.last


@dataclass(frozen=True)
class Detection:
    steps: tuple[Step, ...]
    sigma: float  # relative run-to-run noise used (log scale)
    segments: tuple[Segment, ...]
    reason: str | None = None  # why nothing could be detected (too few runs)
    drifts: tuple[Drift, ...] = ()
    setting: Setting = DEFAULT


def noise_sigma(logs: Sequence[float], floor: float = NOISE_FLOOR) -> float:
    """Robust run-to-run standard deviation of a log series (module docstring, step 2)."""
    n = len(logs)
    if n < 3:
        return floor
    diffs = [b - a for a, b in zip(logs, logs[1:], strict=False)]
    centre = median(diffs)
    by_diffs = _MAD_TO_SIGMA * median([abs(d - centre) for d in diffs]) / math.sqrt(2)
    by_neighbours = _NEIGHBOURHOOD_TO_SIGMA * median(
        [abs(logs[t] - m) for t, m in enumerate(_neighbourhood_medians(logs))])
    small = math.sqrt(n / max(n - SMALL_SAMPLE, 1))  # a MAD of few values often runs small
    return max(floor, small * math.sqrt(by_diffs * by_neighbours))


def _neighbourhood_medians(x: Sequence[float]) -> list[float]:
    return [median(x[max(0, t - _HALF):t + _HALF + 1]) for t in range(len(x))]


def clipped(x: Sequence[float], sigma: float, clip: float = CLIP) -> list[float]:
    """Each value pulled to within ``clip`` sigma of its neighbourhood median."""
    return [min(max(v, m - clip * sigma), m + clip * sigma)
            for v, m in zip(x, _neighbourhood_medians(x), strict=True)]


class _Sums:
    """Prefix sums for the squared residuals of any segment, about its mean (level) or its
    least-squares line (trend), in O(1). The values are summed about their median, so
    that the differences of large sums (log bytes are about 20) keep their precision."""

    def __init__(self, y: Sequence[float]) -> None:
        self.offset = median(y) if y else 0.0
        self.y1, self.y2, self.t1, self.t2, self.ty = ([0.0] for _ in range(5))
        for t, value in enumerate(y):
            v = value - self.offset
            self.y1.append(self.y1[-1] + v)
            self.y2.append(self.y2[-1] + v * v)
            self.t1.append(self.t1[-1] + t)
            self.t2.append(self.t2[-1] + t * t)
            self.ty.append(self.ty[-1] + t * v)

    def level(self, i: int, j: int) -> tuple[float, float]:
        """(mean, squared residuals) of y[i:j]."""
        m = j - i
        sy = self.y1[j] - self.y1[i]
        return self.offset + sy / m, max(0.0, self.y2[j] - self.y2[i] - sy * sy / m)

    def line(self, i: int, j: int) -> tuple[float, float, float, float]:
        """(fitted value at t = i, slope, squared residuals, sum of squares of t about its
        mean) of the least-squares line through y[i:j]."""
        m = j - i
        st, sy = self.t1[j] - self.t1[i], self.y1[j] - self.y1[i]
        stt = self.t2[j] - self.t2[i] - st * st / m
        sty = self.ty[j] - self.ty[i] - st * sy / m
        syy = self.y2[j] - self.y2[i] - sy * sy / m
        slope = sty / stt
        at_start = self.offset + sy / m + slope * (i - st / m)
        return at_start, slope, max(0.0, syy - slope * sty), stt


def _segment(sums: _Sums, n: int, sigma: float, setting: Setting, min_size: int,
             trend_min: int) -> list[tuple[int, int, bool]]:
    """The optimal segmentation, by dynamic programming over the end of the last segment:
    (start, end, is a trend) per segment. O(n^2) segments, each costed in O(1) from the
    prefix sums (``_Sums.level`` and ``_Sums.line``, written out here: this loop is the
    detector's running time)."""
    scale = 1 / (sigma * sigma)
    penalty, trend_penalty = setting.penalty, setting.penalty + setting.trend
    y1, y2, t1, t2, ty = sums.y1, sums.y2, sums.t1, sums.t2, sums.ty
    best = [math.inf] * (n + 1)
    choice: list[tuple[int, bool]] = [(0, False)] * (n + 1)
    best[0] = -penalty  # the first segment is free
    starts = [0]
    for j in range(min_size, n + 1):
        if j - min_size >= min_size:
            starts.append(j - min_size)
        y1j, y2j, t1j, t2j, tyj = y1[j], y2[j], t1[j], t2[j], ty[j]
        top, pick = math.inf, (0, False)
        for i in starts:
            before = best[i]
            if before == math.inf:
                continue
            m = j - i
            sy = y1j - y1[i]
            syy = y2j - y2[i] - sy * sy / m
            total = before + penalty + syy * scale
            if total < top:
                top, pick = total, (i, False)
            if m >= trend_min:
                st = t1j - t1[i]
                stt = t2j - t2[i] - st * st / m
                sty = tyj - ty[i] - st * sy / m
                total = before + trend_penalty + (syy - sty * sty / stt) * scale
                if total < top:
                    top, pick = total, (i, True)
        best[j], choice[j] = top, pick
    pieces = []
    j = n
    while j > 0:
        i, trend = choice[j]
        pieces.append((i, j, trend))
        j = i
    return pieces[::-1]


def detect(
    values: Sequence[float],
    setting: Setting = DEFAULT,
    min_size: int = MIN_SIZE,
    noise_floor: float = NOISE_FLOOR,
    confidence: float = CONFIDENCE,
    window: int = WINDOW,
    trend_min: int = TREND_MIN,
) -> Detection:
    """Steps and drifts of a series of positive values in run order (oldest first);
    indices refer to ``values``. Only the newest ``window`` values are searched."""
    if any(not v > 0 for v in values):
        raise ValueError("change points need positive values (latencies, bytes)")
    if min_size < 1:
        raise ValueError(f"min_size must be >= 1, got {min_size}")
    skipped = max(0, len(values) - window)
    x = [math.log(v) for v in values[skipped:]]
    n = len(x)
    sigma = noise_sigma(x, noise_floor)
    if n < 2 * min_size:
        level = math.exp(median(x)) if x else 0.0
        segments = (Segment(0, n, level, level),) if n else ()
        return Detection((), sigma, segments,
                         f"{n} run(s): a step needs >= {min_size} runs on each side",
                         setting=setting)
    found, sigma = _detect(x, sigma, setting, min_size, trend_min, confidence, noise_floor)
    if not skipped:
        return found
    return Detection(
        tuple(replace(s, index=s.index + skipped) for s in found.steps), sigma,
        tuple(Segment(s.start + skipped, s.end + skipped, s.first, s.last)
              for s in found.segments),
        f"only the newest {window} of {len(values)} runs are searched",
        tuple(replace(d, start=d.start + skipped, end=d.end + skipped) for d in found.drifts),
        setting)


def _steps_not_drifts(sums: _Sums, pieces: Sequence[tuple[int, int, bool]],
                      min_size: int) -> list[tuple[int, int, bool]]:
    """A trend segment that one step fits better than its line is a step: a line through
    a step explains much of it, and a step has the commit that caused it."""
    out = []
    for start, end, trend in pieces:
        if trend:
            line = sums.line(start, end)[2]
            split = min(range(start + min_size, end - min_size + 1),
                        key=lambda k: sums.level(start, k)[1] + sums.level(k, end)[1])
            if sums.level(start, split)[1] + sums.level(split, end)[1] <= line:
                out += [(start, split, False), (split, end, False)]
                continue
        out.append((start, end, trend))
    return out


@dataclass(frozen=True)
class _Fit:
    start: int
    end: int
    trend: bool
    at_start: float  # fitted log level at the first run
    slope: float  # per run (0 for a level)
    stt: float  # sum of squares of t about its mean (trend)

    @property
    def n(self) -> int:
        return self.end - self.start

    def value(self, t: float) -> float:
        return self.at_start + self.slope * (t - self.start)

    def variance(self, t: float) -> float:
        """Variance of the fitted value at ``t``, in units of sigma^2."""
        if not self.trend:
            return 1 / self.n
        centre = (self.start + self.end - 1) / 2
        return 1 / self.n + (t - centre) ** 2 / self.stt


def _fits(x: Sequence[float], sigma: float, setting: Setting, min_size: int,
          trend_min: int) -> list[_Fit]:
    """The segmentation of ``x`` at noise ``sigma`` (module docstring, steps 3 and 4)."""
    sums = _Sums(clipped(x, sigma))
    fits = []
    for start, end, trend in _steps_not_drifts(
            sums, _segment(sums, len(x), sigma, setting, min_size, trend_min), min_size):
        if trend:
            at_start, slope, _, stt = sums.line(start, end)
            fits.append(_Fit(start, end, True, at_start, slope, stt))
        else:
            fits.append(_Fit(start, end, False, sums.level(start, end)[0], 0.0, 0.0))
    return fits


# E[Z^2 | |Z| < CLIP] for a standard normal Z: the residuals kept by the scale estimate
_KEPT = math.erf(CLIP / math.sqrt(2))
_TRIMMED_VARIANCE = (_KEPT - 2 * CLIP * math.exp(-CLIP * CLIP / 2) / math.sqrt(2 * math.pi)) / _KEPT


def residual_sigma(x: Sequence[float], fits: Sequence[_Fit], sigma: float,
                   floor: float) -> tuple[float, int]:
    """The noise from the residuals about the fitted segments and its degrees of freedom:
    residuals beyond ``CLIP`` times the current estimate left out (outlying runs), the
    rest corrected for the trim and for the parameters fitted. As efficient as a standard
    deviation, unlike the MADs of ``noise_sigma`` (which spread about twice as
    widely: a noise that comes out small by chance turns noise into steps)."""
    residuals = [x[t] - fit.value(t) for fit in fits for t in range(fit.start, fit.end)]
    parameters = sum(2 if f.trend else 1 for f in fits) + len(fits) - 1
    df = 0
    for _ in range(3):
        kept = [r * r for r in residuals if abs(r) < CLIP * sigma]
        df = len(kept) - parameters
        if df < 1:
            return sigma, 0
        sigma = max(floor, math.sqrt(math.fsum(kept) / df / _TRIMMED_VARIANCE))
    return sigma, df


def uncertainty_factor(df: int) -> float:
    """How much larger the noise is taken when it was estimated with ``df`` degrees of
    freedom: Student's t over the normal quantile at ``CAUTION_Z`` standard deviations
    (1.84 at df 5, 1.09 at df 30, 1.04 at df 60), so a step needs as many estimated
    standard errors as it would need known ones to be as rare by chance there."""
    return t_quantile(_CAUTION_P, df) / CAUTION_Z


def _detect(x: Sequence[float], sigma: float, setting: Setting, min_size: int, trend_min: int,
            confidence: float, floor: float = NOISE_FLOOR) -> tuple[Detection, float]:
    refined, df = residual_sigma(x, _fits(x, sigma, setting, min_size, trend_min), sigma, floor)
    if df >= 1:  # refit once with the residuals' noise, made cautious for few runs
        sigma = max(floor, refined * uncertainty_factor(df), GUARD * sigma)
    fits = _fits(x, sigma, setting, min_size, trend_min)
    z_interval = normal_quantile(0.5 + confidence / 2)
    steps, drifts = [], []
    for before, after in zip(fits, fits[1:], strict=False):
        # the jump where the two fits meet, half-way between their runs
        at = after.start - 0.5
        delta = after.value(at) - before.value(at)
        se = sigma * math.sqrt(before.variance(at) + after.variance(at))
        kink = min_size * (abs(before.slope) + abs(after.slope))
        if abs(delta) < setting.min_z * se or abs(delta) <= kink:
            continue  # where a drift meets a level, placed within a few runs: no step
        level = math.exp(before.value(before.end - 1))
        steps.append(Step(
            index=after.start, before=level, after=level * math.exp(delta),
            ratio=math.exp(delta), low=math.exp(delta - z_interval * se),
            high=math.exp(delta + z_interval * se), z=abs(delta) / se,
            n_before=before.n, n_after=after.n))
    for fit in fits:
        if fit.trend:
            se = sigma / math.sqrt(fit.stt)
            if abs(fit.slope) >= setting.min_z * se:
                drifts.append(Drift(fit.start, fit.end, math.exp(fit.slope),
                                    math.exp(fit.slope - z_interval * se),
                                    math.exp(fit.slope + z_interval * se), abs(fit.slope) / se))
    segments = tuple(Segment(f.start, f.end, math.exp(f.value(f.start)),
                             math.exp(f.value(f.end - 1)) if f.trend else math.exp(f.at_start))
                     for f in fits)
    return Detection(tuple(steps), sigma, segments, None, tuple(drifts), setting), sigma
