import time, numpy as np, numba as nb
from proto2 import *

@nb.njit(fastmath=FM)
def fwd_acc(cols, vals, cnt, W, b, z):
    n = W.shape[1]
    acc = np.empty(n, np.float32)
    for i in range(cnt.shape[0]):
        for k in range(n): acc[k] = b[k]
        for t in range(cnt[i]):
            j = cols[i, t]; x = vals[i, t]
            for k in range(n): acc[k] += x * W[j, k]
        for k in range(n): z[i, k] = acc[k]

@nb.njit(fastmath=FM)
def fwd_pairs(cols, vals, cnt, W, b, z):
    # two nonzeros per pass: halves the loads/stores of the accumulator
    n = W.shape[1]
    acc = np.empty(n, np.float32)
    for i in range(cnt.shape[0]):
        for k in range(n): acc[k] = b[k]
        c = cnt[i]
        t = 0
        while t + 4 <= c:
            j0 = cols[i, t]; x0 = vals[i, t]; j1 = cols[i, t+1]; x1 = vals[i, t+1]
            j2 = cols[i, t+2]; x2 = vals[i, t+2]; j3 = cols[i, t+3]; x3 = vals[i, t+3]
            for k in range(n): acc[k] += x0 * W[j0, k] + x1 * W[j1, k] + x2 * W[j2, k] + x3 * W[j3, k]
            t += 4
        while t < c:
            j0 = cols[i, t]; x0 = vals[i, t]
            for k in range(n): acc[k] += x0 * W[j0, k]
            t += 1
        for k in range(n): z[i, k] = acc[k]

z4 = np.empty_like(z); z5 = np.empty_like(z)
with threadpool_limits(1):
  for rep in range(4):
    print("fwd_sparse %.0f  acc %.0f pairs %.0f blas %.0f" % (T(lambda: fwd_sparse(cols, vals, cnt, W1, b1, z)),
          T(lambda: fwd_acc(cols, vals, cnt, W1, b1, z4)), T(lambda: fwd_pairs(cols, vals, cnt, W1, b1, z5)),
          T(lambda: np.matmul(Xb, W1))))
np.testing.assert_allclose(z4, z, rtol=1e-5, atol=1e-5)
np.testing.assert_allclose(z5, z, rtol=1e-4, atol=1e-4)
