"""The peers: PyTorch (exactly torch==2.13.0, CPU) and scikit-learn's MLPClassifier.

Both start from deltaprop's initial weights for the seed (copied in), train on the same float32
rows, and are driven the way their users drive them: PyTorch by the standard loop over batches
taken by index from a preloaded tensor, scikit-learn by ``partial_fit`` once per epoch.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np

from .configs import Task
from .contenders import Data, accuracy, draw, initial_network, one_hot, task_data


class Torch:
    """A ``torch.nn.Sequential`` of Linear layers and activations with ``torch.optim``."""

    def __init__(self, data: Data | None, threads: int) -> None:
        import torch  # optional dependency, imported when this contender is built

        torch.set_num_threads(threads)
        self.torch, self.mnist = torch, data
        self.versions = {"torch": torch.__version__, "numpy": np.__version__}

    def reset(self, task: Task, seed: int) -> dict[str, Any]:
        torch, nn = self.torch, self.torch.nn
        torch.manual_seed(seed)
        self.task, self.d = task, task_data(task, self.mnist)
        net = initial_network(task, seed)
        dt = torch.float32 if task.dtype == "float32" else torch.float64
        layers: list[Any] = []
        for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
            linear = nn.Linear(W.shape[0], W.shape[1], dtype=dt)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))  # (n_l, n_{l-1})
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            g = task.hidden if l < net.L else task.output
            if g == "relu":
                layers.append(nn.ReLU())
            elif g == "sigmoid":
                layers.append(nn.Sigmoid())
            elif g != "softmax":  # softmax is inside CrossEntropyLoss, which takes the logits z^(L)
                raise ValueError(f"the PyTorch contender has no activation {g!r}")
        self.model = nn.Sequential(*layers)
        self.X = torch.from_numpy(self.d.X_train)  # shares the worker's array, no copy
        self.X_test = torch.from_numpy(self.d.X_test)
        if task.cost == "cross_entropy" and task.output == "softmax":
            self.T, self.loss = torch.from_numpy(self.d.y_train), nn.CrossEntropyLoss()
        elif task.cost == "quadratic":
            self.T = torch.from_numpy(one_hot(self.d.y_train, task.sizes[-1], task.dtype))
            self.loss = lambda a, y: 0.5 * ((a - y) ** 2).sum(dim=1).mean()  # c = 1/2 ||a - y||^2
        else:
            raise ValueError(f"the PyTorch contender has no cost {task.cost!r} with {task.output!r}")
        self._warm_up()
        self.opt = self._optimizer(self.model)
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        return {"path": "batches by index from a preloaded tensor" if task.kind == "epoch"
                else "the standard loop, one sample per step"}

    def _optimizer(self, model: Any) -> Any:
        task, optim = self.task, self.torch.optim
        if task.optimizer == "adam":
            return optim.Adam(model.parameters(), lr=task.lr)
        mu = task.momentum if task.optimizer == "momentum" else 0.0
        return optim.SGD(model.parameters(), lr=task.lr, momentum=mu)

    def _warm_up(self) -> None:
        """A few steps on a copy of the model, outside the timing (first calls allocate and dispatch)."""
        model = copy.deepcopy(self.model)
        opt = self._optimizer(model)
        B = self.task.batch_size if self.task.kind == "epoch" else 1
        for _ in range(2):
            opt.zero_grad()
            self.loss(model(self.X[:B]), self.T[:B]).backward()
            opt.step()

    def _step(self, xb: Any, yb: Any) -> None:
        self.opt.zero_grad()
        loss = self.loss(self.model(xb), yb)
        loss.backward()
        self.opt.step()

    def run(self) -> dict[str, Any]:
        task, X, T = self.task, self.X, self.T
        m, B = X.shape[0], task.batch_size
        if task.kind == "epoch":
            start = time.perf_counter()
            perm = self.torch.randperm(m, generator=self.gen)
            for s in range(0, m, B):
                idx = perm[s:s + B]
                self._step(X[idx], T[idx])
            return {"seconds": time.perf_counter() - start, "steps": m}
        idx = draw(self.rng, m, task.steps, task.replacement).tolist()
        start = time.perf_counter()
        for k in idx:
            self._step(X[k:k + 1], T[k:k + 1])  # (1, n_0), one sample
        return {"seconds": time.perf_counter() - start, "steps": task.steps}

    def evaluate(self) -> float:
        torch = self.torch

        def predict(X: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return self.model(torch.from_numpy(X)).argmax(dim=1).numpy()

        return accuracy(predict, self.d.X_test, self.d.y_test)


class Sklearn:
    """``MLPClassifier(solver="sgd" or "adam", alpha=0)`` trained by one ``partial_fit`` per epoch.

    Given float32 rows, MLPClassifier keeps float32 (it casts only other dtypes to float64).
    """

    def __init__(self, data: Data | None) -> None:
        import sklearn  # optional dependency, imported when this contender is built
        from sklearn.neural_network import MLPClassifier

        self.MLPClassifier, self.mnist = MLPClassifier, data
        self.versions = {"sklearn": sklearn.__version__, "numpy": np.__version__}

    def reset(self, task: Task, seed: int) -> dict[str, Any]:
        if task.kind != "epoch" or (task.hidden, task.output, task.cost) != ("relu", "softmax", "cross_entropy"):
            raise ValueError(f"the scikit-learn contender handles ReLU + softmax + cross-entropy epochs, got {task}")
        self.task, self.d = task, task_data(task, self.mnist)
        mu = task.momentum if task.optimizer == "momentum" else 0.0
        self.clf = self.MLPClassifier(
            hidden_layer_sizes=task.sizes[1:-1], activation="relu", alpha=0.0, batch_size=task.batch_size,
            solver="adam" if task.optimizer == "adam" else "sgd", learning_rate="constant",
            learning_rate_init=task.lr, momentum=mu, nesterovs_momentum=False, shuffle=True,
            random_state=np.random.RandomState(seed))  # an object: a new shuffle every partial_fit
        X, y = self.d.X_train, self.d.y_train
        B = min(task.batch_size, X.shape[0])
        self.clf.partial_fit(X[:B], y[:B], classes=np.arange(task.sizes[-1]))  # builds the layers
        net = initial_network(task, seed)
        self.clf.coefs_ = [W.copy() for W in net.weights]  # same (n_{l-1}, n_l) layout as ours
        self.clf.intercepts_ = [b.copy() for b in net.biases]
        if hasattr(self.clf, "_optimizer"):
            del self.clf._optimizer  # the next partial_fit makes a fresh one for the new arrays
        return {"path": "partial_fit once per epoch"}

    def run(self) -> dict[str, Any]:
        start = time.perf_counter()
        self.clf.partial_fit(self.d.X_train, self.d.y_train)
        return {"seconds": time.perf_counter() - start, "steps": self.d.X_train.shape[0]}

    def evaluate(self) -> float:
        return accuracy(self.clf.predict, self.d.X_test, self.d.y_test)
