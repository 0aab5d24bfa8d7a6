"""``run --nproc N``: start the ranks with PyTorch's own launcher, ``torch.distributed.run``.

The ranks re-enter this CLI (``python -m torch.distributed.run … -m bench <same argv>``)
with ``SDXL_BENCH_LAUNCH`` set, which tells them what part of the run file they write
(a ``--scaling`` sweep is one torchrun launch per world size, all into one file). The
launcher itself measures nothing; for ``--scaling`` it appends the efficiency records
and the footer once every launch has finished.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

LAUNCH_ENV = "SDXL_BENCH_LAUNCH"


@dataclass(frozen=True)
class Segment:
    """What one launch's rank 0 writes: the header, the footer, ids suffixed ``/npN``."""

    header: bool = True
    footer: bool = True
    id_suffix: bool = False
    world_sizes: tuple[int, ...] | None = None
    command: tuple[str, ...] | None = None  # the user's command line, for the header

    def to_env(self) -> str:
        return json.dumps(asdict(self))


def segment_from_env() -> Segment:
    """The launcher's instructions; a plain ``torchrun … -m bench run`` writes a whole file."""
    text = os.environ.get(LAUNCH_ENV)
    if not text:
        return Segment()
    data = json.loads(text)
    sizes, command = data.get("world_sizes"), data.get("command")
    return Segment(data["header"], data["footer"], data["id_suffix"],
                   tuple(sizes) if sizes else None, tuple(command) if command else None)


# The launcher's own flags (value: required, optional); the ranks never see them, and
# torchrun's parser would take --nnodes, --node-rank and --rdzv-endpoint for itself.
LAUNCHER_FLAGS = {"--nproc": "required", "--nnodes": "required", "--node-rank": "required",
                  "--rdzv-endpoint": "required", "--scaling": "optional"}


def rank_argv(argv: list[str], option_strings: list[str]) -> list[str]:
    """``argv`` without the launcher flags (also as ``--flag=value`` or an unambiguous
    abbreviation, as argparse accepts them)."""
    def launcher_flag(token: str) -> str | None:
        name = token.split("=", 1)[0]
        matches = [o for o in option_strings if o.startswith(name)] if name.startswith("--") else []
        if name in option_strings:
            matches = [name]
        return matches[0] if len(matches) == 1 and matches[0] in LAUNCHER_FLAGS else None

    out: list[str] = []
    tokens = iter(enumerate(argv))
    for i, token in tokens:
        flag = launcher_flag(token)
        if flag is None:
            out.append(token)
            continue
        if "=" in token:
            continue
        following = argv[i + 1] if i + 1 < len(argv) else None
        if LAUNCHER_FLAGS[flag] == "required" or (following and not following.startswith("-")):
            next(tokens, None)
    return out


def torchrun_command(argv: list[str], nproc: int, nnodes: int = 1, node_rank: int = 0,
                     rdzv_endpoint: str | None = None) -> list[str]:
    """The ``python -m torch.distributed.run`` command line that re-enters the CLI.

    One node: ``--standalone`` (a local rendezvous on a free port). Several: the static
    rendezvous at ``rdzv_endpoint``, so ``--node-rank 0`` hosts global rank 0.
    """
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}",
               "--max-restarts=0"]
    if nnodes > 1:
        command += [f"--nnodes={nnodes}", f"--node-rank={node_rank}",
                    f"--rdzv-endpoint={rdzv_endpoint}"]
    else:
        command += ["--standalone", "--nnodes=1"]
    return command + ["-m", "bench", *argv]


def _run_torchrun(command: list[str], segment: Segment) -> int:
    """Run torchrun to the end; 130 after Ctrl-C, 143 after SIGTERM, as a single-process
    run ends. Ctrl-C reaches the ranks too (same process group); SIGTERM, sent to this
    process alone, is passed on to torchrun, which stops its ranks. Either way the ranks
    write the config in flight as ``interrupted`` and their footer: wait for them."""
    import signal

    env = {**os.environ, LAUNCH_ENV: segment.to_env()}
    received: list[int] = []
    process: subprocess.Popen | None = None

    def forward(signum, frame) -> None:
        received.append(signum)
        if process is not None and process.poll() is None:
            process.send_signal(signum)

    # The handler comes first: a SIGTERM while torchrun starts would otherwise end this
    # launcher at once and leave torchrun and its ranks running.
    previous = signal.signal(signal.SIGTERM, forward)
    try:
        process = subprocess.Popen(command, env=env)
        if received:  # came while it started: pass it on now
            process.send_signal(received[0])
        while True:
            try:
                code = process.wait()
                break
            except KeyboardInterrupt:
                received.append(signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 128 + received[0] if received and code else code


def check_gpu_count(device: str, nproc: int) -> None:
    """``--nproc`` larger than the GPUs of this node would share GPUs between ranks."""
    import torch

    from bench.errors import UsageError

    if device == "cpu" or not torch.cuda.is_available():
        return
    count = torch.cuda.device_count()
    if nproc > count:
        raise UsageError(f"--nproc {nproc}: this node has {count} CUDA devices (one rank per GPU;"
                         " use --device cpu for CPU ranks)")


@dataclass(frozen=True)
class Launch:
    """The launcher's flags, checked: ranks per node, nodes, and the ``--scaling`` sizes."""

    nproc: int
    device: str = "auto"
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None
    scaling: tuple[int, ...] | None = None  # world sizes, ascending, 1 first


def launch(spec: Launch, argv: list[str], out: Path, option_strings: list[str]
           ) -> tuple[int, list[dict]]:
    """Start the ranks (once, or once per world size with ``--scaling``); returns the exit
    code and the scaling records appended (none without ``--scaling``)."""
    from bench.store.run_file import drop_torn_tail

    check_gpu_count(spec.device, spec.nproc)
    user_command = ("sdxl-bench", *argv)
    argv = [*rank_argv(argv, option_strings), "--out", str(out)]
    if spec.scaling is None:
        command = torchrun_command(argv, spec.nproc, spec.nnodes, spec.node_rank,
                                   spec.rdzv_endpoint)
        code = _run_torchrun(command, Segment(command=user_command))
        if code:
            _report_failure(code, out)
        return code, []
    sizes = spec.scaling
    started = time.perf_counter()
    code = 0
    for index, size in enumerate(sizes):
        segment = Segment(header=index == 0, footer=False, id_suffix=True, world_sizes=sizes,
                          command=user_command)
        if index and out.exists():
            drop_torn_tail(out)
        code = _run_torchrun(torchrun_command(argv, size), segment)
        if code:
            _report_failure(code, out)
            break
    results = []
    if out.exists():
        results = close_scaling_run(out, sizes, time.perf_counter() - started, failed=bool(code))
    return code, results


def close_scaling_run(out: Path, sizes: tuple[int, ...], duration_s: float,
                      failed: bool) -> list:
    """Append the scaling records and the footer once every launch has finished."""
    import warnings

    from bench.analyse.scaling import scaling_results
    from bench.result import Ending
    from bench.store.run_file import RunWriter, drop_torn_tail, footer_record, read_run

    drop_torn_tail(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no footer yet: that is what we are adding
        run = read_run(out)
    results = scaling_results(run.results)
    with RunWriter(out, mode="a") as writer:
        for result in results:
            writer.write(result.to_record())
        writer.write(footer_record(Ending.INTERRUPTED if failed else Ending.COMPLETE, duration_s,
                                   len(run.results), world_sizes=list(sizes)))
    return results


def _report_failure(code: int, out: Path) -> None:
    where = f"finished configs are in {out}" if out.exists() else "no run file was written"
    if code in (130, 143):
        print(f"sdxl-bench: interrupted; {where}", file=sys.stderr)
        return
    print(f"sdxl-bench: torchrun exited with code {code}: a rank failed or was stopped"
          f" (torchrun's summary above names it); {where}", file=sys.stderr)
