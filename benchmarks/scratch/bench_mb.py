"""Paired epochs: torch vs floor vs deltaprop, MNIST 784-256-10 batch 128 momentum."""
import sys, time, numpy as np, torch
from data import mnist
import deltaprop
X, y, _, _ = mnist()
m = X.shape[0]; B = 128
torch.manual_seed(0)

def torch_epoch(state={}):
    if not state:
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        state.update(model=model, opt=opt, Xt=torch.from_numpy(X), yt=torch.from_numpy(y))
    model, opt, Xt, yt = state["model"], state["opt"], state["Xt"], state["yt"]
    perm = torch.randperm(m)
    t = time.perf_counter()
    for i in range(0, m, B):
        idx = perm[i:i+B]
        xb, yb = Xt[idx], yt[idx]
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()
    return time.perf_counter() - t

W1 = np.random.default_rng(0).standard_normal((784, 256)).astype(np.float32)*0.05
W2 = np.random.default_rng(0).standard_normal((256, 10)).astype(np.float32)*0.05
def floor_epoch():
    perm = np.random.default_rng().permutation(m)
    Xb = X[perm[:B]]
    h = np.empty((B, 256), np.float32); z2 = np.empty((B, 10), np.float32); d2 = np.ones((B, 10), np.float32)
    g = np.empty((B, 256), np.float32); dW1 = np.empty_like(W1); dW2 = np.empty_like(W2)
    t = time.perf_counter()
    for i in range(0, m, B):
        np.matmul(Xb, W1, out=h); np.matmul(h, W2, out=z2); np.matmul(d2, W2.T, out=g)
        np.matmul(Xb.T, g, out=dW1); np.matmul(h.T, d2, out=dW2)
    return time.perf_counter() - t

def dp_epoch(state={}):
    if not state:
        state["net"] = deltaprop.Network([784, 256, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    t = time.perf_counter()
    deltaprop.train(state["net"], X, y, epochs=1, batch_size=B, optimizer="sgd", lr=0.1,
                    optimizer_options={"momentum": 0.9}, seed=len(state))
    state[len(state)] = 1
    return time.perf_counter() - t

fns = {"torch": torch_epoch, "floor": floor_epoch, "deltaprop": dp_epoch}
which = sys.argv[1].split(",") if len(sys.argv) > 1 else list(fns)
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
times = {k: [] for k in which}
for k in which: fns[k]()  # warm-up
for r in range(reps):
    for k in which:
        times[k].append(fns[k]())
med = {k: float(np.median(v)) for k, v in times.items()}
print(" ".join(f"{k}={med[k]:.3f}s" for k in which), "torch threads", torch.get_num_threads())
if "torch" in med and "deltaprop" in med: print(f"dp/torch = {med['deltaprop']/med['torch']:.3f}")
if "floor" in med and "deltaprop" in med: print(f"dp/floor = {med['deltaprop']/med['floor']:.3f}")
