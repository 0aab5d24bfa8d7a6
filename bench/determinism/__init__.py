"""Determinism checks: repeatability, batch invariance, generator pitfalls, cross-run matching.

Modules: ``pixels`` (pure difference metrics), ``verdicts`` (check results and their
records), ``checks`` (the checks, run against real pipelines), ``manifest`` (saved images
and their seed manifest), ``crossrun`` (matching the images of two run files) and
``strict`` (deterministic-algorithm mode in its own process).
"""
