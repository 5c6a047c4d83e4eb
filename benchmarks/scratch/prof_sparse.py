import time, numpy as np, sys, numba
from data import mnist
from threadpoolctl import threadpool_limits
import deltaprop
from deltaprop.kernels import DenseKernel, all_finite
from deltaprop.fast import SparseKernel
from tt import T
X, y, _, _ = mnist()
Y = np.eye(10, dtype=np.float32)[y]
net = deltaprop.Network([784, 256, 10], ["relu", "softmax"], "cross_entropy", seed=0)
D = DenseKernel(net, 128); S = SparseKernel(net, 128); L = S.loops
idx = np.random.default_rng(0).permutation(60000)[:128]
nt = int(sys.argv[1]) if len(sys.argv) > 1 else 1
numba.set_num_threads(nt); S.parts = nt
d = np.random.default_rng(1).standard_normal((128, 256)).astype(np.float32)
with threadpool_limits(nt):
  for r in range(2):
    print("dense batch %.0f" % T(lambda: D.batch(X, Y, idx)))
    print("sparse batch %.0f" % T(lambda: S.batch(X, Y, idx)))
    print(" compact %.0f" % T(lambda: L.compact(X, idx, S.cols, S.vals, S.cnt)))
    print(" sp fwd %.0f" % T(lambda: L.sparse_forward(S.cols, S.vals, S.cnt, net.weights[0], net.biases[0], S.a[1], True)))
    print(" sp dW %.0f" % T(lambda: L.sparse_weight_gradient(S.cols, S.vals, S.cnt, d, S.dW[0], S.ptr, S.rows, S.xs, S.parts)))
