"""The analysis commands on real ``tiny`` CPU runs: A/A, a planted regression, no torch.

Each pair of runs is measured concurrently, one torch thread each on the 2-core
machine, so load from anything else running on the machine hits both sides alike; run
one after the other, a busy neighbour can make one side many times slower and the
"A/A" comparison would measure the neighbour, not the harness.
"""

import os
import subprocess

import pytest

from tests.support.cli import REPO, command, run_subprocess

RUN = [
    "run",
    "--model", "tiny",
    "--scenario", "t2i-prompts",
    "--batch-sizes", "1",
    "--images-per-prompt", "1",
    "--steps", "2",
    "--height", "32",
    "--width", "32",
    "--warmup", "1",
    "--repeats", "8",
    "--threads", "1",
    "--quiet",
]  # fmt: skip
# The planted scenario (tests/planted/scenario.py) keeps the config key and, by environment
# variable, makes one component worse: the UNet waits PLANTED_UNET_DELAY_MS more per forward
# (a slow component; 2 steps = 2 UNet forwards x 60 ms on calls of ~20-40 ms, an
# effect several times a tiny call's noise) or allocates PLANTED_EXTRA_MIB more.
PLANTED = ["--scenario", str(REPO / "tests" / "planted" / "scenario.py")]
SLOWER_UNET = {"PLANTED_UNET_DELAY_MS": "60"}
PLANTED_MEMORY = [*PLANTED, "--repeats", "3"]
EXTRA_MIB = 256  # about +30 % of the ~0.8 GiB process RSS of a tiny CPU run


def run_pair(first: tuple, second: tuple, timeout: float = 240) -> None:
    """Two ``sdxl-bench run`` processes at the same time; fail with their stderr. Each
    side is (out, extra flags) or (out, extra flags, extra environment)."""
    procs = [
        subprocess.Popen(
            command(*RUN, *side[1], "--out", str(side[0])),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(side[2] if len(side) > 2 else {})},
        )
        for side in (first, second)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("real-runs")
    paths = {name: folder / f"{name}.jsonl" for name in ("a1", "a2", "b", "slow")}
    run_pair((paths["a1"], []), (paths["a2"], []))
    run_pair((paths["b"], PLANTED), (paths["slow"], PLANTED, SLOWER_UNET))
    return paths


def test_gate_passes_an_a_a_pair_of_real_tiny_runs(runs):
    result = run_subprocess("gate", str(runs["a1"]), str(runs["a2"]))
    assert result.code == 0, result.out
    assert "PASS" in result.out
    row = next(line for line in result.out.splitlines() if "t2i-prompts bs1" in line)
    assert "note:" not in row  # no call argument differs between the runs


def test_gate_fails_a_planted_regression_in_real_tiny_runs(runs):
    # The two runs of a pair were measured side by side, so load drift hits both: trust
    # their calls instead of assuming run-to-run drift (--run-cv 0).
    result = run_subprocess("gate", str(runs["b"]), str(runs["slow"]), "--run-cv", "0")
    assert result.code == 1, result.out
    assert "regressed (fails)" in result.out
    assert "planted bs1 n1 2steps 32x32 float32 tiny" in result.out.split("FAIL")[1]


def test_gate_shows_the_memory_of_an_a_a_pair_with_its_noise_and_passes(runs):
    result = run_subprocess("gate", str(runs["a1"]), str(runs["a2"]))
    row = next(line for line in result.out.splitlines() if "t2i-prompts bs1" in line)
    assert "process_rss " in row and "%" in row.split("process_rss ")[1] and "±" in row
    assert "memory +" not in result.out  # no memory failure, no "above the limit" note


@pytest.fixture(scope="module")
def memory_runs(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("planted-memory")
    paths = {name: folder / f"{name}.jsonl" for name in ("base", "more")}
    run_pair((paths["base"], PLANTED_MEMORY),
             (paths["more"], PLANTED_MEMORY, {"PLANTED_EXTRA_MIB": str(EXTRA_MIB)}))
    return paths


def test_gate_fails_a_real_planted_memory_increase(memory_runs):
    result = run_subprocess("gate", str(memory_runs["base"]), str(memory_runs["more"]))
    assert result.code == 1, result.out
    assert "FAIL: 1 of 1 config(s) failed (1 regressed)" in result.out
    row = next(line for line in result.out.splitlines() if line.startswith("| planted"))
    assert "regressed (fails)" in row and "memory grew" in row
    reasons = " ".join(result.out.split())  # listed under the table, wrapped
    assert "process_rss memory +" in reasons and "beyond the noise ±" in reasons


def test_compare_of_real_runs_reports_significance(runs):
    result = run_subprocess("compare", str(runs["b"]), str(runs["slow"]))
    assert result.code == 0, result.err
    assert "| significant " in result.out


@pytest.mark.parametrize(
    "command",
    [
        ["gate", "{a1}", "{a2}"],
        ["compare", "{a1}", "{a2}"],
        ["report", "{a1}", "--out", "{out}"],
    ],
)
def test_analysis_commands_never_import_torch(runs, tmp_path, command):
    argv = [part.format(**runs, out=tmp_path) for part in command]
    probe = (
        "import sys\n"
        "from bench.cli import main\n"
        f"code = main({argv!r})\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', code)\n"
    )
    done = run_subprocess(prefix=["-c", probe], timeout=120)
    assert done.out.strip().splitlines()[-1] == "NO-TORCH 0", done.err[-2000:]
