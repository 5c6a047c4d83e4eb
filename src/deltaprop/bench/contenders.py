r"""The contenders that need only NumPy: deltaprop itself (its library and its command line), the matmul floor,
and a plain NumPy loop.

Each contender runs inside a worker process and has ``reset(task, seed)`` (a fresh network),
``run()`` (one unit of work: an epoch, or ``task.steps`` single-sample steps; returns the
seconds and the samples processed) and ``evaluate()`` (test accuracy, or None). Every network
starts from deltaprop's initial weights for the seed, so all contenders solve the same problem.
PyTorch and scikit-learn are in ``peers.py``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..datasets import higham_points, one_hot as _one_hot
from ..network import Network, classes
from ..optim import make_optimizer
from ..train import train
from .configs import Task


@dataclass
class Data:
    """Training and test rows in the worker: X (m, n_0) float, y (m,) int64 class labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def nbytes(self) -> int:
        """Bytes of the four arrays."""
        return sum(a.nbytes for a in (self.X_train, self.y_train, self.X_test, self.y_test))


def initial_network(task: Task, seed: int) -> Any:
    """The deltaprop Network of ``task`` with its initial weights for ``seed``."""
    L = len(task.sizes) - 1
    return Network(list(task.sizes), [task.hidden] * (L - 1) + [task.output], task.cost,
                   dtype=task.dtype, seed=seed, init=task.init)


def task_data(task: Task, mnist: Data | None) -> Data:
    """The rows a task trains on: the prepared MNIST rows, or Higham's ten points (train = test)."""
    if task.data == "higham":
        X, Y = higham_points()
        y = Y.argmax(axis=1)
        X = X.astype(task.dtype)
        return Data(X, y, X, y)
    if mnist is None:
        raise ValueError("this task needs MNIST rows, but the worker was started without data")
    return mnist


def one_hot(y: np.ndarray, n: int, dtype: str) -> np.ndarray:
    """(m,) labels -> (m, n) rows with a single 1, in dtype (``datasets.one_hot``)."""
    return _one_hot(y, n).astype(dtype, copy=False)


def draw(rng: np.random.Generator, m: int, steps: int, replacement: bool) -> np.ndarray:
    """The sample indices of ``steps`` single-sample steps: with replacement, or shuffled passes."""
    if replacement:
        return rng.integers(0, m, steps)
    passes = [rng.permutation(m) for _ in range(-(-steps // m))]
    return np.concatenate(passes)[:steps]


def accuracy(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray,
             chunk: int = 1000) -> float:
    """Fraction of rows whose predicted class is y, predicted in chunks to keep memory flat."""
    correct = 0
    for start in range(0, X.shape[0], chunk):
        correct += int(np.count_nonzero(predict(X[start:start + chunk]) == y[start:start + chunk]))
    return correct / X.shape[0]


def fast_path() -> tuple[Callable[..., Any] | None, str]:
    """``deltaprop.sgd_steps`` when it exists, with a note saying which path is used."""
    steps = getattr(importlib.import_module("deltaprop"), "sgd_steps", None)
    if steps is None:
        return None, "train(batch_size=1): this deltaprop has no sgd_steps"
    return steps, "sgd_steps"


class Deltaprop:
    """deltaprop through its public API: ``train`` per epoch, ``sgd_steps`` per sample."""

    def __init__(self, data: Data | None) -> None:
        self.mnist = data
        self.versions = {"deltaprop": __version__, "numpy": np.__version__}

    def reset(self, task: Task, seed: int) -> dict[str, Any]:
        self.task, self.d = task, task_data(task, self.mnist)
        self.net = initial_network(task, seed)
        self.Y = one_hot(self.d.y_train, task.sizes[-1], task.dtype)
        self.rng = np.random.default_rng(seed)
        options = {"momentum": task.momentum} if task.optimizer == "momentum" else {}
        self.optimizer = make_optimizer(task.optimizer, lr=task.lr, **options)  # kept across epochs
        if task.kind == "epoch":
            B = task.batch_size  # warm-up on a copy: two batches, outside the timing
            train(self.net.copy(), self.d.X_train[:2 * B], self.Y[:2 * B], epochs=1, batch_size=B,
                  optimizer=make_optimizer(task.optimizer, lr=task.lr, **options), kernel=task.kernel)
            return {"path": "train(...) per epoch, timed around the call"}
        self.fast, path = fast_path()
        self.fast_options: dict[str, Any] = {}
        if self.fast is not None and "replacement" in inspect.signature(self.fast).parameters:
            self.fast_options["replacement"] = task.replacement
        elif self.fast is not None and not task.replacement:
            path += " (draws with replacement)"
        if self.fast is not None:
            try:  # compile (if it is compiled) on a copy, outside the timing
                self.fast(self.net.copy(), self.d.X_train, self.Y, 2, task.lr, np.random.default_rng(0),
                          **self.fast_options)
                path += " (warm-up call excluded)"
            except Exception as exc:  # noqa: BLE001 - any failure means: use the public path
                self.fast, path = None, f"train(batch_size=1): sgd_steps failed: {type(exc).__name__}: {exc}"
        return {"path": path}

    def run(self) -> dict[str, Any]:
        task, X, Y = self.task, self.d.X_train, self.Y
        m = X.shape[0]
        if task.kind == "epoch":
            start = time.perf_counter()
            train(self.net, X, Y, epochs=1, batch_size=task.batch_size, optimizer=self.optimizer,
                  seed=int(self.rng.integers(2**31)), kernel=task.kernel)
            return {"seconds": time.perf_counter() - start, "steps": m}
        if self.fast is not None:
            start = time.perf_counter()
            self.fast(self.net, X, Y, task.steps, task.lr, self.rng, **self.fast_options)
            return {"seconds": time.perf_counter() - start, "steps": task.steps}
        return self._slow_steps(task.slow_steps or task.steps)

    def _slow_steps(self, steps: int) -> dict[str, Any]:
        """Per-sample SGD through ``train(batch_size=1)``, the path every user has."""
        task, X, Y = self.task, self.d.X_train, self.Y
        if steps == X.shape[0] and not task.replacement:  # one epoch: train shuffles
            start = time.perf_counter()
            train(self.net, X, Y, epochs=1, batch_size=1, optimizer="sgd", lr=task.lr,
                  seed=int(self.rng.integers(2**31)))
            return {"seconds": time.perf_counter() - start, "steps": steps}
        idx = draw(self.rng, X.shape[0], steps, task.replacement)
        Xs, Ys = X[idx], Y[idx]  # (steps, n_0), (steps, n_L): the drawn samples in order
        start = time.perf_counter()
        train(self.net, Xs, Ys, epochs=1, batch_size=1, optimizer="sgd", lr=task.lr, shuffle=False)
        return {"seconds": time.perf_counter() - start, "steps": steps}

    def evaluate(self) -> float:
        return accuracy(lambda X: classes(self.net.forward(X)), self.d.X_test, self.d.y_test)


class Floor:
    """The dense matrix products of an epoch alone, back to back, into preallocated arrays.

    Per batch: a^(l-1) W^(l) for l = 1..L (forward), delta^(l) W^(l)T for l = L..2 (backward)
    and a^(l-1)T delta^(l) for l = 1..L (gradients); for 784-256-10 these are X_b W1, h W2,
    d2 W2^T, X_b^T d1 and h^T d2. No activation, cost, shuffle or update: a lower bound.
    """

    def __init__(self, data: Data | None) -> None:
        self.mnist = data
        self.versions = {"numpy": np.__version__}

    def reset(self, task: Task, seed: int) -> dict[str, Any]:
        rng, dt, n, B = np.random.default_rng(seed), np.dtype(task.dtype), task.sizes, task.batch_size
        self.task, self.d, self.L = task, task_data(task, self.mnist), len(n) - 1
        L = self.L
        self.W = {l: rng.standard_normal((n[l - 1], n[l])).astype(dt) for l in range(1, L + 1)}
        self.z = {l: np.empty((B, n[l]), dt) for l in range(1, L + 1)}  # forward products
        self.delta = {l: rng.standard_normal((B, n[l])).astype(dt) for l in range(1, L + 1)}  # stand-ins
        self.back = {l: np.empty((B, n[l]), dt) for l in range(1, L)}  # delta^(l+1) W^(l+1)T
        self.dW = {l: np.empty_like(self.W[l]) for l in range(1, L + 1)}
        return {"path": "NumPy float32 matmuls into out= arrays, contiguous batches"}

    def run(self) -> dict[str, Any]:
        X, B, L = self.d.X_train.astype(self.task.dtype, copy=False), self.task.batch_size, self.L
        W, z, delta, back, dW = self.W, self.z, self.delta, self.back, self.dW
        start = time.perf_counter()
        for s in range(0, X.shape[0], B):
            Xb = X[s:s + B]  # (k, n_0)
            k = Xb.shape[0]
            a = Xb
            for l in range(1, L + 1):
                a = np.matmul(a, W[l], out=z[l][:k])  # (k, n_l)
            for l in range(L, 1, -1):
                np.matmul(delta[l][:k], W[l].T, out=back[l - 1][:k])  # (k, n_{l-1})
            a = Xb
            for l in range(1, L + 1):
                np.matmul(a.T, delta[l][:k], out=dW[l])  # (n_{l-1}, n_l)
                a = z[l][:k]
        return {"seconds": time.perf_counter() - start, "steps": X.shape[0]}

    def evaluate(self) -> None:
        return None


class NumpyLoop:
    r"""Per-sample SGD written as a plain NumPy loop (sigmoid layers, quadratic cost), as in Higham's code.

    For each drawn x: z^(l) = a^(l-1) W^(l) + b^(l), a^(l) = sigmoid(z^(l));
    delta^(L) = (a^(L) - y) a^(L) (1 - a^(L)); delta^(l) = (delta^(l+1) W^(l+1)T) a^(l) (1 - a^(l));
    W^(l) -= eta a^(l-1)T delta^(l), b^(l) -= eta delta^(l).
    """

    def __init__(self, data: Data | None) -> None:
        self.mnist = data
        self.versions = {"numpy": np.__version__}

    def reset(self, task: Task, seed: int) -> dict[str, Any]:
        if (task.hidden, task.output, task.cost, task.optimizer) != ("sigmoid", "sigmoid", "quadratic", "sgd"):
            raise ValueError(f"the NumPy loop handles sigmoid layers, quadratic cost and plain SGD, got {task}")
        net = initial_network(task, seed)
        self.task, self.d, self.L = task, task_data(task, self.mnist), net.L
        self.W = dict(enumerate((W.copy() for W in net.weights), start=1))
        self.b = dict(enumerate((b.copy() for b in net.biases), start=1))
        self.Y = one_hot(self.d.y_train, task.sizes[-1], task.dtype)
        self.rng = np.random.default_rng(seed)
        return {"path": "one sample at a time, np.outer updates"}

    def run(self) -> dict[str, Any]:
        task, X, Y, W, b, L = self.task, self.d.X_train, self.Y, self.W, self.b, self.L
        eta, steps = task.lr, task.steps
        idx = draw(self.rng, X.shape[0], steps, task.replacement).tolist()
        start = time.perf_counter()
        for k in idx:
            a = {0: X[k]}  # a[l] of shape (n_l,)
            for l in range(1, L + 1):
                a[l] = 1.0 / (1.0 + np.exp(-(a[l - 1] @ W[l] + b[l])))
            delta = (a[L] - Y[k]) * a[L] * (1.0 - a[L])
            for l in range(L, 0, -1):
                below = (delta @ W[l].T) * a[l - 1] * (1.0 - a[l - 1]) if l > 1 else None
                W[l] -= eta * np.outer(a[l - 1], delta)
                b[l] -= eta * delta
                delta = below
        return {"seconds": time.perf_counter() - start, "steps": steps}

    def evaluate(self) -> float:
        def predict(X: np.ndarray) -> np.ndarray:
            a = X
            for l in range(1, self.L + 1):
                a = 1.0 / (1.0 + np.exp(-(a @ self.W[l] + self.b[l])))
            return a.argmax(axis=1)

        return accuracy(predict, self.d.X_test, self.d.y_test)


class Cli:
    """``deltaprop train`` as a command-line user runs it: a fresh process per unit of work, ``--quiet``.

    The rows are written once to an .npz file (``--dataset PATH.npz``); each ``run()`` trains two
    epochs and returns the second one's ``seconds`` from ``--metrics-json`` (the first epoch of a
    process also loads the compiled code, as a first ``train()`` call does).
    """

    def __init__(self, data: Data | None) -> None:
        self.mnist = data
        self.versions = {"deltaprop": __version__, "numpy": np.__version__}
        self.folder = tempfile.TemporaryDirectory(prefix="deltaprop-bench-cli-")

    def reset(self, task: Task, seed: int) -> dict[str, Any]:
        output = "softmax" if task.cost == "cross_entropy" else "sigmoid"  # the output deltaprop train builds
        if task.kind != "epoch" or task.output != output or task.optimizer not in ("sgd", "momentum"):
            raise ValueError(f"the CLI contender trains epochs with deltaprop train's output layer, got {task}")
        self.task, self.d, self.seed = task, task_data(task, self.mnist), seed
        self.data = Path(self.folder.name) / "rows.npz"
        np.savez(self.data, X=self.d.X_train, y=self.d.y_train, X_test=self.d.X_test, y_test=self.d.y_test)
        self.accuracy: float | None = None
        return {"path": "deltaprop train --quiet, a new process per round; its 2nd epoch (--metrics-json)"}

    def run(self) -> dict[str, Any]:
        task, metrics = self.task, Path(self.folder.name) / "metrics.json"
        optimizer = ["--optimizer", "momentum", "--momentum", str(task.momentum)] if task.optimizer == "momentum" \
            else ["--optimizer", "sgd"]
        argv = ["train", "--dataset", str(self.data), "--hidden", *map(str, task.sizes[1:-1]),
                "--activation", task.hidden, "--cost", task.cost, *optimizer, "--lr", str(task.lr),
                "--batch-size", str(task.batch_size), "--schedule", "constant", "--dtype", task.dtype,
                "--epochs", "2", "--seed", str(self.seed), "--quiet", "--metrics-json", str(metrics)]
        home = str(Path(__file__).resolve().parents[2])  # the folder holding this deltaprop: the child runs it too
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([home, *filter(None, [os.environ.get("PYTHONPATH")])])}
        done = subprocess.run([sys.executable, "-m", "deltaprop", *argv], capture_output=True, text=True,
                              check=False, cwd=self.folder.name, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"deltaprop train exited with {done.returncode}: {done.stderr.strip()[-300:]}")
        result = json.loads(metrics.read_text())
        self.accuracy = float(result["test_accuracy"])
        return {"seconds": float(result["seconds"][-1]), "steps": self.d.X_train.shape[0]}

    def evaluate(self) -> float | None:
        return self.accuracy

    def memory(self) -> dict[str, int]:
        """The peak resident memory of the largest ``deltaprop train`` process (not of this worker)."""
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return {"peak_rss": int(peak if sys.platform == "darwin" else peak * 1024), "rss": 0}
