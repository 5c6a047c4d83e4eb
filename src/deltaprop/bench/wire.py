"""The parent-worker protocol: one JSON object per line (never pickle), tasks tagged by type."""

from __future__ import annotations

import dataclasses
import json
from typing import IO, Any

import numpy as np

from .configs import Task


def _plain(value: Any) -> Any:
    if isinstance(value, Task):
        return {"__task__": dataclasses.asdict(value)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot send {type(value).__name__} to a benchmark worker")


def _revive(obj: dict[str, Any]) -> Any:
    if set(obj) == {"__task__"}:
        fields = dict(obj["__task__"])
        fields["sizes"] = tuple(fields["sizes"])
        return Task(**fields)
    return obj


def send(stream: IO[bytes], message: Any) -> None:
    """Write one message as a JSON line and flush."""
    stream.write(json.dumps(message, default=_plain).encode() + b"\n")
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """Read one message; EOFError at the end of the stream or on a malformed line."""
    line = stream.readline()
    if not line:
        raise EOFError("the stream ended")
    try:
        return json.loads(line, object_hook=_revive)
    except json.JSONDecodeError as exc:
        raise EOFError(f"malformed message: {exc}") from None
