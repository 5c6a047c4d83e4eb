"""A benchmark worker: one contender in its own process, driven by the parent over a pipe.

Started as ``python -m deltaprop.bench.worker``. The parent writes ``[command, arguments]`` JSON lines
to the worker's stdin and reads one JSON ``[status, result, seconds]`` reply per command from its
stdout; anything a library prints goes to stderr instead, so it cannot corrupt the replies.

Commands: ``setup`` (limit threads, load the data, build the contender), ``reset`` (a fresh
network for a task and seed), ``run`` (one unit of work, timed), ``evaluate`` (test accuracy),
``memory`` (peak and current resident memory) and ``quit``.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from typing import Any, BinaryIO

import numpy as np

from . import peers, wire
from .contenders import Cli, Data, Deltaprop, Floor, NumpyLoop


def load_data(files: dict[str, str] | None) -> Data | None:
    """Read the .npy files the parent prepared (each straight into one array, no extra copy)."""
    if not files:
        return None
    return Data(**{key: np.load(path, allow_pickle=False) for key, path in files.items()})


def make_contender(name: str, data: Data | None, threads: int) -> Any:
    """The contender object for ``name`` (PyTorch and scikit-learn are imported when theirs is built)."""
    if name == "deltaprop":
        return Deltaprop(data)
    if name == "floor":
        return Floor(data)
    if name == "numpy-loop":
        return NumpyLoop(data)
    if name == "cli":
        return Cli(data)
    if name == "pytorch":
        return peers.Torch(data, threads)
    if name == "sklearn":
        return peers.Sklearn(data)
    raise ValueError(f"unknown contender {name!r}")


def _status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024  # the value is in kB
    except OSError:
        return None
    return None


def peak_rss() -> int:
    """The peak resident set size of this process in bytes (VmHWM, else getrusage's ru_maxrss)."""
    hwm = _status_bytes("VmHWM")
    if hwm is not None:
        return hwm
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(maxrss if sys.platform == "darwin" else maxrss * 1024)  # bytes on macOS, kB on Linux


def current_rss() -> int:
    """The current resident set size in bytes (0 when /proc is unavailable)."""
    return _status_bytes("VmRSS") or 0


def limit_threads(threads: int) -> Any:
    """Limit BLAS and OpenMP pools to ``threads`` (threadpoolctl when installed); keep the handle."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads)


class Session:
    """The worker's state between commands."""

    def __init__(self) -> None:
        self.contender: Any = None
        self.limits: Any = None

    def setup(self, contender: str, files: dict[str, str] | None, threads: int) -> dict[str, Any]:
        self.limits = limit_threads(threads)
        data = load_data(files)
        self.contender = make_contender(contender, data, threads)
        return {"data_bytes": 0 if data is None else data.nbytes, "pid": os.getpid(),
                "versions": getattr(self.contender, "versions", {})}

    def reset(self, task: Any, seed: int) -> dict[str, Any]:
        return self.contender.reset(task, seed) or {}

    def run(self) -> dict[str, Any]:
        return self.contender.run()

    def evaluate(self) -> float | None:
        return self.contender.evaluate()

    def memory(self) -> dict[str, int]:
        own = getattr(self.contender, "memory", None)  # a contender that trains in a child process
        return own() if own is not None else {"peak_rss": peak_rss(), "rss": current_rss()}


def serve(commands: BinaryIO, replies: BinaryIO) -> None:
    """Answer commands until ``quit`` or the end of the input."""
    session = Session()
    while True:
        try:
            command, arguments = wire.receive(commands)
        except EOFError:
            return
        if command == "quit":
            return
        start = time.perf_counter()
        try:
            if command not in ("setup", "reset", "run", "evaluate", "memory"):
                raise ValueError(f"unknown worker command {command!r}")
            reply: tuple[str, Any] = ("ok", getattr(session, command)(**arguments))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which marks the contender as failed
            reply = ("error", f"{command}: {type(exc).__name__}: {exc}")
        wire.send(replies, list(reply) + [time.perf_counter() - start])


def main() -> None:
    """Keep the real stdout for replies and send everything else printed to stderr."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
