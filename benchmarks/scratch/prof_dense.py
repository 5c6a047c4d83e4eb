import time, numpy as np, sys
from data import mnist
from threadpoolctl import threadpool_limits
import deltaprop
from deltaprop.kernels import DenseKernel, all_finite
from deltaprop.optim import make_optimizer
from tt import T
X, y, _, _ = mnist()
Y = np.eye(10, dtype=np.float32)[y]
net = deltaprop.Network([784, 256, 10], ["relu", "softmax"], "cross_entropy", seed=0)
K = DenseKernel(net, 128)
opt = make_optimizer("sgd", lr=0.1, momentum=0.9)
idx = np.random.default_rng(0).permutation(60000)[:128]
params = net.weights + net.biases; grads = K.dW + K.db
Xb = X[idx]; Yb = Y[idx]
with threadpool_limits(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
  for r in range(2):
    print("gatherX %.0f" % T(lambda: K._gather("X", X, idx)))
    print("gatherY %.0f" % T(lambda: K._gather("Y", Y, idx)))
    print("forward %.0f" % T(lambda: K.forward(Xb)))
    print("gradients(all) %.0f" % T(lambda: K.gradients(Xb, Yb)))
    print("batch %.0f" % T(lambda: K.batch(X, Y, idx)))
    print("all_finite %.0f" % T(lambda: all_finite(grads, 1.0)))
    print("opt.step %.0f" % T(lambda: opt.step(params, grads)))
    W1 = net.weights[0]; dW1 = np.empty((784,256), np.float32); d = np.ones((128,256), np.float32)
    print(" mm fwd1 %.0f" % T(lambda: np.matmul(Xb, W1, out=K.a[1])))
    print(" mm dW1 %.0f" % T(lambda: np.matmul(Xb.T, d, out=dW1)))
    print(" valid X %.0f" % T(lambda: net._X(X), n=3, reps=2))
    print(" valid Y %.0f" % T(lambda: net._Y(Y, 60000), n=3, reps=2))
    print(" perm %.0f" % T(lambda: np.random.default_rng(0).permutation(60000), n=3, reps=2))
