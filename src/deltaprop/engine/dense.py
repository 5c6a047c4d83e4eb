r"""The NumPy fast path: the reference kernel's formulas computed in place, in reused arrays.

``DenseKernel`` computes the layers of the support table (``engine.support``): the same formulas
as ``Network``, in preallocated arrays, in chunks of at most CHUNK rows, with 1/m folded into
delta^(L) so that the lower deltas come out already weighted. Tests check it against the
reference (``BatchKernel``) and autograd.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..activations import ReLU, Sigmoid, Softmax, Tanh
from ..costs import Quadratic, batch_scale, output_cost
from ..network import Network
from . import support
from .reference import CHUNK, BatchKernel, count_correct


class DenseKernel(BatchKernel):
    r"""The NumPy fast path: the reference's formulas computed in place, in chunks of at most CHUNK rows.

    Forward: z^(l) = a^(l-1) W^(l) + b^(l) into a reused array, then a^(l) = g_l(z^(l)) over it (a
    hidden layer's backward needs only a^(l): g'(z) is 1[a > 0], a(1 - a) or 1 - a^2).
    Backward: delta^(L) = coef * (a^(L) - y) (times a(1 - a) for sigmoid + quadratic; a^(L) sum_j y_j
    - y for softmax + cross_entropy, as ``costs.output_delta``), where coef is 1/m or w_i / sum w, so
    that dW^(l) = a^(l-1)T delta^(l) and db^(l) = sum_i delta_i^(l) need no further scaling;
    delta^(l) = (delta^(l+1) W^(l+1)T) * g_l'(z^(l)).
    """

    name = "numpy"
    _unit_targets: np.ndarray | None = None  # targets noted to have rows summing to exactly 1
    _unit = False  # the current batch's targets are rows of _unit_targets

    @staticmethod
    def supports(net: Network) -> bool:
        """True for the layers this kernel computes itself (``support.supports``)."""
        return support.supports(net)

    def __init__(self, net: Network, batch_size: int) -> None:
        super().__init__(net, batch_size)
        n, dt, L = net.sizes, net.dtype, net.L
        rows = min(batch_size, CHUNK)
        self.a = {l: np.empty((rows, n[l]), dt) for l in range(1, L + 1)}  # z^(l), then a^(l) in place
        self.zL = np.empty((rows, n[L]), dt)  # z^(L): the cost is computed from the logits
        self.delta = {l: np.empty((rows, n[l]), dt) for l in range(1, L + 1)}
        self.tmp = {l: np.empty((rows, n[l]), dt) for l in range(1, L + 1)}
        self.mask = {l: np.empty((rows, n[l]), bool) for l in range(1, L)}
        self.part = [np.empty_like(W) for W in net.weights] if batch_size > CHUNK else None

    def note_targets(self, Y: np.ndarray) -> None:
        """Keep Y if every row sums to exactly 1 (one-hot rows): softmax's a^(L) sum_j y_j - y is then
        a^(L) - y, and ``batch`` of Y skips the row sums. O(m n_L), once per epoch, not per batch."""
        unit = type(self.net.g[self.net.L]) is Softmax and bool(np.all(Y.sum(axis=1) == 1))
        self._unit_targets = Y if unit else None

    def batch(self, X: np.ndarray, Y: np.ndarray, idx: np.ndarray, w: np.ndarray | None = None,
              masks: dict[int, np.ndarray] | None = None) -> tuple[float, int]:
        self._unit = Y is self._unit_targets
        try:
            return super().batch(X, Y, idx, w, masks)
        finally:
            self._unit = False  # a direct call of gradients computes the row sums

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

    def _logits(self, X: Any, k: int, last: int = 0) -> np.ndarray:
        """z^(L) (k, n_L) of k <= CHUNK rows, in zL[:k]; a[l][:k] holds a^(l) for the hidden layers l.

        With ``last`` = l < L: stop after layer l and return a^(l).
        """
        net, L = self.net, self.net.L
        a_prev = X
        for l in range(1, (last or L) + 1):
            hidden = l < L
            relu = hidden and type(net.g[l]) is ReLU
            z = self._affine(l, a_prev, self.a[l][:k] if hidden else self.zL[:k], relu)  # (k, n_l)
            a_prev = self._hidden(net.g[l], z) if hidden and not relu else z
        return a_prev

    def _affine(self, l: int, a_prev: np.ndarray, out: np.ndarray, relu: bool) -> np.ndarray:
        """z^(l) = a^(l-1) W^(l) + b^(l) into out, or max(z^(l), 0) when relu."""
        z = np.matmul(a_prev, self.net.weights[l - 1], out=out)
        z += self.net.biases[l - 1]
        return np.maximum(z, 0, out=z) if relu else z

    def _weight_gradient(self, l: int, a_prev: np.ndarray, delta: np.ndarray, out: np.ndarray) -> np.ndarray:
        """a^(l-1)T delta^(l) into out, (n_{l-1}, n_l)."""
        return np.matmul(a_prev.T, delta, out=out)

    def _chunk(self, X: Any, Y: np.ndarray, w: np.ndarray | None, scale: float,
               accumulate: bool) -> tuple[float, int]:
        cost_sum, correct, delta = self._head(self._logits(X, Y.shape[0]), Y, w, scale)
        self._backward(self.net.L, X, delta, accumulate)
        return cost_sum, correct

    def _backward(self, top: int, X: Any, delta: np.ndarray, accumulate: bool, db_top: bool = True) -> None:
        """dW^(l), db^(l) for l = top..1 (added to dW, db when accumulate), from delta^(top) (k, n_top);
        db^(top) only when db_top."""
        k = delta.shape[0]
        for l in range(top, 0, -1):
            a_prev = X if l == 1 else self.a[l - 1][:k]
            if accumulate:
                assert self.part is not None
                self.dW[l - 1] += self._weight_gradient(l, a_prev, delta, self.part[l - 1])
                self.db[l - 1] += delta.sum(axis=0)
            else:
                self._weight_gradient(l, a_prev, delta, self.dW[l - 1])
                if l < top or db_top:
                    np.sum(delta, axis=0, out=self.db[l - 1])
            if l > 1:
                delta = self._backprop(l, delta, a_prev)

    def _backprop(self, l: int, delta: np.ndarray, a_prev: np.ndarray) -> np.ndarray:
        """delta^(l-1) = (delta^(l) W^(l)T) * g_{l-1}'(z^(l-1)) (k, n_{l-1}) into self.delta[l - 1]."""
        k = delta.shape[0]
        grad = np.matmul(delta, self.net.weights[l - 1].T, out=self.delta[l - 1][:k])  # dc/da^(l-1)
        return self._hidden_backward(self.net.g[l - 1], a_prev, grad, l - 1)

    def _head(self, zL: np.ndarray, Y: np.ndarray, w: np.ndarray | None,
              scale: float) -> tuple[float, int, np.ndarray]:
        """a^(L) into a[L]; (sum of c or of w_i c_i, number correct, delta^(L) = coef * dc/dz^(L))."""
        net, L, k = self.net, self.net.L, Y.shape[0]
        aL = self._output(zL, self.a[L][:k])
        delta = np.subtract(aL, Y, out=self.delta[L][:k])  # a^(L) - y, (k, n_L)
        c = self._cost(zL, aL, Y, delta)  # (k,)
        correct = count_correct(aL, Y)
        if type(net.g[L]) is Sigmoid and type(net.c) is Quadratic:
            delta *= self._sigmoid_slope(aL, self.tmp[L][:k])  # (a - y) a (1 - a)
        elif type(net.g[L]) is Softmax and not self._unit:  # a^(L) sum_j y_j - y (see costs.output_delta)
            np.subtract(np.multiply(aL, Y.sum(axis=1, keepdims=True), out=delta), Y, out=delta)
        if w is None:
            delta *= aL.dtype.type(scale)
            return float(c.sum()), correct, delta
        delta *= (w * scale).astype(aL.dtype)[:, None]
        return float(np.dot(w, c)), correct, delta

    # ----- the layers, in place ------------------------------------------------------------------
    @staticmethod
    def _hidden(g: Any, z: np.ndarray) -> np.ndarray:
        """a = g(z) written over z."""
        kind = type(g)
        if kind is ReLU:
            return np.maximum(z, 0, out=z)
        if kind is Sigmoid:
            return _sigmoid_inplace(z)
        if kind is Tanh:
            return np.tanh(z, out=z)
        return z  # identity

    def _hidden_backward(self, g: Any, a: np.ndarray, grad: np.ndarray, l: int) -> np.ndarray:
        """delta^(l) = grad * g'(z^(l)) written over grad, with g' from a^(l)."""
        kind, k = type(g), a.shape[0]
        if kind is ReLU:
            return np.multiply(grad, np.greater(a, 0, out=self.mask[l][:k]), out=grad)  # 1[z > 0]
        if kind is Sigmoid:
            return np.multiply(grad, self._sigmoid_slope(a, self.tmp[l][:k]), out=grad)
        if kind is Tanh:
            slope = np.multiply(a, a, out=self.tmp[l][:k])
            return np.multiply(grad, np.subtract(1, slope, out=slope), out=grad)  # 1 - a^2
        return grad

    @staticmethod
    def _sigmoid_slope(a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """a (1 - a), the sigmoid's g'(z) from a = g(z)."""
        return np.multiply(np.subtract(1, a, out=out), a, out=out)

    def _output(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        kind = type(self.net.g[self.net.L])
        if kind is Softmax:
            np.subtract(z, z.max(axis=1, keepdims=True), out=a)  # shift by the row maximum: no overflow
            np.exp(a, out=a)
            a /= a.sum(axis=1, keepdims=True)
            return a
        if kind is Sigmoid:
            np.copyto(a, z)
            return _sigmoid_inplace(a)
        np.copyto(a, z)  # identity
        return a

    def _cost(self, z: np.ndarray, a: np.ndarray, Y: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """c per row (k,), as ``costs.output_cost`` computes it; residual is a - y."""
        if type(self.net.c) is Quadratic:
            return 0.5 * np.einsum("ij,ij->i", residual, residual)
        return output_cost(self.net.g[self.net.L], self.net.c, z, a, Y)


def _sigmoid_inplace(z: np.ndarray) -> np.ndarray:
    r"""sigma(z) = (1 + tanh(z/2)) / 2 written over z: no overflow for any z, one transcendental."""
    np.multiply(z, 0.5, out=z)
    np.tanh(z, out=z)
    np.multiply(z, 0.5, out=z)
    return np.add(z, 0.5, out=z)
