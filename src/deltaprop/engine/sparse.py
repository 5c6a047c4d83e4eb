r"""The mini-batch kernel for mostly-zero inputs (MNIST's pixels are about 81 % zeros), compiled by numba.

``SparseKernel`` computes ``DenseKernel``'s formulas with a compiled first layer that computes
z_i^(1) = b^(1) + sum over x_ij != 0 of x_ij W^(1)[j, :] and dW^(1)[j, :] = sum_i x_ij delta_i^(1)
over the nonzero x_ij only: the terms it skips are exactly 0. It has its own forward and backward
passes, built from the in-place helpers (``_inplace``) for the layers it leaves to NumPy. The
batch's rows are read from X through their indices, never copied. A small last layer runs as one
compiled call (``_uploops.top_layer``). On two cores or more a helper thread (``_helper``) takes
half of each large loop: the rows of z^(1), half of the nonzeros of dW^(1), for the larger layers
above the first (``_uploops``, BLAS at one thread in each thread) half the rows of z^(l), and all
of dW^(l) while this thread computes delta^(l-1); and half of each large weight matrix in the SGD
update. ``train`` picks this kernel by itself (``engine.make_kernel``); the helper is stopped when
training ends.
"""

from __future__ import annotations

import operator
import os
from typing import Any

import numpy as np

from ..activations import ReLU
from ..costs import batch_scale
from ..network import Network
from . import support
from ._inplace import Buffers, inplace_affine, inplace_hidden, inplace_hidden_delta
from .reference import CHUNK, BatchKernel, all_finite

SPARSE_FRACTION = 0.5  # the compiled first layer pays when at least this share of the inputs is 0
PAIR_ROWS, PAIR_ENTRIES = 32, 1 << 14  # smaller chunks and weights are not worth sharing between two threads
PAIR_PRODUCT = 1 << 20  # multiply-adds of a product above the first layer worth sharing


def sparse_pays(X: np.ndarray) -> bool:
    """Whether ``SparseKernel`` pays on X: numba installed and at least half of X's entries 0.

    The share of zeros is estimated on about 256 evenly spaced rows; numba is imported only
    when they are mostly zeros.
    """
    rows = X[:: max(1, X.shape[0] // 256)]
    return bool(np.count_nonzero(rows) <= (1 - SPARSE_FRACTION) * rows.size) and support.available()


class SparseKernel(BatchKernel):
    """The mini-batch kernel whose first layer is compiled and skips the zero inputs (see the module notes).

    Its own forward and backward passes: layer 1 compiled (``_loops``), the layers above the first
    shared with the helper when their products are large (``_uploops``), else in place through
    NumPy (``_inplace``, as ``DenseKernel``), and a small last layer in one compiled call. On a
    machine with two cores or more, a helper thread (``_helper``) shares the work: the rows of the
    batch for z^(1), the rows of dW^(1) (half of the nonzeros each), for the larger layers above the
    first half the rows of z^(l) and all of dW^(l) beside delta^(l-1), and half of each large
    weight matrix in the SGD update. The result does not depend on how the work is shared.
    """

    name = "compiled"
    first_blas_layer = 2

    def __init__(self, net: Network, batch_size: int) -> None:
        super().__init__(net, batch_size)
        self.loops = support.loops()
        rows, n_0, L = min(batch_size, CHUNK), net.sizes[0], net.L
        self.buf = Buffers(net, rows)
        self.parts = [np.empty_like(W) for W in net.weights] if batch_size > CHUNK else None  # a chunk's dW^(l)
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
        # NaN where a gradient computed in parts is not finite: dW^(1) (column_gradient) and the shared
        # dW^(l) of the layers above (weight_gradient); row 0 for this thread's part, row 1 for the helper's
        self.check = np.zeros((2, max(net.sizes[1:])), net.dtype)
        self._update_arrays: tuple[tuple[np.ndarray, ...], ...] = (tuple(self.dW), tuple(self.dW))  # (g, v)
        self._bound: Any = None  # what the helper works on now (an _helper.Arrays)
        self._contiguous: Any = None  # the params list last seen C-contiguous (update)
        self.pair: Any = None
        self.upper = np.zeros(L + 1, bool)  # upper[l]: layer l >= 2 shares its products
        if support.helper_supported() and (os.cpu_count() or 1) > 1 and rows >= PAIR_ROWS:
            from ._helper import Helper

            self.pair = Helper()
            if _one_blas_thread_possible():
                n = net.sizes
                self.upper[2:] = [rows * n[l - 1] * n[l] >= PAIR_PRODUCT for l in range(2, L + 1)]
        # A small last layer runs as one compiled call (top_layer), with its gradients' check.
        self.fuse_top = L > 1 and not self.upper[L] and batch_size <= CHUNK and _one_blas_thread_possible()
        self._top_ok = True
        last = L - 1 if self.fuse_top else L  # top_layer checks dW^(L), db^(L) and db^(L-1)
        # the gradients that finite() checks itself: the rest are checked as they are computed (check)
        self._rest = ([self.dW[l - 1] for l in range(2, last + 1) if not self.upper[l]]
                      + (self.db[:L - 2] if self.fuse_top else list(self.db)))
        self._src: tuple[np.ndarray, np.ndarray] = (np.empty((0, n_0), net.dtype), self.cnt)
        self.out = support.output_code(net)
        self._no_weights = np.empty(0, net.dtype)

    def close(self) -> None:
        if self.pair is not None:
            self.pair.close()
            self._bound = None

    def small_products(self) -> bool:
        # Layers that share their products run BLAS in both threads: one BLAS thread each.
        return bool(self.upper.any()) or super().small_products()

    def batch(self, X: np.ndarray, Y: np.ndarray, idx: np.ndarray, w: np.ndarray | None = None,
              masks: dict[int, np.ndarray] | None = None) -> tuple[float, int]:
        if masks:
            return super().batch(X, Y, idx, w, masks)
        if len(idx) == X.shape[0]:  # all rows, in place, as BatchKernel reads them
            return self._rows(X, np.arange(X.shape[0]), Y, w)
        return self._rows(X, idx, self._gather("Y", Y, idx), None if w is None else w[idx])

    def gradients(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None,
                  masks: dict[int, np.ndarray] | None = None) -> tuple[float, int]:
        if masks:
            return super().gradients(X, Y, w, masks)
        return self._rows(X, np.arange(X.shape[0]), Y, w)

    def _rows(self, X: np.ndarray, idx: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> tuple[float, int]:
        """The gradients of rows idx of X (Y and w already gathered), in chunks of CHUNK rows."""
        m = len(idx)
        scale = batch_scale(m, w)
        cost_sum, correct = 0.0, 0
        self.check.fill(0)
        for s in range(0, m, CHUNK):
            rows = slice(s, s + CHUNK)
            self._src = (X, idx[rows])  # read by the first layer, instead of a gathered batch
            c, n = self._chunk(Y[rows], None if w is None else w[rows], scale, s > 0)
            cost_sum += c
            correct += n
        return cost_sum, correct

    def finite(self, cost_sum: float) -> bool:
        # dW^(1) was checked as it was computed (column_gradient), dW^(L) and db^(L) by top_layer
        # when it ran; one chunk only: no partial sums
        if self.batch_size > CHUNK:
            return super().finite(cost_sum)
        # check holds 0 and NaN only (x * 0): its sum is NaN exactly when one entry is
        return self._top_ok and not np.isnan(self.check.sum()) and all_finite(self._rest, cost_sum)

    def _chunk(self, Y: np.ndarray, w: np.ndarray | None, scale: float, accumulate: bool) -> tuple[float, int]:
        """The gradients of the k <= CHUNK rows self._src, into dW, db (added to them when accumulate)."""
        net, buf, L, k = self.net, self.buf, self.net.L, Y.shape[0]
        weights = self._no_weights if w is None else w
        if not self.fuse_top:
            zL = self._forward(k, L)
            delta = buf.delta[L][:k]
            c, correct = self.loops.output_rows(zL, Y, weights, scale, buf.a[L][:k], delta, self.out)
            self._backward(L, delta, accumulate, top_db=True)
            return c, correct
        self._forward(k, L - 1)  # a^(L-1) into buf.a[L - 1][:k]
        c, correct, self._top_ok = _UP.top_layer(  # layer L, and delta^(L-1) with db^(L-1)
            buf.a[L - 1], net.weights[L - 1], net.biases[L - 1], buf.zL, buf.a[L], Y, weights, scale, self.out,
            buf.delta[L], self.dW[L - 1], self.db[L - 1], buf.delta[L - 1], support.hidden_code(net, L - 1),
            self.db[L - 2])
        self._backward(L - 1, buf.delta[L - 1][:k], accumulate, top_db=False)
        return c, correct

    def _forward(self, k: int, top: int) -> np.ndarray:
        """Layers 1..top of k rows: a^(l) into buf.a[l][:k] (z^(L) into buf.zL[:k]); returns layer top's."""
        net, buf, L = self.net, self.buf, self.net.L
        z = buf.zL[:k]
        for l in range(1, top + 1):
            hidden = l < L
            relu = hidden and type(net.g[l]) is ReLU
            z = buf.a[l][:k] if hidden else buf.zL[:k]  # (k, n_l)
            if l == 1:
                self._first_affine(k, z, relu)
            elif self.upper[l]:
                self._shared_affine(l, k, relu)
            else:
                inplace_affine(buf.a[l - 1][:k], net.weights[l - 1], net.biases[l - 1], z, relu)
            if hidden and not relu:
                inplace_hidden(net.g[l], z)
        return z

    def _backward(self, top: int, delta: np.ndarray, accumulate: bool, top_db: bool) -> None:
        """dW^(l), db^(l) for l = top..1 from delta^(top) (k, n_top), added to dW, db when accumulate;
        db^(top) only when top_db (top_layer computed it otherwise)."""
        net, buf, k = self.net, self.buf, delta.shape[0]
        into = self.parts if accumulate else self.dW
        assert into is not None  # parts exist whenever a batch has several chunks
        for l in range(top, 0, -1):
            out = into[l - 1]
            if l == 1:
                self._first_gradient(k, out)
            elif self.upper[l]:
                self._shared_backward(l, k, out)  # dW^(l), and delta^(l-1) into buf.delta[l - 1]
            else:
                np.matmul(buf.a[l - 1][:k].T, delta, out=out)  # (n_{l-1}, n_l)
            if accumulate:
                self.dW[l - 1] += out
                self.db[l - 1] += delta.sum(axis=0)
            elif l < top or top_db:
                np.sum(delta, axis=0, out=self.db[l - 1])
            if l > 1 and not self.upper[l]:
                grad = np.matmul(delta, net.weights[l - 1].T, out=buf.delta[l - 1][:k])  # dc/da^(l-1)
                delta = inplace_hidden_delta(net.g[l - 1], buf.a[l - 1][:k], grad, buf.mask[l - 1], buf.tmp[l - 1])
            elif l > 1:
                delta = buf.delta[l - 1][:k]

    # ----- the first layer, compiled; the layers above, shared ---------------------------------------
    def _first_affine(self, k: int, out: np.ndarray, relu: bool) -> None:
        """z^(1) of the rows self._src (k, n_1) into out, over the nonzero inputs; max(z, 0) when relu."""
        X, idx = self._src
        W, b, loops = self.net.weights[0], self.net.biases[0], self.loops
        self.idx[:k] = idx

        def rows(i0: int, i1: int) -> None:
            loops.sparse_forward(X, self.idx, self.cols, self.vals, self.cnt, W, b, out, relu, i0, i1)

        self._grouping = self._grouped = False
        if not self._shares(k):
            rows(0, k)
            return
        self._bind(X)
        self.pair.run("forward", rows, self.pair.FORWARD, 0, k // 2, k, int(relu), k)
        # The helper regroups the nonzeros by column (for dW^(1)) while this thread goes on.
        self._grouping = self.pair.start(self.pair.GROUP, k)

    def _first_gradient(self, k: int, out: np.ndarray) -> None:
        """dW^(1) = X^T delta^(1) (n_0, n_1) into out, over the nonzero inputs grouped by column."""
        ptr, loops = self.ptr, self.loops
        self._settle()
        if not self._grouped:  # the helper did not regroup the nonzeros: do it here
            loops.group_by_column(self.cols[:k], self.vals[:k], self.cnt[:k], ptr, self.rows, self.xs)
        self._grouped = False

        def columns(j0: int, j1: int) -> None:
            loops.column_gradient(ptr, self.rows, self.xs, self.buf.delta[1], out, self.check[0], j0, j1)

        n_0 = len(ptr) - 1
        if not self._shares(k):
            columns(0, n_0)
        else:
            middle = int(np.searchsorted(ptr, ptr[-1] // 2))  # half of the nonzeros on each side
            self.pair.run("gradient", columns, self.pair.GRADIENT, 0, middle, n_0, int(out is not self.dW[0]), k)

    def _shared_affine(self, l: int, k: int, relu: bool) -> None:
        """z^(l) (k, n_l) of a layer l >= 2 that shares its products, into its buffer: half the rows each."""
        buf = self.buf
        A, W, b = buf.a[l - 1], self.net.weights[l - 1], self.net.biases[l - 1]
        Z = buf.a[l] if l < self.net.L else buf.zL
        self._bind(self._src[0])
        self._halves(f"affine{l}", lambda i0, i1: _UP.affine_rows(A, W, b, Z, relu, i0, i1),
                     self.pair.AFFINE, k, int(relu), k, l)

    def _shared_backward(self, l: int, k: int, out: np.ndarray) -> None:
        """Of a layer l >= 2 that shares its products: delta^(l-1) = (delta^(l) W^(l)T) * g'(z^(l-1)) (k, n_{l-1})
        into buf.delta[l - 1] and dW^(l) = a^(l-1)T delta^(l) (n_{l-1}, n_l) into out, one in each thread."""
        buf = self.buf
        A, D, G, W = buf.a[l - 1], buf.delta[l], buf.delta[l - 1], self.net.weights[l - 1]
        act = support.hidden_code(self.net, l - 1)

        def both(i0: int, i1: int) -> None:  # part 0..1: delta^(l-1); part 1..2: dW^(l)
            if i0 == 0:
                _UP.backprop_rows(D, W, A, G, act, 0, k)
            if i1 == 2:
                _UP.weight_gradient(A, D, out, k, self.check[0])

        self._settle()
        self.pair.run(f"backward{l}", both, self.pair.BACKWARD, 0, 1, 2, int(out is not self.dW[l - 1]), k, l)

    # ----- the helper thread -------------------------------------------------------------------------
    def _bind(self, X: np.ndarray) -> None:
        """Give the helper thread the arrays of this X and of the network (again only when they change)."""
        net, b, buf = self.net, self._bound, self.buf
        if self.pair is None or (b is not None and X is b.X and self._update_arrays[0] is b.gWs
                                 and self._update_arrays[1] is b.vWs and _same(net.weights, b.Ws)
                                 and _same(net.biases, b.bs)):
            return  # the kernel's own buffers never change; X, the parameters and the update's arrays may
        L = net.L
        self._settle()  # the rebinding command would overwrite a pending regrouping
        self._bound = self.pair.bundle(
            X=X, idx=self.idx, cols=self.cols, vals=self.vals, cnt=self.cnt, ptr=self.ptr, rows=self.rows,
            xs=self.xs, check=self.check, Ws=tuple(net.weights), bs=tuple(net.biases),
            As=tuple(buf.a[l] for l in range(1, L)) + (buf.zL,), Ds=tuple(buf.delta[l] for l in range(1, L + 1)),
            dWs=tuple(self.dW), parts=tuple(self.dW) if self.parts is None else tuple(self.parts),
            gWs=self._update_arrays[0], vWs=self._update_arrays[1], rates=self.rates)
        self.pair.bind(self._bound)

    def _shares(self, k: int) -> bool:
        """Whether the first layer's loops of a k-row chunk are worth sharing with the helper."""
        return self.pair is not None and k >= PAIR_ROWS

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

    # ----- the update ----------------------------------------------------------------------------------
    def update(self, opt: Any, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """``opt.step(params, grads)``; for SGD's rule (``opt.rule == "sgd"``) in its compiled form
        (``_loops.sgd_update``, bit for bit the optimiser's), with large weight matrices updated by two threads."""
        if getattr(opt, "rule", None) != "sgd" or not (
                self._contiguous is params or all(a.flags.c_contiguous for a in (*params, *grads))):
            opt.step(params, grads)
            return
        self._contiguous = params  # the same list of arrays next time: no need to look again
        opt.step(params, grads, apply=self._sgd)

    def _sgd(self, params: list[np.ndarray], g: list[np.ndarray], v: list[np.ndarray], eta: float, mu: float,
             nesterov: bool) -> None:
        """SGD's rule on every array (``optim.SGD.step``'s ``apply``): this thread updates the small arrays
        while the helper works on its half of the last large weight matrix."""
        L, loops = self.net.L, self.loops
        dt = params[0].dtype.type
        eta_t, mu_t = dt(eta), dt(mu)
        if self.pair is None:
            for i in range(2 * L):
                loops.sgd_update(params[i], g[i], v[i], eta_t, mu_t, nesterov)
            return
        self.rates[:] = eta, mu
        if not (_same(g[:L], self._update_arrays[0]) and _same(v[:L], self._update_arrays[1])):
            self._update_arrays = (tuple(g[:L]), tuple(v[:L]))  # the helper is rebound once, on the first step
        self._bind(self._src[0])
        self._settle()  # no regrouping left pending (the gradient normally took it): a post would overwrite it
        shared = [l for l in range(1, L + 1) if params[l - 1].size >= PAIR_ENTRIES]
        small = [i for i in range(2 * L) if i + 1 not in shared]
        for l in shared:
            W, gW, vW = params[l - 1], g[l - 1], v[l - 1]
            last = l == shared[-1]

            def entries(lo: int, hi: int, W: np.ndarray = W, gW: np.ndarray = gW, vW: np.ndarray = vW,
                        last: bool = last) -> None:
                if last and small:  # while the helper does its half of the last large one
                    for i in small:
                        loops.sgd_update(params[i], g[i], v[i], eta_t, mu_t, nesterov)
                    small.clear()
                loops.sgd_update_part(W, gW, vW, eta_t, mu_t, nesterov, lo, hi)

            self.pair.run(f"update{l}", entries, self.pair.UPDATE, 0, W.size // 2, W.size, int(nesterov), 0, l)
        for i in small:  # no large array
            loops.sgd_update(params[i], g[i], v[i], eta_t, mu_t, nesterov)


def _same(a: Any, b: Any) -> bool:
    """a and b hold the same arrays (sequences compared item by item, arrays by identity)."""
    return len(a) == len(b) and all(map(operator.is_, a, b))


_UP: Any = None
_ONE_BLAS: bool | None = None


def _one_blas_thread_possible() -> bool:
    """Whether both threads can run BLAS products with one BLAS thread each (numba's BLAS is SciPy's,
    loaded here so that ``engine.blas_limit`` limits it too, and threadpoolctl is installed)."""
    global _UP, _ONE_BLAS
    if _ONE_BLAS is None:
        try:
            import scipy.linalg.cython_blas  # type: ignore[import-untyped]  # noqa: F401
            import threadpoolctl  # type: ignore[import-untyped]  # noqa: F401

            from . import _uploops
        except ImportError:
            _ONE_BLAS = False
        else:
            _UP, _ONE_BLAS = _uploops, True
    return _ONE_BLAS
