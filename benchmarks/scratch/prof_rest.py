import numpy as np, sys, numba
from data import mnist
from threadpoolctl import threadpool_limits
import deltaprop
from deltaprop.kernels import count_correct, all_finite
from deltaprop.fast import SparseKernel
from deltaprop.optim import make_optimizer
from tt import T
X, y, _, _ = mnist()
Y = np.eye(10, dtype=np.float32)[y]
net = deltaprop.Network([784, 256, 10], ["relu", "softmax"], "cross_entropy", seed=0)
S = SparseKernel(net, 128)
idx = np.random.default_rng(0).permutation(60000)[:128]
numba.set_num_threads(1); S.parts = 1
S.batch(X, Y, idx)
h = S.a[1]; zL = S.zL; aL = S.a[2]; W2 = net.weights[1]; b2 = net.biases[1]; d2 = S.delta[2]; d1 = S.delta[1]
Yb = Y[idx]
opt = make_optimizer("sgd", lr=0.1, momentum=0.9); params = net.weights + net.biases; grads = S.dW + S.db
with threadpool_limits(1):
    print("batch %.0f" % T(lambda: S.batch(X, Y, idx)))
    print("gatherY %.0f" % T(lambda: S._gather("Y", Y, idx)))
    print("affine2 %.0f" % T(lambda: S._affine(2, h, zL, False)))
    print("output %.0f" % T(lambda: S._output(zL, aL)))
    print("subtract %.0f" % T(lambda: np.subtract(aL, Yb, out=d2)))
    print("cost %.0f" % T(lambda: S._cost(zL, aL, Yb, d2)))
    print("correct %.0f" % T(lambda: count_correct(aL, Yb)))
    print("dW2 %.0f" % T(lambda: np.matmul(h.T, d2, out=S.dW[1])))
    print("db2 %.0f" % T(lambda: np.sum(d2, axis=0, out=S.db[1])))
    print("grad1 %.0f" % T(lambda: np.matmul(d2, W2.T, out=d1)))
    print("relu bwd %.0f" % T(lambda: S._hidden_backward(net.g[1], h, d1, 1)))
    print("db1 %.0f" % T(lambda: np.sum(d1, axis=0, out=S.db[0])))
    print("finite %.0f" % T(lambda: all_finite(grads, 1.0)))
    print("opt %.0f" % T(lambda: opt.step(params, grads)))
