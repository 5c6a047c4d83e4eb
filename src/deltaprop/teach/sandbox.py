r"""Run a student's backprop in a child process with a time limit and a memory limit.

This is **isolation, not a security sandbox**: the child runs with the grader's user rights and
can read and write what that user can. It keeps a slow, crashing or memory-hungry submission from
taking the grader down: the child's address space is capped (``RLIMIT_AS``), as are its CPU
seconds (``RLIMIT_CPU``) and the size of any file it writes (``RLIMIT_FSIZE``); each case must
answer within ``timeout`` seconds of wall time, or the child is killed and the case reported as
"no answer". Run untrusted code from strangers in a container or a virtual machine.

The limits use ``resource.setrlimit`` in the child before it starts (POSIX only).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Limits", "run_cases"]

_RUNNER = Path(__file__).with_name("_runner.py")


@dataclass(frozen=True)
class Limits:
    """Time per case and for the import (s, wall clock), memory (bytes of address space), file size of the child."""

    timeout: float = 10.0
    memory: int = 2 * 1024**3
    file_size: int = 16 * 1024**2
    import_timeout: float = 30.0


def _limit(limits: Limits, total_cpu: float) -> Any:
    def apply() -> None:  # runs in the child, between fork and exec
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
        cpu = int(total_cpu) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))

    return apply


def run_cases(student: str | Path, function: str, convention: str, cases: list[dict[str, Any]],
              limits: Limits = Limits()) -> tuple[str | None, list[dict[str, Any]]]:
    """Call ``function`` of ``student`` on every case in a child process.

    Returns
    -------
    (import_error, results)
        ``import_error`` is None when the module imported and the function exists, else its
        message (and no results). ``results[k]`` is {"out": ...} or {"error": "..."} for case k;
        a case that does not answer in time, or a child that dies, ends the list with one
        {"error": ...} saying so (the cases after it are not run).
    """
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1")
    with tempfile.TemporaryDirectory(prefix="deltaprop-impl-") as tmp:
        path = Path(tmp) / "cases.json"
        path.write_text(json.dumps(cases))
        proc = subprocess.Popen(
            [sys.executable, "-I", str(_RUNNER), str(path), str(Path(student).resolve()), function, convention],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp, env=env,
            preexec_fn=_limit(limits, limits.import_timeout + limits.timeout * len(cases)))
        try:
            return _collect(proc, len(cases), limits)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()


def _collect(proc: subprocess.Popen[bytes], n: int, limits: Limits) -> tuple[str | None, list[dict[str, Any]]]:
    """Read the child's lines, each within the time limit; the first says whether the import worked."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buffer, lines = b"", list[bytes]()
    results: list[dict[str, Any]] = []
    deadline = time.monotonic() + limits.import_timeout  # NumPy and the student's module
    fd = proc.stdout.fileno()
    stop = None  # why the child stopped early, if it did
    while len(lines) < n + 1:
        if b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            lines.append(line)
            deadline = time.monotonic() + limits.timeout
            continue
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(timeout=left):
            what = "importing the module" if not lines else f"case {len(lines)}"
            limit = limits.import_timeout if not lines else limits.timeout
            stop = f"no answer within {limit:g} s while {what} (an endless loop?)"
            break
        chunk = os.read(fd, 1 << 16)
        if not chunk:  # the child died: a memory or CPU limit, or os._exit
            stop = _death(proc.wait(), limits)
            break
        buffer += chunk
    first = json.loads(lines[0]) if lines else {"error": stop}
    if "error" in first:
        return str(first["error"]), []
    return None, _parse(lines[1:]) + ([{"error": stop}] if stop else [])


def _parse(lines: list[bytes]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"error": "the function returned something that is not numbers"})
    return out


def _death(code: int, limits: Limits) -> str:
    if code < 0:
        import signal

        name = signal.Signals(-code).name
        why = {"SIGXCPU": "the CPU time limit", "SIGKILL": "a limit", "SIGSEGV": "a crash",
               "SIGXFSZ": f"the file size limit ({limits.file_size} bytes)"}.get(name, name)
        return f"the process running your code was stopped by {why} ({name})"
    if code != 0:
        return f"the process running your code exited with code {code} before answering every case"
    return "the process running your code stopped before answering every case"
