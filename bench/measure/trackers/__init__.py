"""Trackers: one measurement each, composed around the timed calls.

A tracker opens a scope around all timed calls of a config (``config``), around each
timed call (``call``) and around each untimed warm-up call (``warmup``), may add keyword
arguments to the call, and reports fields for the record. The measure loop enters them
with an ``ExitStack`` in list order, so the latency tracker goes last: innermost, its
clock covers the pipeline call and nothing the other trackers do.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any


class Tracker:
    """No-op defaults; a tracker overrides only what it measures."""

    def config(self, pipe: Any) -> AbstractContextManager:
        return nullcontext()

    def call(self) -> AbstractContextManager:
        return nullcontext()

    def warmup(self) -> AbstractContextManager:
        return nullcontext()

    def call_kwargs(self) -> dict:
        return {}

    def result(self) -> dict:
        return {}
