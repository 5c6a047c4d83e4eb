"""The parent's side of a worker: start ``python -m deltaprop.bench.worker``, send commands, read replies.

Each contender of a configuration gets a fresh process, so its peak memory is its own and no
library's thread pool or allocator state leaks between contenders. The worker's stderr goes to a
log file whose last lines are quoted when the worker fails.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import select
import subprocess
import sys
import tempfile
from typing import Any

from . import wire
from .configs import PACKAGES, TORCH_VERSION, Options


class WorkerError(RuntimeError):
    """A worker reported an error, died, or did not answer in time."""


class Worker:
    """One contender's process; ``call(command, **arguments)`` returns the worker's result."""

    def __init__(self, contender: str, files: dict[str, str] | None, *, threads: int, timeout: float) -> None:
        self.contender, self.timeout = contender, timeout
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - open for the worker's lifetime; closed in close()
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)  # read once when each library loads; threadpoolctl also limits
        self.proc = subprocess.Popen([sys.executable, "-m", "deltaprop.bench.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.last_seconds = 0.0
        self._send("setup", {"contender": contender, "files": files, "threads": threads})

    def started(self) -> dict[str, Any]:
        """Wait for the reply to ``setup`` (sent by the constructor, so workers start in parallel)."""
        return self._receive("setup")

    def call(self, command: str, **arguments: Any) -> Any:
        """Send one command and wait for its result; raises WorkerError on failure."""
        self._send(command, arguments)
        return self._receive(command)

    def _send(self, command: str, arguments: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            wire.send(self.proc.stdin, [command, arguments])
        except (BrokenPipeError, OSError):
            raise WorkerError(self._died(command)) from None

    def _receive(self, command: str) -> Any:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            self.close()
            raise WorkerError(f"{self.contender}: {command} did not finish within {self.timeout:g} s")
        try:
            status, result, seconds = wire.receive(self.proc.stdout)
        except EOFError:
            raise WorkerError(self._died(command)) from None
        self.last_seconds = seconds
        if status != "ok":
            raise WorkerError(f"{self.contender}: {result}")
        return result

    def _died(self, command: str) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.seek(0)
        tail = " | ".join(self.log.read().decode(errors="replace").strip().splitlines()[-3:])
        return f"{self.contender}: the worker exited with code {code} during {command}" + (f": {tail}" if tail else "")

    def stderr_tail(self, lines: int = 5) -> str:
        """The last lines the worker wrote to stderr (warnings, for the report)."""
        self.log.seek(0)
        return "\n".join(self.log.read().decode(errors="replace").strip().splitlines()[-lines:])

    def close(self) -> None:
        """Ask the worker to quit; kill it if it does not within a few seconds."""
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                wire.send(self.proc.stdin, ["quit", {}])
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self.log.close()


def unavailable(contender: str, opts: Options) -> str | None:
    """Why a contender cannot run (a note for the report), or None when it can."""
    if contender in opts.skip:
        return "skipped by --skip"
    package = PACKAGES.get(contender)
    if package is None:
        return None
    if package in opts.without:
        return f"skipped: {package} is not installed (simulated by --without {package})"
    if importlib.util.find_spec(package) is None:
        return f"skipped: {package} is not installed"
    if package == "torch":
        found = importlib.metadata.version("torch")
        if found.split("+")[0] != TORCH_VERSION:
            return f"skipped: the benchmark needs torch=={TORCH_VERSION}, found {found}"
    return None


def start_workers(contenders: list[str], files: dict[str, str] | None, opts: Options
                  ) -> tuple[dict[str, Worker], dict[str, dict[str, Any]], dict[str, str]]:
    """Start a worker per contender (all at once), then wait for each to load its data.

    Returns the running workers, each one's setup reply, and an error note per failed one.
    """
    workers, setup, errors = {}, {}, {}
    for c in contenders:
        workers[c] = Worker(c, files, threads=opts.threads, timeout=opts.timeout)
    for c in list(workers):
        try:
            setup[c] = workers[c].started()
        except WorkerError as exc:
            errors[c] = str(exc)
            workers.pop(c).close()
    return workers, setup, errors
