r"""The layers above the first, shared by two threads (``engine.sparse``; imports numba).

For l >= 2, a mini-batch's products are dense: z^(l) = a^(l-1) W^(l) + b^(l), the backward
product delta^(l) W^(l)T and dW^(l) = a^(l-1)T delta^(l). The functions below run them through
BLAS with one thread, so that the caller and ``_helper``'s thread can work at once:
z^(l) in two blocks of rows, one per thread; delta^(l-1) in one thread while dW^(l) is computed
in the other (two products of the same size, each packed once). A call is always the same on the
same rows, whichever thread makes it: the numbers do not depend on how the work was shared.

Layers are numbered as in the notes: As[l - 1] holds the output of layer l (a^(l), or z^(L) for
l = L), Ds[l - 1] holds delta^(l), Ws[l - 1] and bs[l - 1] are W^(l) and b^(l).

numba compiles ``_loops.output_rows`` and ``_slope`` into these functions, and its disk cache
looks only at this file's time stamp: a change to them must come with a change here, or a cached
``top_layer`` keeps the old code (last for the row sum in softmax + cross_entropy's delta^(L), then for
``_output``'s sigmoid, now ``_hidden``'s).
"""

from __future__ import annotations

import numpy as np

from ._loops import _slope, jit, output_rows


@jit
def affine_rows(A, W, b, Z, relu, i0, i1):  # pragma: no cover - compiled
    """Z[i0:i1] = A[i0:i1] W + b, then max(Z, 0) when relu: rows i0..i1 of z^(l) (or a^(l))."""
    if i1 <= i0:
        return
    np.dot(A[i0:i1], W, Z[i0:i1])
    n = Z.shape[1]
    for i in range(i0, i1):
        zi = Z[i]
        for k in range(n):
            zi[k] += b[k]
        if relu:
            for k in range(n):
                if zi[k] < 0:  # noqa: PLR1730 - max(z, 0) as NumPy rounds it; NaN stays
                    zi[k] = 0


@jit
def backprop_rows(D, W, A, G, act, i0, i1):  # pragma: no cover - compiled
    """G[i0:i1] = (D[i0:i1] W^T) * g'(z), with g' read from a = A[i0:i1] (act: 0 identity, 1 relu,
    2 sigmoid, 3 tanh): rows i0..i1 of delta^(l-1) from delta^(l) and W^(l)."""
    if i1 <= i0:
        return
    np.dot(D[i0:i1], W.T, G[i0:i1])
    if act == 0:
        return
    n = G.shape[1]
    for i in range(i0, i1):
        gi, ai = G[i], A[i]
        for k in range(n):
            gi[k] = gi[k] * _slope(ai[k], act)


@jit
def weight_gradient(A, D, dW, k, chk):  # pragma: no cover - compiled
    """dW = A[:k]^T D[:k]: dW^(l) = a^(l-1)T delta^(l) over k batch rows, in one product.

    chk (at least n_l entries) gets each row times 0 added: it stays 0 while the rows are finite and
    turns NaN where one is not (as in ``column_gradient``).
    """
    np.dot(A[:k].T, D[:k], dW)
    n = dW.shape[1]
    for j in range(dW.shape[0]):
        row = dW[j]
        for c in range(n):
            chk[c] += row[c] * 0


@jit
def top_layer(A, W, b, zL, aL, Y, w, scale, out, D, dW, db, G, act, db_prev):  # pragma: no cover - compiled
    """The last layer L of k = len(Y) rows in one call, for a small W = W^(L) (n_{L-1}, n_L):

    z^(L) = A W + b into zL (A = a^(L-1)), a^(L) and delta^(L) = coef dc/dz^(L) into aL and D
    (as ``output_rows``, with OUT code ``out``), dW = A^T delta^(L), db = sum_i delta_i^(L),
    G = (delta^(L) W^T) * g'(z^(L-1)) = delta^(L-1) (act: the code of layer L - 1's activation)
    and db_prev = sum_i delta_i^(L-1) = dC/db^(L-1).
    Returns (sum of c, or of w_i c_i; number correct; whether every entry of dW, db and db_prev is finite).
    """
    k, n = Y.shape[0], W.shape[1]
    affine_rows(A, W, b, zL, False, 0, k)
    cost_sum, correct = output_rows(zL[:k], Y, w, scale, aL[:k], D[:k], out)
    np.dot(A[:k].T, D[:k], dW)
    for c in range(n):
        db[c] = 0
    for i in range(k):
        for c in range(n):
            db[c] += D[i, c]
    backprop_rows(D, W, A, G, act, 0, k)
    m = G.shape[1]
    for j in range(m):
        db_prev[j] = 0
    for i in range(k):
        for j in range(m):
            db_prev[j] += G[i, j]
    bad = 0.0  # stays 0 while every entry is finite; NaN (or Inf - Inf) otherwise
    for j in range(dW.shape[0]):
        for c in range(n):
            bad += dW[j, c] * 0
    for c in range(n):
        bad += db[c] * 0
    for j in range(m):
        bad += db_prev[j] * 0
    return cost_sum, correct, bad == 0
