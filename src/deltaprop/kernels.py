"""Deprecated: ``deltaprop.kernels`` moved into ``deltaprop.engine``."""

from typing import Any

from ._deprecated import forward

_NAMES = ("BatchKernel", "DenseKernel", "KERNELS", "all_finite", "blas_limit", "check_kernel", "count_correct",
          "make_kernel")


def __getattr__(name: str) -> Any:
    return forward(__name__, "deltaprop.engine", _NAMES, name)
