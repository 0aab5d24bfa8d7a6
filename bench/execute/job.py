"""The one run-to-file job: lock, session, header, resume, image saving, writer, sweep, footer.

Every entry point that writes a run file (``run``, ``determinism``, each data-parallel
rank) describes what it wants as a ``RunJob`` and says how to open its session and make
its executor; the order of the steps, and what happens when one fails, is written here
once:

1. take the run file's lock (a second writer is refused with our pid, before loading);
2. read the run being resumed, if any (same plan, or a one-line refusal);
3. open the session (pipelines, NVML, environment) and refuse to resume a run measured
   with other settings;
4. the header (or, when resuming, the old header with this resumption added, the file
   rewritten atomically with the finished results), then the image saver;
5. the sweep, every result written as it finishes, then the footer.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import UsageError
from bench.execute.resume import Resumed, load_for_resume, rewrite, setting_difference
from bench.execute.session import Session
from bench.execute.sweep import Annotate, Executor, run_sweep
from bench.plan.sweep import Plan
from bench.result import ConfigResult
from bench.store.run_file import RunFileLock, RunWriter, now_iso


@dataclass(frozen=True)
class RunJob:
    """A plan measured into one run file, as an entry point asks for it."""

    plan: Plan
    out: Path | None  # None: measure without writing (data-parallel ranks other than 0)
    command: list[str]  # the command line the header records
    header: dict = field(default_factory=dict)  # header fields beyond the session's
    images_dir: Path | None = None  # --save-images: where the saver writes
    resume: Path | None = None  # --resume: the run file to continue (it is ``out``)
    write_header: bool = True  # False: append to a file another launch began (--scaling)
    footer: dict | Callable[[list], dict] | None = field(default_factory=dict)  # None: none
    skip_after_oom: bool = True
    annotate: bool = True  # add FLOPs, MFU, stability and warnings to measured results
    world_size: int = 1  # devices the results' images/s is over (for MFU)


@dataclass(frozen=True)
class JobOutcome:
    """What the job wrote and how it ended."""

    written: list  # new results (and other records) in the order written
    code: int  # the run's exit code: 0, 1, 130, 143
    session: Session
    header: dict
    previous: tuple[ConfigResult, ...] = ()  # finished results a resumed run kept
    path: Path | None = None  # the run file written (None: nothing written)

    @property
    def results(self) -> list[ConfigResult]:
        """One result per config, the kept ones included, in the plan's order (a rank's
        config ids may carry a world-size suffix: ``base_config_id`` names the plan's)."""
        latest = {r.config_id: r for r in (*self.previous, *self.written)
                  if isinstance(r, ConfigResult) and r.kind == "config"}
        order = {c.config_id: i for i, c in enumerate(self.session.plan.configs)}
        return sorted(latest.values(),
                      key=lambda r: order.get(r.base_config_id or r.config_id, len(order)))


ExecutorFactory = Callable[[Session, Any], Executor]  # (session, ImageSaver or None)


def run_job(job: RunJob, open_session: Callable[[], Session], make_executor: ExecutorFactory, *,
            header: Callable[[Session], dict] | None = None, label: Annotate | None = None,
            on_start: Callable[[int], None] | None = None,
            on_result: Callable[[Any], None] | None = None) -> JobOutcome:
    """Run ``job``: the steps of the module docstring, in that order.

    ``header(session)`` adds header fields known only once the session is open (the ranks
    of a data-parallel run); ``label`` and ``on_result`` go to the sweep; ``on_start`` is
    told how many configs a resumed run already has, just before the sweep starts.
    """
    lock = RunFileLock(job.out) if job.out is not None else nullcontext()
    with lock:
        resumed = load_for_resume(job.resume, job.plan) if job.resume else None
        session = open_session()
        if resumed:
            _refuse_other_settings(job.resume, resumed, session)
        fields = {**job.header, **(header(session) if header else {})}
        if job.images_dir:
            fields["images_dir"] = str(job.images_dir)
        first = session.header(job.command, **fields)
        saver = _saver(job, session, first) if job.images_dir else None
        execute = make_executor(session, saver)
        writer, first = _open_writer(job, first, resumed)
        kept = resumed.kept if resumed else ()
        if on_start:
            on_start(len(kept))

        def annotate(config, result):
            return session.annotate(config, result, job.world_size)

        with writer if writer is not None else nullcontext():
            written, code = run_sweep(
                job.plan, execute, writer, skip_after_oom=job.skip_after_oom, previous=kept,
                annotate=annotate if job.annotate else None, label=label,
                on_config=on_result, footer=job.footer)
    return JobOutcome(written, code, session, first, kept, job.out)


def _refuse_other_settings(path: Path, resumed: Resumed, session: Session) -> None:
    difference = setting_difference(resumed.header.get("env") or {}, session.env)
    if difference:
        raise UsageError(f"--resume {str(path)!r}: that run was measured with other"
                         f" settings ({difference}); finish it where it was started, or"
                         " start a new run")


def _saver(job: RunJob, session: Session, header: dict):
    from bench.determinism.manifest import ImageSaver

    plan = job.plan
    return ImageSaver(job.images_dir, plan.model.name, plan.prompts, plan.images,
                      plan.scenario.num_default_images, session.run_id, list(job.command))


def _open_writer(job: RunJob, header: dict, resumed: Resumed | None
                 ) -> tuple[RunWriter | None, dict]:
    """The writer, the header written (or, resuming, the file rewritten with the kept
    results under the old header plus this resumption); returns the header in force."""
    if job.out is None:
        return None, header
    if resumed:
        entry = {"at": now_iso(), "command": list(job.command), **job.header.get("options", {})}
        header = {**resumed.header, "resumed": [*resumed.header.get("resumed", []), entry]}
        rewrite(job.out, header, resumed.kept)
        return RunWriter(job.out, mode="a"), header
    writer = RunWriter(job.out, mode="w" if job.write_header else "a")
    if job.write_header:
        writer.write(header)
    return writer, header
