r"""The training step's inner kernels: the gradients of one mini-batch, into reused buffers.

A kernel owns ``dW`` and ``db`` (lists shaped like the parameters). ``kernel.batch(X, Y, idx, w,
masks)`` fills them with dC/dW^(l) and dC/db^(l) of the rows ``idx`` and returns the batch's summed
cost and number of correct predictions. Inputs are trusted: ``train`` validated them.

- ``BatchKernel`` is the reference: ``Network._forward`` and ``_backward`` on the gathered rows,
  for every activation, cost, dropout mask and sample weight.
- ``DenseKernel`` is the NumPy fast path for the common layers (identity, relu, sigmoid, tanh hidden
  layers; softmax + cross_entropy, sigmoid + binary_cross_entropy, identity or sigmoid + quadratic
  outputs): the same formulas, computed in place in preallocated arrays, with 1/m folded into
  delta^(L) so that the lower deltas come out already weighted.
- ``deltaprop.sparse`` adds a compiled first layer that skips the zero inputs exactly.

``make_kernel`` picks the fastest kernel that supports the network; tests check that every kernel
gives the reference's gradients.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .activations import Identity, ReLU, Sigmoid, Softmax, Tanh
from .costs import BinaryCrossEntropy, CrossEntropy, Quadratic, batch_scale, output_cost
from .network import Network

CHUNK = 1024  # rows per pass of DenseKernel: bounds its buffers for full-batch training
SMALL_PRODUCT = 1 << 22  # multiply-adds below which one BLAS thread is as fast as several, and safer
HIDDEN = (Identity, ReLU, Sigmoid, Tanh)  # hidden activations of the fast paths (exact types)
OUTPUTS = ((Softmax, CrossEntropy), (Sigmoid, BinaryCrossEntropy), (Identity, Quadratic), (Sigmoid, Quadratic))


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
        """Release what the kernel holds besides arrays (``SparseKernel``'s helper thread)."""

    def update(self, opt: Any, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """The optimiser's step: ``opt.step(params, grads)`` (``SparseKernel`` shares it between threads)."""
        opt.step(params, grads)

    def finite(self, cost_sum: float) -> bool:
        """Whether the last batch's cost and every gradient entry are finite."""
        return all_finite(self.dW + self.db, cost_sum)

    def note_targets(self, Y: np.ndarray) -> None:
        """Called with the targets Y (m, n_L) before their epoch's batches (see ``DenseKernel``)."""

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
        """True for the layers this kernel computes itself (exact types: subclasses may differ)."""
        L = net.L
        return (all(type(net.g[l]) in HIDDEN for l in range(1, L))
                and (type(net.g[L]), type(net.c)) in OUTPUTS)

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


KERNELS = ("auto", "reference", "numpy", "compiled")


def check_kernel(kind: Any) -> str:
    """``kind`` if it names a kernel (see ``make_kernel``); ValueError listing the names otherwise."""
    if not isinstance(kind, str) or kind not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kind!r}")
    return kind


def make_kernel(net: Network, batch_size: int, X: np.ndarray | None = None, *, kind: str = "auto",
                dropout: bool = False) -> BatchKernel:
    """The kernel ``kind`` for ``net``: "reference", "numpy", "compiled" (``deltaprop.sparse``) or "auto".

    "auto" takes the compiled kernel when numba is installed and X is mostly zeros, else the
    NumPy fast path, and the reference for dropout or for layers the fast paths do not know.
    Asking for "numpy" or "compiled" where they do not apply raises ValueError (RuntimeError for
    "compiled" without numba).
    """
    check_kernel(kind)
    applies = not dropout and DenseKernel.supports(net)
    if kind == "reference" or (kind == "auto" and not applies):
        return BatchKernel(net, batch_size)
    if not applies:
        raise ValueError(f"kernel {kind!r} computes {'/'.join(h.name for h in HIDDEN)} hidden layers with "
                         "softmax + cross_entropy, sigmoid + binary_cross_entropy or identity/sigmoid + quadratic "
                         "outputs and no dropout; this network needs kernel='reference' (or 'auto')")
    if kind == "numpy":
        return DenseKernel(net, batch_size)
    from . import fast
    from .sparse import SparseKernel, sparse_pays

    if kind == "compiled":
        fast.require()
    elif X is None or not sparse_pays(X):
        return DenseKernel(net, batch_size)
    return SparseKernel(net, batch_size)


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


def count_correct(aL: np.ndarray, Y: np.ndarray) -> int:
    """Rows whose prediction matches the target: argmax for n_L > 1, a >= 1/2 vs y >= 1/2 for n_L = 1."""
    if aL.shape[1] == 1:
        return int(np.count_nonzero((aL[:, 0] >= 0.5) == (Y[:, 0] >= 0.5)))
    return int(np.count_nonzero(aL.argmax(axis=1) == Y.argmax(axis=1)))


def all_finite(arrays: list[np.ndarray], *more: Any) -> bool:
    """True when every entry of every array (and every extra float) is finite.

    NaN propagates to an array's min and max and an infinity shows in one of them, so the two
    reductions decide it without a temporary array (and, unlike a sum, without overflowing).
    """
    return all(np.isfinite(x.min()) and np.isfinite(x.max()) for x in arrays) and all(np.isfinite(v) for v in more)
