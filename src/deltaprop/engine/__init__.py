r"""The fast paths behind one seam: ``train`` asks ``make_kernel`` (or ``sample_loop``) and never knows which ran.

A kernel computes the gradients of one mini-batch; ``train`` talks to it through ``batch``,
``finite``, ``update`` and ``close`` and reads its ``dW`` and ``db``:

- ``reference.BatchKernel``: ``Network``'s own forward and backward pass (every layer, dropout);
- ``dense.DenseKernel``: the same formulas in NumPy, in place, for the layers of ``support``'s table;
- ``sparse.SparseKernel``: a compiled first layer that skips zero inputs (numba), with a helper
  thread (``_helper``) on two cores;
- ``per_sample.SampleLoop``: per-sample SGD compiled, for ``batch_size=1`` (and ``sgd_steps``).

Every kernel gives the reference's gradients up to rounding, and each the same bits wherever its
work runs (``tests/test_kernels.py``, ``tests/test_bit_identical.py``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from ..network import Network
from . import support
from .dense import DenseKernel
from .per_sample import SampleLoop, sample_loop_supports, sgd_steps
from .reference import BatchKernel, DivergenceError, all_finite, count_correct
from .sparse import SparseKernel, sparse_pays
from .support import available, require

__all__ = ["KERNELS", "BatchKernel", "DenseKernel", "DivergenceError", "SampleLoop", "SparseKernel", "all_finite",
           "available", "blas_limit", "check_kernel", "count_correct", "forward_rowwise", "make_kernel", "require",
           "sample_loop", "sgd_steps", "sparse_pays"]

KERNELS = ("auto", "reference", "numpy", "compiled")


def check_kernel(kind: Any) -> str:
    """``kind`` if it names a kernel (see ``make_kernel``); ValueError listing the names otherwise."""
    if not isinstance(kind, str) or kind not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kind!r}")
    return kind


def make_kernel(net: Network, batch_size: int, X: np.ndarray | None = None, Y: np.ndarray | None = None, *,
                kind: str = "auto", dropout: bool = False) -> BatchKernel:
    """The kernel ``kind`` for ``net``: "reference", "numpy", "compiled" (``engine.sparse``) or "auto".

    "auto" takes the compiled kernel when numba is installed and X is mostly zeros, else the
    NumPy fast path, and the reference for dropout or for layers the fast paths do not know.
    Asking for "numpy" or "compiled" where they do not apply raises ValueError (RuntimeError for
    "compiled" without numba).

    Parameters
    ----------
    net : Network
    batch_size : int
        The most rows a batch will have.
    X : ndarray of shape (m, n_0), optional
        The training inputs: "auto" looks at their share of zeros.
    Y : ndarray of shape (m, n_L), optional
        The training targets, the only ones the kernel will be given: the NumPy kernel skips
        softmax's row sums when every row sums to exactly 1 (decided here, once).
    kind : {"auto", "reference", "numpy", "compiled"}, keyword-only
    dropout : bool, keyword-only
        Whether training draws dropout masks (only the reference computes them).
    """
    check_kernel(kind)
    applies = not dropout and support.supports(net)
    if kind == "reference" or (kind == "auto" and not applies):
        return BatchKernel(net, batch_size)
    if not applies:
        raise ValueError(f"kernel {kind!r} computes {support.described()}; "
                         "this network needs kernel='reference' (or 'auto')")
    if kind == "compiled":
        support.require()
    elif kind == "numpy" or X is None or not sparse_pays(X):
        return DenseKernel(net, batch_size, one_hot_targets=Y is not None and bool(np.all(Y.sum(axis=1) == 1)))
    return SparseKernel(net, batch_size)


def forward_rowwise(net: Network, X: Any) -> np.ndarray:
    """``net.forward(X, rowwise=True)``, a^(L) of shape (m, n_L) with each row computed from its row of X alone,
    bit for bit; with numba its products a^(l-1) W^(l) run compiled (``_loops.rowwise_product``), several times
    faster than the NumPy row loop and the same numbers."""
    X = net._X(X)
    compiled = support.loops()
    if compiled is None:
        return net._forward(X, rowwise=True)[1][net.L]
    return net._forward(X, rowwise=True, product=compiled.rowwise_product)[1][net.L]


def sample_loop(net: Network, opt: Any, batch_size: int, w: np.ndarray | None, kind: str) -> SampleLoop | None:
    """The compiled per-sample loop when it applies: batch_size 1, plain SGD (``opt.rule == "sgd"``, no momentum
    or weight decay), no sample weights, known layers, numba; else None (the caller asks ``make_kernel``)."""
    plain = getattr(opt, "rule", None) == "sgd" and not opt.momentum and not opt.weight_decay
    if kind not in ("auto", "compiled") or batch_size != 1 or w is not None or not plain:
        return None
    return SampleLoop(net) if sample_loop_supports(net) else None


_CONTROLLER: Any = None


def blas_limit(kernel: BatchKernel | None) -> Any:
    """A context that keeps BLAS to one thread when the kernel's products are all small.

    Several BLAS threads do not speed up small products, and on a busy machine their waiting
    for each other can make each product many times slower. Needs threadpoolctl (the ``cli``
    extra); without it, or for large products, the context changes nothing.
    """
    global _CONTROLLER
    if kernel is None or not kernel.small_products():
        return contextlib.nullcontext()
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
        except ImportError:
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas") if _CONTROLLER else contextlib.nullcontext()
