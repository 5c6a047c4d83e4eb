"""Deprecated: ``deltaprop.sparse`` moved into ``deltaprop.engine``."""

from typing import Any

from ._deprecated import forward

_NAMES = ("SparseKernel", "sparse_pays")


def __getattr__(name: str) -> Any:
    return forward(__name__, "deltaprop.engine", _NAMES, name)
