r"""The reference kernel: the gradients of one mini-batch by ``Network``'s own forward and backward pass.

A kernel owns ``dW`` and ``db`` (lists shaped like the parameters). ``kernel.batch(X, Y, idx, w,
masks)`` fills them with dC/dW^(l) and dC/db^(l) of the rows ``idx`` and returns the batch's summed
cost and number of correct predictions; ``finite``, ``update`` and ``close`` are the rest of the
interface ``train`` uses (see ``deltaprop.engine``). Inputs are trusted: ``train`` validated them.
``BatchKernel`` computes every activation, cost, dropout mask and sample weight; the fast kernels
(``dense``, ``sparse``) are tested against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..costs import output_cost
from ..network import Network, classes

CHUNK = 1024  # rows per pass of the fast kernels: bounds their buffers for full-batch training
SMALL_PRODUCT = 1 << 22  # multiply-adds below which one BLAS thread is as fast as several, and safer


class DivergenceError(RuntimeError):
    """The cost or a gradient became NaN or Inf; the network holds the last good weights."""


class BatchKernel:
    """The reference kernel, with gradient buffers for mini-batches of at most ``batch_size`` rows."""

    name = "reference"
    first_blas_layer = 1  # the layers from this one on are left to BLAS

    def __init__(self, net: Network, batch_size: int) -> None:
        self.net = net
        self.batch_size = batch_size
        self.dW = [np.zeros_like(W) for W in net.weights]
        self.db = [np.zeros_like(b) for b in net.biases]
        self._buffers: dict[str, np.ndarray] = {}  # gather buffers, allocated on first use

    def close(self) -> None:
        """Release what the kernel holds besides arrays (a helper thread, say); nothing here."""

    def update(self, opt: Any, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """The optimiser's step: ``opt.step(params, grads)`` (a fast kernel may apply the same rule compiled)."""
        opt.step(params, grads)

    def finite(self, cost_sum: float) -> bool:
        """Whether the last batch's cost and every gradient entry are finite."""
        return all_finite(self.dW + self.db, cost_sum)

    def small_products(self) -> bool:
        """True when every matrix product left to BLAS has fewer than SMALL_PRODUCT multiply-adds."""
        n, rows = self.net.sizes, min(self.batch_size, CHUNK)
        return all(rows * n[l - 1] * n[l] < SMALL_PRODUCT for l in range(self.first_blas_layer, self.net.L + 1))

    def batch(self, X: np.ndarray, Y: np.ndarray, idx: np.ndarray, w: np.ndarray | None = None,
              masks: dict[int, np.ndarray] | None = None) -> tuple[float, int]:
        """``gradients`` of the rows ``idx`` of X (m, n_0), Y (m, n_L) and w (m,).

        The rows are copied into reused buffers; a batch of all m rows is read in place.
        """
        if len(idx) == X.shape[0]:
            return self.gradients(X, Y, w, masks)
        return self.gradients(self._gather("X", X, idx), self._gather("Y", Y, idx),
                              None if w is None else w[idx], masks)

    def _gather(self, key: str, A: np.ndarray, idx: np.ndarray) -> np.ndarray:
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.empty((min(self.batch_size, A.shape[0]), A.shape[1]), A.dtype)
        return np.take(A, idx, axis=0, out=buf[:len(idx)])  # (k, n) rows of A

    def gradients(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None,
                  masks: dict[int, np.ndarray] | None = None) -> tuple[float, int]:
        r"""Fill dW, db with dC/dW^(l), dC/db^(l) of the batch X (m, n_0), Y (m, n_L).

        Returns (sum of c over the batch, or sum of w_i c_i, and the number of rows whose
        argmax output matches the argmax target), both taken before the update.
        """
        net, L = self.net, self.net.L
        z, a, h = net._forward(X, masks)
        _, dW, db = net._backward(z, a, h, Y, w, masks)
        for l in range(1, L + 1):
            self.dW[l - 1][...] = dW[l]
            self.db[l - 1][...] = db[l]
        c = output_cost(net.g[L], net.c, z[L], a[L], Y)
        cost_sum = float(c.sum() if w is None else np.dot(w, c))
        return cost_sum, count_correct(a[L], Y)



def count_correct(aL: np.ndarray, Y: np.ndarray) -> int:
    """Rows whose predicted class matches the target's, both by ``network.classes`` (argmax, or >= 1/2)."""
    return int(np.count_nonzero(classes(aL) == classes(Y)))


def all_finite(arrays: list[np.ndarray], *more: Any) -> bool:
    """True when every entry of every array (and every extra float) is finite.

    NaN propagates to an array's min and max and an infinity shows in one of them, so the two
    reductions decide it without a temporary array (and, unlike a sum, without overflowing).
    """
    return all(np.isfinite(x.min()) and np.isfinite(x.max()) for x in arrays) and all(np.isfinite(v) for v in more)
