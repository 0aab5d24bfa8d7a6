"""CI runs what the README tells a newcomer to run: the Quick-start test command, which
selects no tier (both run)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def quick_start_test_command() -> str:
    block = (REPO / "README.md").read_text().split("## Quick start", 1)[1].split("```bash", 1)[1]
    return next(line for line in block.split("```", 1)[0].splitlines() if "pytest" in line)


def test_ci_runs_the_readme_quick_start_test_command():
    assert quick_start_test_command() in (REPO / ".ci" / "run").read_text().splitlines()


def test_the_readme_test_command_runs_both_tiers():
    command = quick_start_test_command()
    assert command.endswith("-m pytest -q") and " -m e2e" not in command and "not e2e" not in command
