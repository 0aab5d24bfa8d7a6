"""A user's scenario module that misbehaves while it is imported is named in one line."""

from __future__ import annotations

import pytest

from bench.errors import UsageError
from bench.plan.scenario import load_scenario
from tests.support.cli import run_in_process


@pytest.mark.parametrize("code", [3, 0, "bye"])
def test_a_scenario_that_calls_sys_exit_is_a_usage_error_naming_the_file(tmp_path, code):
    module = tmp_path / "exiting.py"
    module.write_text(f"import sys\nsys.exit({code!r})\n")
    with pytest.raises(UsageError, match=f"scenario file {module} called sys.exit"):
        load_scenario(str(module))


def test_run_with_such_a_scenario_exits_2_in_one_line_not_with_its_code(tmp_path):
    module = tmp_path / "exiting.py"
    module.write_text("import sys\nsys.exit(3)\n")
    result = run_in_process("run", "--scenario", str(module))
    assert result.code == 2
    assert result.err.strip() == (f"sdxl-bench: error: scenario file {module} called sys.exit(3)"
                                  " while being imported: a scenario module must define"
                                  " SCENARIO = Scenario(...), not exit")
