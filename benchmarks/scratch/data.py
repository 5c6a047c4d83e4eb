import os, numpy as np
CACHE = "/tmp/deltaprop_speed_mnist.npz"
def mnist():
    if not os.path.exists(CACHE):
        from deltaprop.datasets import load_mnist
        ds = load_mnist("/work/shared/data/mnist")
        np.savez(CACHE, X=ds.X_train, y=ds.y_train, Xt=ds.X_test, yt=ds.y_test)
    d = np.load(CACHE)
    return d["X"], d["y"], d["Xt"], d["yt"]
