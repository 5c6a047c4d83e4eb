r"""The NumPy fast path: the reference kernel's formulas computed in place, in reused arrays.

``DenseKernel`` computes the layers of the support table (``engine.support``): the same formulas
as ``Network``, through the in-place helpers of ``engine._inplace``, in chunks of at most CHUNK
rows, with 1/m folded into delta^(L) so that the lower deltas come out already weighted. Tests
check it against the reference (``BatchKernel``) and autograd.
"""

from __future__ import annotations

import numpy as np

from ..activations import ReLU, Sigmoid, Softmax
from ..costs import Quadratic, batch_scale, output_cost
from ..network import Network
from . import support
from ._inplace import Buffers, inplace_affine, inplace_hidden, inplace_hidden_delta, inplace_output, sigmoid_slope
from .reference import CHUNK, BatchKernel, count_correct


class DenseKernel(BatchKernel):
    r"""The NumPy fast path: the reference's formulas computed in place, in chunks of at most CHUNK rows.

    Forward: z^(l) = a^(l-1) W^(l) + b^(l) into a reused array, then a^(l) = g_l(z^(l)) over it.
    Backward: delta^(L) = coef * (a^(L) - y) (times a(1 - a) for sigmoid + quadratic; a^(L) sum_j y_j
    - y for softmax + cross_entropy, as ``costs.output_delta``), where coef is 1/m or w_i / sum w, so
    that dW^(l) = a^(l-1)T delta^(l) and db^(l) = sum_i delta_i^(l) need no further scaling;
    delta^(l) = (delta^(l+1) W^(l+1)T) * g_l'(z^(l)).

    Parameters
    ----------
    net : Network
    batch_size : int
        The most rows a batch has.
    one_hot_targets : bool, keyword-only
        The caller's promise that every target row it passes sums to exactly 1 (one-hot rows, say;
        ``engine.make_kernel`` decides it once from the training targets). Softmax's delta^(L)
        a^(L) sum_j y_j - y is then a^(L) - y, bit for bit (a * 1 = a), without the row sums.
    """

    name = "numpy"

    @staticmethod
    def supports(net: Network) -> bool:
        """True for the layers this kernel computes itself (``support.supports``)."""
        return support.supports(net)

    def __init__(self, net: Network, batch_size: int, *, one_hot_targets: bool = False) -> None:
        super().__init__(net, batch_size)
        self.buf = Buffers(net, min(batch_size, CHUNK))
        self.part = [np.empty_like(W) for W in net.weights] if batch_size > CHUNK else None  # a chunk's dW^(l)
        self.unit_rows = one_hot_targets

    def gradients(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None,
                  masks: dict[int, np.ndarray] | None = None) -> tuple[float, int]:
        if masks:
            return super().gradients(X, Y, w, masks)
        m = X.shape[0]
        scale = batch_scale(m, w)  # coef_i = w_i * scale (w_i = 1 without weights)
        cost_sum, correct = 0.0, 0
        for s in range(0, m, CHUNK):
            rows = slice(s, s + CHUNK)
            c, k = self._chunk(X[rows], Y[rows], None if w is None else w[rows], scale, s > 0)
            cost_sum += c
            correct += k
        return cost_sum, correct

    def _chunk(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None, scale: float,
               accumulate: bool) -> tuple[float, int]:
        """The gradients of k <= CHUNK rows, into dW, db (added to them when accumulate)."""
        net, buf, L, k = self.net, self.buf, self.net.L, X.shape[0]
        a_prev = X
        for l in range(1, L + 1):  # forward: a^(l) into buf.a[l], z^(L) into buf.zL
            hidden = l < L
            relu = hidden and type(net.g[l]) is ReLU
            z = inplace_affine(a_prev, net.weights[l - 1], net.biases[l - 1],
                               buf.a[l][:k] if hidden else buf.zL[:k], relu)  # (k, n_l)
            a_prev = inplace_hidden(net.g[l], z) if hidden and not relu else z
        cost_sum, correct, delta = self._head(a_prev, Y, w, scale)
        for l in range(L, 0, -1):  # backward: dW^(l), db^(l), then delta^(l-1)
            a_prev = X if l == 1 else buf.a[l - 1][:k]
            if accumulate:
                assert self.part is not None
                self.dW[l - 1] += np.matmul(a_prev.T, delta, out=self.part[l - 1])
                self.db[l - 1] += delta.sum(axis=0)
            else:
                np.matmul(a_prev.T, delta, out=self.dW[l - 1])  # (n_{l-1}, n_l)
                np.sum(delta, axis=0, out=self.db[l - 1])
            if l > 1:
                grad = np.matmul(delta, net.weights[l - 1].T, out=buf.delta[l - 1][:k])  # dc/da^(l-1)
                delta = inplace_hidden_delta(net.g[l - 1], a_prev, grad, buf.mask[l - 1], buf.tmp[l - 1])
        return cost_sum, correct

    def _head(self, zL: np.ndarray, Y: np.ndarray, w: np.ndarray | None,
              scale: float) -> tuple[float, int, np.ndarray]:
        """a^(L) into buf.a[L]; (sum of c or of w_i c_i, number correct, delta^(L) = coef * dc/dz^(L))."""
        net, L, k = self.net, self.net.L, Y.shape[0]
        aL = inplace_output(net.g[L], zL, self.buf.a[L][:k])
        delta = np.subtract(aL, Y, out=self.buf.delta[L][:k])  # a^(L) - y, (k, n_L)
        if type(net.c) is Quadratic:
            c = 0.5 * np.einsum("ij,ij->i", delta, delta)  # (k,), as costs.output_cost
        else:
            c = output_cost(net.g[L], net.c, zL, aL, Y)
        correct = count_correct(aL, Y)
        if type(net.g[L]) is Sigmoid and type(net.c) is Quadratic:
            delta *= sigmoid_slope(aL, self.buf.tmp[L][:k])  # (a - y) a (1 - a)
        elif type(net.g[L]) is Softmax and not self.unit_rows:  # a^(L) sum_j y_j - y (see costs.output_delta)
            np.subtract(np.multiply(aL, Y.sum(axis=1, keepdims=True), out=delta), Y, out=delta)
        if w is None:
            delta *= aL.dtype.type(scale)
            return float(c.sum()), correct, delta
        delta *= (w * scale).astype(aL.dtype)[:, None]
        return float(np.dot(w, c)), correct, delta
