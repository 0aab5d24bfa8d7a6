"""Planning needs no torch: every test here runs with the measuring stack out of reach.

An import of torch, diffusers, transformers or accelerate (an ``import`` statement at any
depth, or ``importlib.import_module``) during a test of this folder raises ImportError,
whether or not an earlier test of the session imported it already; so a test here that
passes proves its code path imports none of them.
"""

from __future__ import annotations

import builtins
import importlib

import pytest

MEASURING_STACK = ("torch", "diffusers", "transformers", "accelerate")


def blocked(name: str) -> bool:
    return name.split(".")[0] in MEASURING_STACK


def _refuse(name: str) -> None:
    raise ImportError(f"{name} imported by a planning test: planning must not need the"
                      " measuring stack", name=name)


@pytest.fixture(autouse=True)
def no_measuring_stack(monkeypatch):
    """``import torch`` (and the rest of the stack) fails for the length of the test."""
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and blocked(name):
            _refuse(name)
        return real_import(name, globals, locals, fromlist, level)

    def guarded_import_module(name, package=None):
        if not name.startswith(".") and blocked(name):
            _refuse(name)
        return real_import_module(name, package)

    monkeypatch.setattr(builtins, "__import__", guarded_import)
    monkeypatch.setattr(importlib, "import_module", guarded_import_module)
