"""Deprecated: ``deltaprop.fast`` moved into ``deltaprop.engine`` (``deltaprop.sgd_steps`` for users)."""

from typing import Any

from ._deprecated import forward

_NAMES = ("SampleLoop", "SparseKernel", "available", "require", "sgd_steps", "sparse_pays")


def __getattr__(name: str) -> Any:
    return forward(__name__, "deltaprop" if name == "sgd_steps" else "deltaprop.engine", _NAMES, name)
