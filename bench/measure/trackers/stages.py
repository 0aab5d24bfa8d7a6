"""Stage timings inside a call: text encoding, every denoising step, VAE encode/decode.

Marks come from wrappers around ``encode_prompt`` and the VAE's ``encode``/``decode``, a
UNet forward pre-hook (start of a step) and ``callback_on_step_end`` (end of a step).
Per-call state is cleared at the start of every call, so no interval ever spans two
calls (the optimum-benchmark trap).
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

from bench.measure.device import Clock
from bench.measure.trackers import Tracker
from bench.stats import summarize

STAGES = ("text_encoding", "denoise_step", "denoising", "vae_decode", "vae_encode")


class StageTracker(Tracker):
    def __init__(self, device: str) -> None:
        self.clock = Clock(device)
        self.intervals: dict[str, list] = {}  # stage → [(start, end)] of the current call
        self.step_start = None
        self.seconds: dict[str, list[float]] = {stage: [] for stage in STAGES}
        self.steps_per_call: list[int] = []

    def _timed(self, stage: str, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            start = self.clock.mark()
            out = fn(*args, **kwargs)
            self.intervals.setdefault(stage, []).append((start, self.clock.mark()))
            return out

        return wrapper

    def _on_unet_forward(self, module, args):
        if self.step_start is None:
            self.step_start = self.clock.mark()

    def _on_step_end(self, pipe, step, timestep, callback_kwargs):
        start, self.step_start = self.step_start, None
        self.intervals.setdefault("denoise_step", []).append((start, self.clock.mark()))
        return callback_kwargs

    @contextmanager
    def config(self, pipe):
        vae = pipe.vae
        patched = [(pipe, "encode_prompt", "text_encoding"), (vae, "decode", "vae_decode"),
                   (vae, "encode", "vae_encode")]
        for owner, attr, stage in patched:
            setattr(owner, attr, self._timed(stage, getattr(owner, attr)))
        hook = pipe.unet.register_forward_pre_hook(self._on_unet_forward)
        try:
            yield
        finally:
            hook.remove()
            for owner, attr, _ in patched:
                delattr(owner, attr)  # drop the instance attribute: the method shows again

    @contextmanager
    def call(self):
        self.intervals = {}
        self.step_start = None
        yield
        # Read after the call: the latency tracker (inside this scope) has synchronised.
        per_stage = {
            stage: [self.clock.seconds(a, b) for a, b in marks]
            for stage, marks in self.intervals.items()
        }
        for stage in ("text_encoding", "vae_decode", "vae_encode"):
            if stage in per_stage:
                self.seconds[stage].append(sum(per_stage[stage]))
        steps = per_stage.get("denoise_step", [])
        self.seconds["denoise_step"].extend(steps)
        self.steps_per_call.append(len(steps))
        if steps:
            first, last = self.intervals["denoise_step"][0][0], self.intervals["denoise_step"][-1][1]
            self.seconds["denoising"].append(self.clock.seconds(first, last))

    def call_kwargs(self) -> dict:
        return {"callback_on_step_end": self._on_step_end}

    def result(self) -> dict:
        return {
            "stages_s": {
                stage: summarize(values) if values else None
                for stage, values in self.seconds.items()
            },
            "steps_run_measured": self.steps_per_call[-1] if self.steps_per_call else None,
        }
