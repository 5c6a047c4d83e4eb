import time, numpy as np, numba as nb
from data import mnist
X, y, _, _ = mnist()
m, n0, n1 = 60000, 784, 256; B = 128
rng = np.random.default_rng(0)
W1 = (rng.standard_normal((n0, n1)) * 0.05).astype(np.float32); b1 = np.zeros(n1, np.float32)
idx = rng.permutation(m)[:B]
FM = {'nsz', 'arcp', 'contract', 'afn'}
from proto1 import compact, fwd_sparse

@nb.njit(fastmath=FM)
def fwd_blk(cols, vals, cnt, W, b, z):
    n = W.shape[1]
    for i in range(cnt.shape[0]):
        c = cnt[i]
        for kb in range(0, n, 16):
            a0 = b[kb]; a1 = b[kb+1]; a2 = b[kb+2]; a3 = b[kb+3]; a4 = b[kb+4]; a5 = b[kb+5]; a6 = b[kb+6]; a7 = b[kb+7]
            a8 = b[kb+8]; a9 = b[kb+9]; a10 = b[kb+10]; a11 = b[kb+11]; a12 = b[kb+12]; a13 = b[kb+13]; a14 = b[kb+14]; a15 = b[kb+15]
            for t in range(c):
                x = vals[i, t]; w = W[cols[i, t]]
                a0 += x*w[kb]; a1 += x*w[kb+1]; a2 += x*w[kb+2]; a3 += x*w[kb+3]
                a4 += x*w[kb+4]; a5 += x*w[kb+5]; a6 += x*w[kb+6]; a7 += x*w[kb+7]
                a8 += x*w[kb+8]; a9 += x*w[kb+9]; a10 += x*w[kb+10]; a11 += x*w[kb+11]
                a12 += x*w[kb+12]; a13 += x*w[kb+13]; a14 += x*w[kb+14]; a15 += x*w[kb+15]
            z[i,kb]=a0; z[i,kb+1]=a1; z[i,kb+2]=a2; z[i,kb+3]=a3; z[i,kb+4]=a4; z[i,kb+5]=a5; z[i,kb+6]=a6; z[i,kb+7]=a7
            z[i,kb+8]=a8; z[i,kb+9]=a9; z[i,kb+10]=a10; z[i,kb+11]=a11; z[i,kb+12]=a12; z[i,kb+13]=a13; z[i,kb+14]=a14; z[i,kb+15]=a15

@nb.njit(fastmath=FM)
def fwd_fixed(cols, vals, cnt, W, b, z):
    # inner loop of compile-time-unknown n but using slices
    n = W.shape[1]
    for i in range(cnt.shape[0]):
        zi = z[i]
        zi[:] = b
        for t in range(cnt[i]):
            zi += vals[i, t] * W[cols[i, t]]

cols = np.empty((B, n0), np.int32); vals = np.empty((B, n0), np.float32); cnt = np.empty(B, np.int64)
compact(X, idx, cols, vals, cnt)
z = np.empty((B, n1), np.float32); z2 = np.empty_like(z); z3 = np.empty_like(z)
Xb = X[idx]
from tt import T
def _T(f, n=100):
    f(); t = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter() - t) / n * 1e6
from threadpoolctl import threadpool_limits
with threadpool_limits(1):
  for rep in range(3):
    print("fwd_sparse %.0f  blk %.0f  slices %.0f  blas %.0f" % (T(lambda: fwd_sparse(cols, vals, cnt, W1, b1, z)),
          T(lambda: fwd_blk(cols, vals, cnt, W1, b1, z2)), T(lambda: fwd_fixed(cols, vals, cnt, W1, b1, z3)),
          T(lambda: np.matmul(Xb, W1))))
np.testing.assert_allclose(z2, z, rtol=1e-5, atol=1e-5)
