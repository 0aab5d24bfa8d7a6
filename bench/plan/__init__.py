"""Plan: scenario + flags → a validated, frozen list of configs (standard library only)."""

from bench.plan.scenario import Scenario

__all__ = ["Scenario"]
