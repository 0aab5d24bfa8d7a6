"""``sdxl-bench`` end to end without paying torch's import for every test.

A server process imports the CLI, torch, diffusers and transformers once (about 4 s) and
forks one child per invocation; the child takes the test's working folder, environment
and argv, writes stdout and stderr to files and runs ``bench.cli.main``. Each run is
still a process of its own (its exit code, its files, its memory), so the tests that
only need the command's behaviour use it.

Not for tests of what happens at import (cold-start import times, ``HF_HUB_OFFLINE``
and other settings libraries read when imported), nor for tests that signal the
process: those start ``python -m bench`` (``cli.command``, ``cli.run_subprocess``).
No torch operation runs in the server, so its children start with no thread pool.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

SERVER = r"""
import json, os, sys, traceback
sys.path[0] = os.getcwd()  # "" would follow each child's chdir
import bench.cli, torch, diffusers, transformers
from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline

def child(request):
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                            (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        os.dup2(os.open(path, flags, 0o644), fd)
    sys.stdin = open(os.devnull)
    sys.argv = ["sdxl-bench", *request["argv"]]
    try:
        code = bench.cli.main(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)

print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            child(request)
        finally:
            os._exit(70)
    print(json.dumps({"pid": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class ForkServer:
    """The server process and the pipe of requests to it (one request at a time)."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", SERVER], cwd=cwd,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._expect("ready", timeout=300)
        atexit.register(self.close)

    def _line(self, timeout: float) -> str:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server exited with code {self.process.wait()}")
        return line.strip()

    def _expect(self, word: str, timeout: float) -> None:
        line = self._line(timeout)
        assert line == word, line

    def run(self, argv: list[str], env: Mapping[str, str], cwd: Path | str, timeout: float
            ) -> tuple[int, str, str]:
        with tempfile.TemporaryDirectory(prefix="sdxl-bench-fork-") as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd),
                       "stdout": str(out), "stderr": str(err)}
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            pid = json.loads(self._line(60))["pid"]
            try:
                code = json.loads(self._line(timeout))["code"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                json.loads(self._line(60))
                raise subprocess.TimeoutExpired(["sdxl-bench", *argv], timeout) from None
            return code, out.read_text(errors="replace"), err.read_text(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(30)
        self.process.stdout.close()


_server: ForkServer | None = None


def run_in_child(argv: list[str], env: Mapping[str, str] | None, cwd: Path | str,
                 timeout: float, repo: Path) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``sdxl-bench ARGV`` in a child of the fork server."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = ForkServer(repo)
    return _server.run(argv, os.environ if env is None else env, cwd, timeout)
