"""Small helpers shared by the subcommands: argument types, JSON output, consoles."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any



def _number(text: str, kind: type, low: float, *, strict: bool, what: str) -> Any:
    """Parse ``text`` as ``kind`` (int or float) and require a finite value > low (strict) or >= low."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value) or (value <= low if strict else value < low):
        raise argparse.ArgumentTypeError(f"expected {what}, got {value if kind is int else text}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return int(_number(text, int, 1, strict=False, what="a positive integer"))


def nonnegative_int(text: str) -> int:
    """An argparse type: an integer >= 0 (e.g. a seed)."""
    return int(_number(text, int, 0, strict=False, what="an integer >= 0"))


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    return float(_number(text, float, 0.0, strict=True, what="a positive number"))


def nonnegative_float(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    return float(_number(text, float, 0.0, strict=False, what="a number >= 0"))


def float_list(text: str) -> list[float]:
    """An argparse type: comma-separated finite numbers, e.g. 0.1,0.2."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented strict JSON (NumPy values converted, null for NaN and Inf), atomically."""
    from ..io import json_ready, write_atomic

    write_atomic(path, (json.dumps(json_ready(data), indent=2, allow_nan=False) + "\n").encode())


def summarised(events: list[str]) -> list[str]:
    """The run's notes, with the halvings of the learning rate summarised in one line."""
    halved = [e for e in events if "; learning rate halved to " in e]
    rest = [e for e in events if "; learning rate halved to " not in e]
    if len(halved) < 2:
        return events
    first, last = (e.split(";")[0].removeprefix("diverged at ") for e in (halved[0], halved[-1]))
    lr = halved[-1].rsplit(" ", 1)[-1]
    return [f"diverged {len(halved)} times (first at {first}, last at {last}); the learning rate was halved "
            f"{len(halved)} times, to {lr}", *rest]


def stderr_console(quiet: bool = False) -> Any:
    """A rich console on stderr (silent with quiet)."""
    from rich.console import Console

    return Console(stderr=True, quiet=quiet)


def stdout_console() -> Any:
    """A rich console on stdout, for results."""
    from rich.console import Console

    return Console(soft_wrap=True)


def free_dir(name: str) -> Path:
    """./name, or ./name-2, -3, ... : the first that holds no checkpoint."""
    from ..checkpoint import checkpoint_path

    for k in range(1, 10_000):
        folder = Path(name if k == 1 else f"{name}-{k}")
        if not checkpoint_path(folder).exists():
            return folder
    raise OSError(f"no free folder name {name}-N in {Path.cwd()}")


class Interrupt:
    """A callback that turns Ctrl-C (SIGINT) into ``trainer.stop = True``: training ends after the current batch.

    The handler sets the flag that the training loop reads between batches, so nothing runs per
    batch: ``train`` calls this only with the run's first batch (to learn the Trainer) and after
    each epoch (``batch_every = 0``). A second Ctrl-C raises KeyboardInterrupt at once.
    ``trainer`` is the run last seen.
    """

    batch_every = 0

    def __init__(self) -> None:
        self.fired = False
        self.trainer: Any = None

    def __call__(self, event: Any) -> None:
        self.trainer = event.trainer
        if self.fired:
            event.trainer.stop = True

    def _handler(self, signum: int, frame: Any) -> None:
        if self.fired:
            raise KeyboardInterrupt
        self.fired = True
        if self.trainer is not None:
            self.trainer.stop = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Catch SIGINT while the block runs (main thread only; elsewhere Ctrl-C keeps its default)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
