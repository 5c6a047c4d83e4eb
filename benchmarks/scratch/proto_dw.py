import numpy as np, numba, sys
from prof_sparse import *
FM = {"contract"}
@numba.njit(fastmath=FM)
def dw_serial(cols, vals, cnt, delta, dW):
    n0, n = dW.shape
    dW[:] = 0
    for i in range(cnt.shape[0]):
        d = delta[i]
        for t in range(cnt[i]):
            row, x = dW[cols[i, t]], vals[i, t]
            for k in range(n):
                row[k] += x * d[k]
@numba.njit(fastmath=FM)
def dw_serial4(cols, vals, cnt, delta, dW):
    # transpose: per input column j, sum over the rows i that use it
    n0, n = dW.shape
    dW[:] = 0
    for i in range(cnt.shape[0]):
        d = delta[i]
        for t in range(cnt[i]):
            j = cols[i, t]; x = vals[i, t]
            for k in range(n):
                dW[j, k] += x * d[k]
@numba.njit(fastmath=FM, parallel=True)
def dw_par(cols, vals, cnt, delta, dW, parts):
    n0, n = dW.shape
    for p in numba.prange(parts):
        k0, k1 = p * n // parts, (p + 1) * n // parts
        for j in range(n0):
            for k in range(k0, k1):
                dW[j, k] = 0
        for i in range(cnt.shape[0]):
            _acc(cols[i], vals[i], cnt[i], delta[i], dW, k0, k1)
@numba.njit(fastmath=FM)
def _acc(cols, vals, c, d, dW, k0, k1):
    for t in range(c):
        row, x = dW[cols[t]], vals[t]
        for k in range(k0, k1):
            row[k] += x * d[k]
out = np.empty_like(S.dW[0])
L.compact(X, idx, S.cols, S.vals, S.cnt)
ref = X[idx].T @ d
for f in (lambda: dw_serial(S.cols, S.vals, S.cnt, d, out), lambda: dw_serial4(S.cols, S.vals, S.cnt, d, out),
          lambda: dw_par(S.cols, S.vals, S.cnt, d, out, 1), lambda: dw_par(S.cols, S.vals, S.cnt, d, out, 2)):
    print("%.0f" % T(f)); np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
@numba.njit(fastmath=FM)
def dw_range(cols, vals, cnt, delta, dW, k0, k1):
    for j in range(dW.shape[0]):
        for k in range(k0, k1):
            dW[j, k] = 0
    for i in range(cnt.shape[0]):
        d = delta[i]
        for t in range(cnt[i]):
            row, x = dW[cols[i, t]], vals[i, t]
            for k in range(k0, k1):
                row[k] += x * d[k]
@numba.njit(fastmath=FM, parallel=True)
def dw_par2(cols, vals, cnt, delta, dW, parts):
    n = dW.shape[1]
    for p in numba.prange(parts):
        dw_range(cols, vals, cnt, delta, dW, p * n // parts, (p + 1) * n // parts)
print("range serial %.0f" % T(lambda: dw_range(S.cols, S.vals, S.cnt, d, out, 0, 256)))
print("par2 1 %.0f" % T(lambda: dw_par2(S.cols, S.vals, S.cnt, d, out, 1)))
np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
