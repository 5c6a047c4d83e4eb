import numpy as np, numba
from prof_sparse import *
@numba.njit
def build(cols, vals, cnt, ptr, rows, xs, n0):
    ptr[:] = 0
    for i in range(cnt.shape[0]):
        for t in range(cnt[i]):
            ptr[cols[i, t] + 1] += 1
    for j in range(n0):
        ptr[j + 1] += ptr[j]
    for i in range(cnt.shape[0]):
        for t in range(cnt[i]):
            j = cols[i, t]
            rows[ptr[j]] = i
            xs[ptr[j]] = vals[i, t]
            ptr[j] += 1
    for j in range(n0, 0, -1):
        ptr[j] = ptr[j - 1]
    ptr[0] = 0
L.compact(X, idx, S.cols, S.vals, S.cnt)
print("build %.0f" % T(lambda: build(S.cols, S.vals, S.cnt, S.ptr, S.rows, S.xs, 784)))
print("nnz", S.cnt.sum())
