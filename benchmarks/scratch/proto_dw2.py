import numpy as np, numba, sys
from prof_sparse import *
FM = {"contract"}
@numba.njit(fastmath=FM)
def dw_rows(cols, vals, cnt, delta, dW, j0, j1):
    n = dW.shape[1]
    for j in range(j0, j1):
        row = dW[j]
        for k in range(n):
            row[k] = 0
    for i in range(cnt.shape[0]):
        d = delta[i]
        for t in range(cnt[i]):
            j = cols[i, t]
            if j0 <= j < j1:
                row, x = dW[j], vals[i, t]
                for k in range(n):
                    row[k] += x * d[k]
@numba.njit(fastmath=FM, parallel=True)
def dw_par3(cols, vals, cnt, delta, dW, parts):
    n0 = dW.shape[0]
    for p in numba.prange(parts):
        dw_rows(cols, vals, cnt, delta, dW, p * n0 // parts, (p + 1) * n0 // parts)
out = np.empty_like(S.dW[0])
L.compact(X, idx, S.cols, S.vals, S.cnt)
ref = X[idx].T @ d
numba.set_num_threads(1)
for r in range(2):
  print("rows serial %.0f" % T(lambda: dw_rows(S.cols, S.vals, S.cnt, d, out, 0, 784)))
  print("par3 %.0f" % T(lambda: dw_par3(S.cols, S.vals, S.cnt, d, out, 1)))
  print("lib %.0f" % T(lambda: L.sparse_weight_gradient(S.cols, S.vals, S.cnt, d, out, 1)))
np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
