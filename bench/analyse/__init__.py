"""Analyse: decisions from ConfigResults — comparison, the gate, memory changes, Pareto,
recommendation, trends (no torch). The statistical primitives they use are ``bench.stats``."""
