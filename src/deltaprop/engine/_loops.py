r"""The loops that the engine compiles with numba (this module imports numba; import it lazily).

Layers are numbered as in the notes: Ws[l - 1] is W^(l) of shape (n_{l-1}, n_l), bs[l - 1] is b^(l).
Per sample, a^(l) lives in A[off[l]:off[l + 1]] and delta^(l) in D[off[l]:off[l + 1]] (a^(0) = x
is read from X). Hidden activations are coded ACT (identity 0, relu 1, sigmoid 2, tanh 3) and the
output layer with its cost OUT (softmax + cross_entropy 0, sigmoid + binary_cross_entropy 1,
identity + quadratic 2, sigmoid + quadratic 3). Results differ from NumPy's by rounding alone (the
order of the sums), and SGD's update (``sgd_update``) not even by that.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba.core import cgutils, types
from numba.extending import intrinsic

# No fast-math at all: every operation is rounded as written (no FMA contraction), the same on
# every CPU. numba compiles a function called from another one with the caller's flags, so one
# setting for the whole module also keeps each function's rounding the same wherever it is called.
jit = numba.njit(cache=True, nogil=True)


# ----- the SGD family's update in one pass (engine.sparse hands it to optim.SGD.step as apply=)
@jit
def sgd_update(W, g, v, eta, mu, nesterov):  # pragma: no cover - compiled
    """SGD's rule in place, rounded exactly as its NumPy ufuncs round (see optim.SGD._update).

    mu = 0: W <- W - eta g. Otherwise v <- mu v - eta g, then W <- W + v (heavy ball) or
    W <- (W - eta g) + mu v (Nesterov). eta and mu have W's dtype; v is unused when mu = 0.
    """
    sgd_update_part(W, g, v, eta, mu, nesterov, 0, W.size)


@jit
def sgd_update_part(W, g, v, eta, mu, nesterov, lo, hi):  # pragma: no cover - compiled
    """``sgd_update`` on the entries lo..hi of the flattened arrays."""
    W, g, v = W.reshape(W.size)[lo:hi], g.reshape(g.size)[lo:hi], v.reshape(v.size)[lo:hi]
    if mu == 0:
        for k in range(W.shape[0]):
            W[k] = W[k] - g[k] * eta
    elif nesterov:
        for k in range(W.shape[0]):
            s = g[k] * eta
            v[k] = v[k] * mu - s
            W[k] = (W[k] - s) + v[k] * mu
    else:
        for k in range(W.shape[0]):
            v[k] = v[k] * mu - g[k] * eta
            W[k] = W[k] + v[k]


@intrinsic
def _prefetch(typingctx, arr, i, j):  # pragma: no cover - compiled
    """Ask the CPU to start loading the cache line of arr[i, j] (a hint: no effect on results)."""
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1], args[2]])
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])  # read, keep, data cache
        return context.get_dummy_value()
    return types.void(arr, i, j), codegen


# ----- mini-batch: the first layer over the nonzero inputs only ----------------------------------
# Each function works on a range of rows (i0..i1) or of columns (j0..j1), so that two threads can
# share a batch; every number is computed in the same order whichever thread computes it.
@jit
def sparse_forward(X, idx, cols, vals, cnt, W, b, z, relu, i0, i1):  # pragma: no cover - compiled
    """For batch rows i in i0..i1 (x = X[idx[i]]): list the nonzero x_j in cols[i, :cnt[i]] and
    vals[i, :cnt[i]], then z_i = b + sum over them of x_j W[j, :], and max(z_i, 0) when relu."""
    n, n0 = W.shape[1], X.shape[1]
    for i in range(i0, i1):
        if i + 2 < i1:  # the rows of X come from anywhere in memory: load two rows ahead
            for j in range(0, n0, 64 // X.itemsize):
                _prefetch(X, idx[i + 2], j)
        x, c = X[idx[i]], 0
        for j in range(x.shape[0]):
            cols[i, c] = j  # written always, kept only when x_j != 0: no branch to mispredict
            vals[i, c] = x[j]
            c += x[j] != 0
        cnt[i] = c
        zi = z[i]
        for k in range(n):  # k counts from 0: numba then needs no negative-index check, and vectorises
            zi[k] = b[k]
        t = 0
        while t + 4 <= c:  # four inputs per pass over z_i: a quarter of its loads and stores
            x0, x1, x2, x3 = vals[i, t], vals[i, t + 1], vals[i, t + 2], vals[i, t + 3]
            w0, w1, w2, w3 = W[cols[i, t]], W[cols[i, t + 1]], W[cols[i, t + 2]], W[cols[i, t + 3]]
            for k in range(n):
                zi[k] += x0 * w0[k] + x1 * w1[k] + x2 * w2[k] + x3 * w3[k]
            t += 4
        while t < c:
            x0, w0 = vals[i, t], W[cols[i, t]]
            for k in range(n):
                zi[k] += x0 * w0[k]
            t += 1
        if relu:
            for k in range(n):
                if zi[k] < 0:  # noqa: PLR1730 - max(z, 0) without a round trip through float64; NaN stays
                    zi[k] = 0


@jit
def group_by_column(cols, vals, cnt, ptr, rows, xs):  # pragma: no cover - compiled
    """The nonzeros listed by row regrouped by column: rows[ptr[j]:ptr[j + 1]] are the batch rows
    i with x_ij != 0, in increasing i, and xs[ptr[j]:ptr[j + 1]] their values."""
    n0 = ptr.shape[0] - 1
    ptr[:] = 0
    for i in range(cnt.shape[0]):
        for t in range(cnt[i]):
            ptr[cols[i, t] + 1] += 1
    for j in range(n0):
        ptr[j + 1] += ptr[j]
    for i in range(cnt.shape[0]):  # ptr[j] walks up to ptr[j + 1] here and is shifted back below
        for t in range(cnt[i]):
            j = cols[i, t]
            rows[ptr[j]] = i
            xs[ptr[j]] = vals[i, t]
            ptr[j] += 1
    for j in range(n0, 0, -1):
        ptr[j] = ptr[j - 1]
    ptr[0] = 0


@jit
def column_gradient(ptr, rows, xs, delta, dW, chk, j0, j1):  # pragma: no cover - compiled
    """dW[j, :] = sum_i x_ij delta[i, :] for j in j0..j1, four rows i at a time (0 where no x_ij != 0).

    chk (n,) gets dW[j, :] * 0 added for each row j with nonzeros: it stays 0 while they are
    finite and turns NaN where one is not, a finiteness check without a reduction.
    """
    n = dW.shape[1]
    for j in range(j0, j1):
        row = dW[j]
        for k in range(n):
            row[k] = 0
        e, end = ptr[j], ptr[j + 1]
        while e + 4 <= end:
            d0, d1, d2, d3 = delta[rows[e]], delta[rows[e + 1]], delta[rows[e + 2]], delta[rows[e + 3]]
            x0, x1, x2, x3 = xs[e], xs[e + 1], xs[e + 2], xs[e + 3]
            for k in range(n):
                row[k] += x0 * d0[k] + x1 * d1[k] + x2 * d2[k] + x3 * d3[k]
            e += 4
        while e < end:
            d0, x0 = delta[rows[e]], xs[e]
            for k in range(n):
                row[k] += x0 * d0[k]
            e += 1
        if end > ptr[j]:
            for k in range(n):
                chk[k] += row[k] * 0


@jit
def output_rows(z, Y, w, scale, a, delta, out):  # pragma: no cover - compiled
    """For each row i: a_i^(L) and delta_i^(L) = coef_i dc/dz_i^(L) with coef_i = scale (w_i if w.size).

    Returns (sum of c_i, or of w_i c_i; number of rows whose prediction matches y_i).
    """
    cost_sum, correct = 0.0, 0
    for i in range(z.shape[0]):
        c = _output(z[i], Y[i], a[i], delta[i], out)
        weight = w[i] if w.shape[0] else 1.0
        cost_sum += weight * c
        correct += _correct(a[i], Y[i])
        coef = scale * weight
        for k in range(delta.shape[1]):
            delta[i, k] *= coef
    return cost_sum, correct


# ----- per-sample SGD ------------------------------------------------------------------------
@jit
def _hidden(v, act):  # pragma: no cover - compiled
    if act == 1:
        return max(v, 0)
    if act == 2:
        return 1 / (1 + math.exp(-v))
    if act == 3:
        return math.tanh(v)
    return v


@jit
def _slope(a, act):  # pragma: no cover - compiled
    """g'(z) from a = g(z)."""
    if act == 1:
        return 1 if a > 0 else 0
    if act == 2:
        return a * (1 - a)
    if act == 3:
        return 1 - a * a
    return 1


@jit
def _output(z, y, a, delta, out):  # pragma: no cover - compiled
    """a^(L), delta^(L) = dc/dz^(L) and the sample's cost c from z^(L) (see costs.output_delta/cost)."""
    n = z.shape[0]
    c = 0.0
    if out == 0:  # softmax + cross_entropy: delta = a sum_j y_j - y, c = sum_j y_j (lse - z_j)
        zmax = z[0]
        total = y[0]  # sum_j y_j: 1 for one-hot rows, within 1e-3 of 1 for accepted soft targets
        for k in range(1, n):
            zmax = max(zmax, z[k])
            total += y[k]
        s = 0.0
        for k in range(n):
            a[k] = math.exp(z[k] - zmax)
            s += a[k]
        lse = zmax + math.log(s)
        for k in range(n):
            a[k] /= s
            delta[k] = a[k] * total - y[k]
            c += y[k] * (lse - z[k])
        return c
    for k in range(n):
        a[k] = z[k] if out == 2 else _hidden(z[k], 2)  # the sigmoid of _hidden
        delta[k] = a[k] - y[k]
        if out == 1:  # binary cross-entropy from the logits: softplus(z) - y z
            c += max(z[k], 0) + math.log1p(math.exp(-abs(z[k]))) - y[k] * z[k]
        else:
            c += 0.5 * delta[k] * delta[k]
            if out == 3:
                delta[k] *= a[k] * (1 - a[k])
    return c


@jit
def _correct(a, y):  # pragma: no cover - compiled
    """1 when the classes of a and y agree, as ``network.classes`` gives them (tested against it)."""
    if a.shape[0] == 1:
        return 1 if (a[0] >= 0.5) == (y[0] >= 0.5) else 0
    return 1 if np.argmax(a) == np.argmax(y) else 0


@jit
def sgd_run(X, Y, order, Ws, bs, acts, out, eta, off, A, D, zL, cols, vals):  # pragma: no cover
    """Per-sample SGD on the rows order[0], order[1], ... of X, Y; weights updated in place.

    Returns (sum of c, number correct, steps done): fewer steps than len(order) when a cost or
    delta^(L) was not finite, in which case that step's update was not applied.
    """
    L = len(Ws)
    eta = X.dtype.type(eta)
    cost_sum, correct = 0.0, 0
    for s in range(order.shape[0]):
        x, y = X[order[s]], Y[order[s]]
        nnz = 0  # a^(0) = x by its nonzero entries
        for j in range(x.shape[0]):
            cols[nnz] = j
            vals[nnz] = x[j]
            nnz += x[j] != 0
        for l in range(1, L + 1):  # forward: z^(l) = a^(l-1) W^(l) + b^(l), skipping a_j^(l-1) = 0
            W, z = Ws[l - 1], A[off[l]:off[l + 1]] if l < L else zL
            z[:] = bs[l - 1]
            if l == 1:
                for t in range(nnz):
                    w, v = W[cols[t]], vals[t]
                    for k in range(z.shape[0]):
                        z[k] += v * w[k]
            else:
                a_prev = A[off[l - 1]:off[l]]
                for j in range(a_prev.shape[0]):
                    if a_prev[j] != 0:
                        w, v = W[j], a_prev[j]
                        for k in range(z.shape[0]):
                            z[k] += v * w[k]
            if l < L:
                for k in range(z.shape[0]):
                    z[k] = _hidden(z[k], acts[l - 1])  # a^(l) over z^(l)
        aL, dL = A[off[L]:off[L + 1]], D[off[L]:off[L + 1]]
        c = _output(zL, y, aL, dL, out)
        finite = math.isfinite(c)
        for k in range(dL.shape[0]):
            finite = finite and math.isfinite(dL[k])
        if not finite:
            return cost_sum, correct, s
        cost_sum += c
        correct += _correct(aL, y)
        for l in range(L, 0, -1):  # backward, then W^(l) <- W^(l) - eta a^(l-1)T delta^(l)
            W, d = Ws[l - 1], D[off[l]:off[l + 1]]
            if l > 1:  # delta^(l-1) = (W^(l) delta^(l)) * g'(z^(l-1)), from the old W^(l)
                a_prev, d_prev = A[off[l - 1]:off[l]], D[off[l - 1]:off[l]]
                for j in range(a_prev.shape[0]):
                    slope = _slope(a_prev[j], acts[l - 2])
                    g = 0.0
                    if slope != 0:
                        for k in range(d.shape[0]):
                            g += W[j, k] * d[k]
                    d_prev[j] = g * slope
                for j in range(a_prev.shape[0]):
                    if a_prev[j] != 0:
                        w, v = W[j], eta * a_prev[j]
                        for k in range(d.shape[0]):
                            w[k] -= v * d[k]
            else:
                for t in range(nnz):
                    w, v = W[cols[t]], eta * vals[t]
                    for k in range(d.shape[0]):
                        w[k] -= v * d[k]
            b = bs[l - 1]
            for k in range(d.shape[0]):
                b[k] -= eta * d[k]
    return cost_sum, correct, order.shape[0]


# ----- the estimators' predict path: a^(l-1) W^(l) with every row summed in one fixed order -------------
ROWWISE_BLOCK = 16  # rows whose outputs stay in the L1 cache while each row W[j] of W is used for all of them


@jit
def rowwise_product(A, W):  # pragma: no cover - compiled
    """A W (m, n_l) for A (m, n_{l-1}): out[i, k] = (...(A[i,0] W[0,k] + A[i,1] W[1,k]) + ...) + A[i,n-1] W[n-1,k],
    each product and sum rounded as written: ``network._rowwise_product``'s numbers, bit for bit (tested)."""
    m, n, p = A.shape[0], A.shape[1], W.shape[1]
    out = np.empty((m, p), A.dtype)
    for s in range(0, m, ROWWISE_BLOCK):
        e = min(s + ROWWISE_BLOCK, m)
        for i in range(s, e):
            x = A[i, 0]
            for k in range(p):
                out[i, k] = x * W[0, k]
        for j in range(1, n):
            for i in range(s, e):
                x = A[i, j]
                for k in range(p):
                    out[i, k] += x * W[j, k]
    return out


@jit
def ready():  # pragma: no cover - compiled
    """Nothing: its first call (from ``support.warm_up``) makes numba prepare its code generator, once per process."""
    return 1
