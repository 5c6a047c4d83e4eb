import time, numpy as np, numba as nb
from data import mnist
from threadpoolctl import threadpool_limits
X, y, _, _ = mnist()
m, n0, n1 = 60000, 784, 256; B = 128
rng = np.random.default_rng(0)
W1 = (rng.standard_normal((n0, n1)) * 0.05).astype(np.float32); b1 = np.zeros(n1, np.float32)
idx = rng.permutation(m)[:B]
FM = {'nsz', 'arcp', 'contract', 'afn'}

@nb.njit(fastmath=FM, cache=False)
def compact(X, idx, cols, vals, cnt):
    for i in range(idx.shape[0]):
        r = idx[i]; c = 0
        for j in range(X.shape[1]):
            x = X[r, j]
            cols[i, c] = j; vals[i, c] = x
            c += x != 0
        cnt[i] = c

@nb.njit(fastmath=FM, cache=False)
def fwd_sparse(cols, vals, cnt, W, b, z):
    n = W.shape[1]
    for i in range(cnt.shape[0]):
        zi = z[i]
        for k in range(n): zi[k] = b[k]
        for t in range(cnt[i]):
            j = cols[i, t]; x = vals[i, t]
            Wj = W[j]
            for k in range(n): zi[k] += x * Wj[k]

@nb.njit(fastmath=FM, cache=False)
def fwd_direct(X, idx, W, b, z):
    n = W.shape[1]
    for i in range(idx.shape[0]):
        zi = z[i]; r = idx[i]
        for k in range(n): zi[k] = b[k]
        for j in range(X.shape[1]):
            x = X[r, j]
            if x != 0:
                Wj = W[j]
                for k in range(n): zi[k] += x * Wj[k]

@nb.njit(fastmath=FM, cache=False)
def dW_sparse(cols, vals, cnt, delta, dW):
    n = dW.shape[1]
    dW[:] = 0
    for i in range(cnt.shape[0]):
        d = delta[i]
        for t in range(cnt[i]):
            j = cols[i, t]; x = vals[i, t]
            row = dW[j]
            for k in range(n): row[k] += x * d[k]

@nb.njit(fastmath=FM, cache=False)
def mom(W, g, v, eta, mu):
    Wf = W.ravel(); gf = g.ravel(); vf = v.ravel()
    for k in range(Wf.shape[0]):
        vk = mu * vf[k] - eta * gf[k]
        vf[k] = vk; Wf[k] += vk

cols = np.empty((B, n0), np.int32); vals = np.empty((B, n0), np.float32); cnt = np.empty(B, np.int64)
z = np.empty((B, n1), np.float32); z2 = np.empty_like(z); dW = np.empty_like(W1); dW2 = np.empty_like(W1)
delta = rng.standard_normal((B, n1)).astype(np.float32)
v = np.zeros_like(W1); s = np.empty_like(W1)
def T(f, n=200):
    f(); t = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter() - t) / n * 1e6
Xb = X[idx]
if __name__ == "__main__":
  with threadpool_limits(1):
      for rep in range(2):
          print("take", T(lambda: np.take(X, idx, axis=0, out=Xb)))
          print("compact", T(lambda: compact(X, idx, cols, vals, cnt)))
          print("fwd_sparse", T(lambda: fwd_sparse(cols, vals, cnt, W1, b1, z)))
          print("fwd_direct", T(lambda: fwd_direct(X, idx, W1, b1, z2)))
          print("fwd_blas", T(lambda: np.matmul(Xb, W1, out=z)))
          print("dW_sparse", T(lambda: dW_sparse(cols, vals, cnt, delta, dW)))
          print("dW_blas", T(lambda: np.matmul(Xb.T, delta, out=dW2)))
          print("mom numba", T(lambda: mom(W1, dW, v, 0.1, 0.9)))
          def npmom():
              np.multiply(dW, 0.1, s); np.multiply(v, 0.9, v); np.subtract(v, s, v); np.add(W1, v, W1)
          print("mom numpy", T(npmom))
#.testing.assert_allclose(z, Xb @ W1 + b1, rtol=1e-4, atol=1e-4)
#.testing.assert_allclose(dW, Xb.T @ delta, rtol=1e-4, atol=1e-4)
