r"""Compiled training loops (numba, from the optional extra ``fast``) that skip exact zeros.

Two places lose most of their time in NumPy: the first layer of an image network, whose inputs are
mostly 0 (about 81 % of MNIST's pixels), and per-sample SGD, where every step is a few small
vector operations. Both are written as loops here (in ``deltaprop._fastloops``) and compiled by
numba on first use:

- ``SparseKernel``, the mini-batch kernel that ``train`` picks for mostly-zero inputs. Its first
  layer computes z_i^(1) = b^(1) + sum over x_ij != 0 of x_ij W^(1)[j, :] and
  dW^(1)[j, :] = sum_i x_ij delta_i^(1) over the nonzero x_ij only: the terms it skips are exactly
  0. The batch's rows are read from X through their indices, never copied.
- ``sgd_steps(net, X, Y, steps, eta, rng)``: seed 002's rule W^(l) <- W^(l) - eta a^(l-1)T delta^(l),
  b^(l) <- b^(l) - eta delta^(l), one drawn sample per step. ``train(..., batch_size=1)`` with
  plain SGD runs the same loop (``SampleLoop``). Rows j with a_j^(l-1) = 0 (zero pixels, inactive
  ReLUs) are skipped in the forward pass and in the update, where their change is exactly 0.

numba is imported only when one of these runs. Without it ``available()`` is False, ``train``
keeps to NumPy, and ``sgd_steps`` takes the same steps through NumPy (much slower, same rule).

Examples
--------
>>> from deltaprop import Network
>>> from deltaprop.datasets import higham_points
>>> X, Y = higham_points()
>>> net = Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64", seed=1, init=0.5)
>>> before = net.cost(X, Y)
>>> mean_cost = sgd_steps(net, X, Y, 20_000, 0.05, np.random.default_rng(0))
>>> bool(net.cost(X, Y) < before)
True
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .activations import Identity, ReLU, Sigmoid, Softmax, Tanh
from .costs import BinaryCrossEntropy, CrossEntropy, Quadratic
from .kernels import CHUNK, BatchKernel, DenseKernel, all_finite
from .network import Network
from .optim import SGD, Momentum, Nesterov

SPARSE_FRACTION = 0.5  # the compiled first layer pays when at least this share of the inputs is 0
PAIR_ROWS, PAIR_ENTRIES = 32, 1 << 14  # smaller chunks and weights are not worth sharing between two threads
PAIR_PRODUCT = 1 << 20  # multiply-adds of a product above the first layer worth sharing
HIDDEN_CODES = {Identity: 0, ReLU: 1, Sigmoid: 2, Tanh: 3}
OUTPUT_CODES = {(Softmax, CrossEntropy): 0, (Sigmoid, BinaryCrossEntropy): 1, (Identity, Quadratic): 2,
                (Sigmoid, Quadratic): 3}
_LOOPS: Any = None


def available() -> bool:
    """True when numba is installed (the loops are compiled on their first call, then cached on disk)."""
    return _loops() is not None


def _loops() -> Any:
    global _LOOPS
    if _LOOPS is None:
        try:
            from . import _fastloops
        except ImportError:  # numba is not installed
            _LOOPS = False
        else:
            _LOOPS = _fastloops
    return _LOOPS or None


def require() -> None:
    """RuntimeError unless numba is installed."""
    if not available():
        raise RuntimeError("the compiled kernels need numba: pip install 'deltaprop[fast]'")


def sparse_pays(X: np.ndarray) -> bool:
    """Whether ``SparseKernel`` pays on X: numba installed and at least half of X's entries 0.

    The share of zeros is estimated on at most 1,000 evenly spaced rows; numba is imported only
    when they are mostly zeros.
    """
    rows = X[:: max(1, X.shape[0] // 1000)]
    return bool(np.count_nonzero(rows) <= (1 - SPARSE_FRACTION) * rows.size) and available()


class SparseKernel(DenseKernel):
    """``DenseKernel`` whose first layer is compiled and skips the zero inputs (see the module notes).

    On a machine with two cores or more, a helper thread (``_helper``) shares the work: the rows
    of the batch for z^(1), the rows of dW^(1) (half of the nonzeros each), the rows of the larger
    products above the first layer (``_uploops``, BLAS kept to one thread per thread) and half of
    each large weight matrix in the SGD update. The result does not depend on how the work is shared.
    """

    name = "compiled"
    first_blas_layer = 2

    def __init__(self, net: Network, batch_size: int) -> None:
        super().__init__(net, batch_size)
        self.loops = _loops()
        rows, n_0 = min(batch_size, CHUNK), net.sizes[0]
        self.cols = np.empty((rows, n_0), np.int32)  # row i's nonzero inputs: columns cols[i, :cnt[i]]
        self.vals = np.empty((rows, n_0), net.dtype)  # and values vals[i, :cnt[i]]
        self.cnt = np.empty(rows, np.int64)
        self.ptr = np.empty(n_0 + 1, np.int64)  # the same nonzeros grouped by column (group_by_column)
        self.rows = np.empty(rows * n_0, np.int32)
        self.xs = np.empty(rows * n_0, net.dtype)
        self.idx = np.empty(rows, np.int64)  # the chunk's row indices, where the helper thread reads them
        self._grouping = False  # the helper was asked to regroup the nonzeros by column
        self._grouped = False  # and has done so
        self.rates = np.zeros(2, net.dtype)  # eta and mu of the SGD update, for the helper
        self.check = np.zeros((2, net.sizes[1]), net.dtype)  # NaN where dW^(1) is not finite (column_gradient)
        self._update_arrays: tuple[tuple[np.ndarray, ...], ...] = (tuple(self.dW), tuple(self.dW))  # (g, v)
        self._bound: tuple[Any, ...] = ()  # what the helper works on now
        self.pair: Any = None
        self.upper = np.zeros(net.L + 1, bool)  # upper[l]: layer l >= 2 shares its products
        if (os.cpu_count() or 1) > 1 and rows >= PAIR_ROWS:
            from ._helper import Helper

            self.pair = Helper()
            if _one_blas_thread_possible():
                n = net.sizes
                self.upper[2:] = [rows * n[l - 1] * n[l] >= PAIR_PRODUCT for l in range(2, net.L + 1)]
        # A small last layer runs as one compiled call (top_layer), with its gradients' check.
        self.fuse_top = net.L > 1 and not self.upper[net.L] and batch_size <= CHUNK and _one_blas_thread_possible()
        self._top_ok = True
        self._src: tuple[np.ndarray, np.ndarray] = (np.empty((0, n_0), net.dtype), self.cnt)
        self.out = OUTPUT_CODES[(type(net.g[net.L]), type(net.c))]
        self._no_weights = np.empty(0, net.dtype)

    def close(self) -> None:
        if self.pair is not None:
            self.pair.close()
            self._bound = ()

    def small_products(self) -> bool:
        # Layers that share their products run BLAS in both threads: one BLAS thread each.
        return bool(self.upper.any()) or super().small_products()

    def batch(self, X: np.ndarray, Y: np.ndarray, idx: np.ndarray, w: np.ndarray | None = None,
              masks: dict[int, np.ndarray] | None = None) -> tuple[float, int]:
        if masks:
            return BatchKernel.batch(self, X, Y, idx, w, masks)
        if len(idx) == X.shape[0]:  # all rows, in place, as BatchKernel reads them
            return self._rows(X, np.arange(X.shape[0]), Y, w)
        return self._rows(X, idx, self._gather("Y", Y, idx), None if w is None else w[idx])

    def gradients(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None,
                  masks: dict[int, np.ndarray] | None = None) -> tuple[float, int]:
        if masks:
            return BatchKernel.gradients(self, X, Y, w, masks)
        return self._rows(X, np.arange(X.shape[0]), Y, w)

    def _rows(self, X: np.ndarray, idx: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> tuple[float, int]:
        """The gradients of rows idx of X (Y and w already gathered), in chunks of CHUNK rows."""
        m = len(idx)
        scale = 1.0 / (m if w is None else float(w.sum()))
        cost_sum, correct = 0.0, 0
        for s in range(0, m, CHUNK):
            rows = slice(s, s + CHUNK)
            self._src = (X, idx[rows])  # read by the first layer, instead of a gathered batch
            c, n = self._chunk(None, Y[rows], None if w is None else w[rows], scale, s > 0)
            cost_sum += c
            correct += n
        return cost_sum, correct

    def finite(self, cost_sum: float) -> bool:
        # dW^(1) was checked as it was computed (column_gradient), dW^(L) and db^(L) by top_layer
        # when it ran; one chunk only: no partial sums
        if self.batch_size > CHUNK:
            return super().finite(cost_sum)
        L = self.net.L
        rest = self.dW[1:L - 1] + self.db[:L - 2] if self.fuse_top else self.dW[1:] + self.db
        return self._top_ok and not np.isnan(self.check).any() and all_finite(rest, cost_sum)

    def _chunk(self, X: Any, Y: np.ndarray, w: np.ndarray | None, scale: float,
               accumulate: bool) -> tuple[float, int]:
        if not self.fuse_top:
            return super()._chunk(X, Y, w, scale, accumulate)
        net, L, k = self.net, self.net.L, Y.shape[0]
        self._logits(X, k, last=L - 1)  # a^(L-1) into a[L - 1][:k]
        c, correct, self._top_ok = _UP.top_layer(
            self.a[L - 1], net.weights[L - 1], net.biases[L - 1], self.zL, self.a[L], Y,
            self._no_weights if w is None else w, scale, self.out, self.delta[L], self.dW[L - 1], self.db[L - 1],
            self.delta[L - 1], HIDDEN_CODES[type(net.g[L - 1])], self.db[L - 2])
        self._backward(L - 1, X, self.delta[L - 1][:k], accumulate, db_top=False)
        return c, correct

    def _head(self, zL: np.ndarray, Y: np.ndarray, w: np.ndarray | None,
              scale: float) -> tuple[float, int, np.ndarray]:
        k, L = Y.shape[0], self.net.L
        delta = self.delta[L][:k]
        c, correct = self.loops.output_rows(zL, Y, self._no_weights if w is None else w, scale, self.a[L][:k],
                                            delta, self.out)
        return c, correct, delta

    def _bind(self, X: np.ndarray) -> None:
        """Give the helper thread the arrays of this X and of the network (restarted only when they change)."""
        net = self.net
        if self.pair is None or (self._bound and X is self._bound[0] and self._update_arrays is self._bound[-2]
                                 and _same(net.weights, self._bound[-4]) and _same(net.biases, self._bound[-3])):
            return  # the kernel's own buffers never change; X, the parameters and the update's arrays may
        L = net.L
        outputs = tuple(self.a[l] for l in range(1, L)) + (self.zL,)
        deltas = tuple(self.delta[l] for l in range(1, L + 1))
        arrays = (X, self.idx, self.cols, self.vals, self.cnt, self.ptr, self.rows, self.xs, self.check,
                  tuple(net.weights), tuple(net.biases), outputs, deltas, tuple(self.dW),
                  tuple(self.dW) if self.part is None else tuple(self.part), *self._update_arrays, self.rates)
        self._settle()  # a restarted helper forgets its command
        self.pair.bind(arrays)
        self._bound = (X, tuple(net.weights), tuple(net.biases), self._update_arrays, self.rates)

    def _shares(self, k: int) -> bool:
        """Whether the first layer's loops of a k-row chunk are worth sharing with the helper."""
        return self.pair is not None and k >= PAIR_ROWS

    def update(self, opt: Any, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """``opt.step(params, grads)``; for the SGD family, large weight matrices are updated by two threads."""
        L = self.net.L
        if (self.pair is None or type(opt) not in (SGD, Momentum, Nesterov)
                or not all(a.flags.c_contiguous for a in (*params, *grads))):
            opt.step(params, grads)
            return
        g = opt.begin_step(params, grads)
        dt, mu, loops = params[0].dtype.type, opt.momentum, self.loops
        self.rates[:] = opt.eta, mu
        v = opt.velocity if mu else params
        shared = [p.size >= PAIR_ENTRIES for p in params[:L]] + [False] * L
        for P, gP, vP, share in zip(params, g, v, shared):
            if not share:
                loops.sgd_update(P, gP, vP, dt(opt.eta), dt(mu), opt.nesterov)
        if not (_same(g[:L], self._update_arrays[0]) and _same(v[:L], self._update_arrays[1])):
            self._update_arrays = (tuple(g[:L]), tuple(v[:L]))  # the helper restarts once, on the first step
        self._bind(self._src[0])
        self._settle()
        for l in range(1, L + 1):
            if not shared[l - 1]:
                continue
            W, gW, vW = params[l - 1], g[l - 1], v[l - 1]

            def entries(lo: int, hi: int, W: np.ndarray = W, gW: np.ndarray = gW, vW: np.ndarray = vW) -> None:
                loops.sgd_update_part(W, gW, vW, self.rates[0], self.rates[1], opt.nesterov, lo, hi)

            self.pair.run(f"update{l}", entries, self.pair.UPDATE, 0, W.size // 2, W.size, int(opt.nesterov), 0, l)

    def _affine(self, l: int, a_prev: Any, out: np.ndarray, relu: bool) -> np.ndarray:
        k = out.shape[0]
        if l > 1:
            if not self.upper[l]:
                return super()._affine(l, a_prev, out, relu)
            A, W, b, Z = self.a[l - 1], self.net.weights[l - 1], self.net.biases[l - 1], self._output_of(l)
            self._bind(self._src[0])
            self._halves(f"affine{l}", lambda i0, i1: _UP.affine_rows(A, W, b, Z, relu, i0, i1),
                         self.pair.AFFINE, k, int(relu), k, l)
            return out
        X, idx = self._src
        W, b, loops = self.net.weights[0], self.net.biases[0], self.loops
        self.idx[:k] = idx

        def rows(i0: int, i1: int) -> None:
            loops.sparse_forward(X, self.idx, self.cols, self.vals, self.cnt, W, b, out, relu, i0, i1)

        self._grouping = self._grouped = False
        if not self._shares(k):
            rows(0, k)
            return out
        self._bind(X)
        self.pair.run("forward", rows, self.pair.FORWARD, 0, k // 2, k, int(relu), k)
        # The helper regroups the nonzeros by column (for dW^(1)) while this thread goes on.
        self._grouping = self.pair.start(self.pair.GROUP, k)
        return out

    def _output_of(self, l: int) -> np.ndarray:
        """The full buffer that holds layer l's output (a^(l), or z^(L))."""
        return self.a[l] if l < self.net.L else self.zL

    def _halves(self, site: str, block: Any, cmd: int, n: int, flag: int, rows: int, l: int) -> None:
        """block(0, n // 2) and block(n // 2, n): one here and one in the helper, or both here.

        The two blocks are the same calls whichever thread makes them, so the numbers are too.
        """
        middle = n // 2
        self._settle()

        def mine(i0: int, i1: int) -> None:
            if i0 < middle < i1:
                block(i0, middle)
                block(middle, i1)
            else:
                block(i0, i1)

        self.pair.run(site, mine, cmd, 0, middle, n, flag, rows, l)

    def _settle(self) -> None:
        """Before another command to the helper: its regrouping of the nonzeros, posted by the first
        layer's forward pass, is taken back (to be done here later) or waited for."""
        if self._grouping:
            self._grouping = False
            if not self.pair.take_back(self.pair.GROUP):
                self.pair.finish()
                self._grouped = True

    def _backprop(self, l: int, delta: np.ndarray, a_prev: np.ndarray) -> np.ndarray:
        if not self.upper[l]:
            return super()._backprop(l, delta, a_prev)
        k = delta.shape[0]
        D, W, A, G = self.delta[l], self.net.weights[l - 1], self.a[l - 1], self.delta[l - 1]
        act = HIDDEN_CODES[type(self.net.g[l - 1])]
        self._halves(f"backprop{l}", lambda i0, i1: _UP.backprop_rows(D, W, A, G, act, i0, i1),
                     self.pair.BACKPROP, k, act, k, l)
        return G[:k]

    def _weight_gradient(self, l: int, a_prev: Any, delta: np.ndarray, out: np.ndarray) -> np.ndarray:
        k = delta.shape[0]
        if l > 1:
            if not self.upper[l]:
                return super()._weight_gradient(l, a_prev, delta, out)
            A, D = self.a[l - 1], self.delta[l]
            self._halves(f"weights{l}", lambda j0, j1: _UP.gradient_rows(A, D, out, k, j0, j1),
                         self.pair.WEIGHTS, out.shape[0], int(out is not self.dW[l - 1]), k, l)
            return out
        ptr, loops, pair = self.ptr, self.loops, self.pair
        if self._grouping and not pair.take_back(pair.GROUP):
            pair.finish()
        elif not self._grouped:
            loops.group_by_column(self.cols[:k], self.vals[:k], self.cnt[:k], ptr, self.rows, self.xs)
        self._grouping = self._grouped = False
        self.check.fill(0)  # row 0 for the rows of dW^(1) done here, row 1 for the helper's

        def columns(j0: int, j1: int) -> None:
            loops.column_gradient(ptr, self.rows, self.xs, self.delta[1], out, self.check[0], j0, j1)

        n_0 = len(ptr) - 1
        if not self._shares(k):
            columns(0, n_0)
        else:
            middle = int(np.searchsorted(ptr, ptr[-1] // 2))  # half of the nonzeros on each side
            self.pair.run("gradient", columns, self.pair.GRADIENT, 0, middle, n_0, int(out is not self.dW[0]), k)
        return out


def _same(a: Any, b: Any) -> bool:
    """a and b hold the same arrays (sequences compared item by item, arrays by identity)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


_UP: Any = None
_ONE_BLAS: bool | None = None


def _one_blas_thread_possible() -> bool:
    """Whether both threads can run BLAS products with one BLAS thread each (numba's BLAS is SciPy's,
    loaded here so that ``kernels.blas_limit`` limits it too, and threadpoolctl is installed)."""
    global _UP, _ONE_BLAS
    if _ONE_BLAS is None:
        try:
            import scipy.linalg.cython_blas  # noqa: F401  # type: ignore[import-untyped]
            import threadpoolctl  # noqa: F401  # type: ignore[import-untyped]

            from . import _uploops
        except ImportError:
            _ONE_BLAS = False
        else:
            _UP, _ONE_BLAS = _uploops, True
    return _ONE_BLAS


def sample_loop_supports(net: Network) -> bool:
    """True when the compiled per-sample loop knows every layer of ``net`` (and numba is installed)."""
    L = net.L
    return (not any(net.dropout) and all(type(net.g[l]) in HIDDEN_CODES for l in range(1, L))
            and (type(net.g[L]), type(net.c)) in OUTPUT_CODES and available())


class SampleLoop:
    """Per-sample plain SGD on ``net``'s live arrays, compiled; ``run`` takes the steps of an index list."""

    def __init__(self, net: Network) -> None:
        n, L, dt = net.sizes, net.L, net.dtype
        self.net, self.loops = net, _loops()
        self.Ws, self.bs = tuple(net.weights), tuple(net.biases)
        self.acts = np.array([HIDDEN_CODES[type(net.g[l])] for l in range(1, L)], np.int64)
        self.out = OUTPUT_CODES[(type(net.g[L]), type(net.c))]
        self.off = np.concatenate([[0, 0], np.cumsum(n[1:])]).astype(np.int64)  # a^(l) is A[off[l]:off[l+1]]
        self.A = np.empty(self.off[-1], dt)
        self.D = np.empty(self.off[-1], dt)
        self.zL = np.empty(n[L], dt)
        self.cols = np.empty(n[0], np.int32)
        self.vals = np.empty(n[0], dt)

    def run(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, eta: float) -> tuple[float, int, int]:
        """Steps on rows order[0], order[1], ...; returns (sum of c, number correct, steps done).

        Fewer steps than len(order) are done when a cost or delta^(L) is not finite; the weights
        then hold the update of the last finite step.
        """
        c, k, done = self.loops.sgd_run(X, Y, order, self.Ws, self.bs, self.acts, self.out,
                                        self.net.dtype.type(eta), self.off, self.A, self.D, self.zL,
                                        self.cols, self.vals)
        return float(c), int(k), int(done)


def sgd_steps(net: Network, X: Any, Y: Any, steps: int, eta: float, rng: Any = None, *,
              replacement: bool = True) -> float:
    r"""Take ``steps`` single-sample SGD steps on ``net`` in place; return the mean cost c of the steps.

    Each step draws a row x of X (with replacement by default, as Higham & Higham do; shuffled
    passes with ``replacement=False``) and applies W^(l) <- W^(l) - eta a^(l-1)T delta^(l),
    b^(l) <- b^(l) - eta delta^(l) for l = 1..L, all from the weights before the step.

    Parameters
    ----------
    net : Network
    X : array of shape (m, n_0)
    Y : array of shape (m, n_L), or class labels of shape (m,) for classifiers
    steps : int
        The number of steps, >= 1.
    eta : float
        The learning rate, > 0.
    rng : numpy.random.Generator, int or None
        Draws the rows (an int seeds a new generator).
    replacement : bool, keyword-only

    Returns
    -------
    float
        The mean over the steps of c(x), each taken before its step's update.

    Raises
    ------
    deltaprop.DivergenceError
        When a cost, delta^(L) or weight becomes NaN or Inf; ``net`` then holds its weights
        before the call.
    """
    from .train import DivergenceError

    if not isinstance(net, Network):
        raise TypeError(f"net must be a deltaprop.Network, got {type(net).__name__}")
    Xv = net._X(X)
    Yv = net._Y(Y, Xv.shape[0])
    steps = _checks_positive_int(steps, "steps")
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.floating)) or not 0 < eta < float("inf"):
        raise ValueError(f"eta must be a positive finite number, got {eta!r}")
    if not isinstance(replacement, bool):
        raise TypeError(f"replacement must be True or False, got {replacement!r}")
    if rng is None or isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        rng = np.random.default_rng(rng)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")
    m = Xv.shape[0]
    if replacement:
        order = rng.integers(0, m, steps)
    else:
        order = np.concatenate([rng.permutation(m) for _ in range(-(-steps // m))])[:steps]
    params = net.weights + net.biases
    start = [p.copy() for p in params]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked below instead
        if sample_loop_supports(net):
            c, _, done = SampleLoop(net).run(Xv, Yv, order, float(eta))
        else:
            c, done = _numpy_steps(net, Xv, Yv, order, float(eta))
    if done < steps or not all_finite(params):
        for p, keep in zip(params, start):
            p[...] = keep
        where = f"at step {done + 1}" if done < steps else "in its last steps (a weight overflowed)"
        raise DivergenceError(f"sgd_steps diverged {where}: the cost, delta^(L) or a weight became NaN or Inf "
                              f"(likely cause: eta = {eta:g} too high); the weights before the call were restored")
    return c / steps


def _numpy_steps(net: Network, X: np.ndarray, Y: np.ndarray, order: np.ndarray, eta: float) -> tuple[float, int]:
    """The same steps through NumPy (any activation and cost): returns (sum of c, steps done)."""
    kernel = DenseKernel(net, 1) if DenseKernel.supports(net) else BatchKernel(net, 1)
    params, grads = net.weights + net.biases, kernel.dW + kernel.db
    eta_t = net.dtype.type(eta)
    total = 0.0
    for s, r in enumerate(order):
        c, _ = kernel.gradients(X[r:r + 1], Y[r:r + 1])
        if not (np.isfinite(c) and all(np.isfinite(g).all() for g in grads)):
            return total, s
        total += c
        for p, g in zip(params, grads):
            p -= eta_t * g
    return total, len(order)


def _checks_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)
