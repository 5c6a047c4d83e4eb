"""Old import paths of the engine's modules, kept for one release: each warns and forwards to its new home."""

from __future__ import annotations

import importlib
import warnings
from typing import Any


def forward(old: str, new: str, names: tuple[str, ...], name: str) -> Any:
    """``getattr(new module, name)`` for a name of ``names`` reached through module ``old``, with a
    DeprecationWarning; AttributeError for any other name."""
    if name not in names:
        raise AttributeError(f"module {old!r} has no attribute {name!r}")
    warnings.warn(f"{old}.{name} moved: use {new}.{name} (the old path goes in the next release)",
                  DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(new), name)
