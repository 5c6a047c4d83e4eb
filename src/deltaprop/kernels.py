r"""The training step's inner kernel: gradients of one mini-batch into reused buffers.

``BatchKernel(net, batch_size)`` owns the buffers; ``kernel.gradients(X, Y, w, masks)``
fills ``kernel.dW`` and ``kernel.db`` (lists shaped like the parameters) and returns the batch's
summed cost and number of correct predictions. Inputs are trusted: ``train`` validated them.
The plain path below is the reference that ``Network.gradients`` is tested against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .costs import output_cost
from .network import Network


class BatchKernel:
    """Reusable gradient buffers for mini-batches of at most ``batch_size`` rows."""

    def __init__(self, net: Network, batch_size: int) -> None:
        self.net = net
        self.batch_size = batch_size
        self.dW = [np.zeros_like(W) for W in net.weights]
        self.db = [np.zeros_like(b) for b in net.biases]

    def gradients(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None,
                  masks: dict[int, np.ndarray] | None = None) -> tuple[float, int]:
        r"""Fill dW, db with dC/dW^(l), dC/db^(l) of the batch X (m, n_0), Y (m, n_L).

        Returns (sum of c over the batch, or sum of w_i c_i, and the number of rows whose
        argmax output matches the argmax target), both taken before the update.
        """
        net, L = self.net, self.net.L
        z, a, h = net._forward(X, masks)
        delta, dW, db = net._backward(z, a, h, Y, w, masks)
        for l in range(1, L + 1):
            self.dW[l - 1][...] = dW[l]
            self.db[l - 1][...] = db[l]
        c = output_cost(net.g[L], net.c, z[L], a[L], Y)
        cost_sum = float(c.sum() if w is None else np.dot(w, c))
        return cost_sum, count_correct(a[L], Y)


def count_correct(aL: np.ndarray, Y: np.ndarray) -> int:
    """Rows whose prediction matches the target: argmax for n_L > 1, a >= 1/2 vs y >= 1/2 for n_L = 1."""
    if aL.shape[1] == 1:
        return int(np.count_nonzero((aL[:, 0] >= 0.5) == (Y[:, 0] >= 0.5)))
    return int(np.count_nonzero(aL.argmax(axis=1) == Y.argmax(axis=1)))


def all_finite(arrays: list[np.ndarray], *more: Any) -> bool:
    """True when every array (and every extra float) is finite; one cheap sum per array."""
    return all(np.isfinite(np.sum(x)) for x in arrays) and all(np.isfinite(v) for v in more)
