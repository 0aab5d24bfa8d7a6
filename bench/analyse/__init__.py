"""Analyse: statistics, comparison, significance, gate, Pareto, recommendation (no torch)."""
