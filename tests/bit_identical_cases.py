"""Fixed training runs through every kernel path, for ``test_bit_identical.py`` and ``data/make_bit_identical.py``.

Each run trains a small network from a fixed seed and returns its final parameters. The generator
ran these on the code before the engine moved into ``deltaprop/engine`` and stored a SHA-256 of
each run's parameter bytes (with a sample of the values) in ``data/bit_identical.json``; the test
reruns them on today's code. A run names its path: the kernel ("reference", "numpy", "compiled"),
the helper thread ("alone": every call site computes alone, "shared": every call site shares) and
the per-sample paths (``train(batch_size=1)`` and ``sgd_steps``, compiled or through NumPy).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import deltaprop
from deltaprop import Network


@dataclass(frozen=True)
class Case:
    """One network and data set, trained by ``train`` (or ``sgd_steps`` when steps > 0)."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    cost: str
    dtype: str = "float64"
    m: int = 96
    zeros: float = 0.0  # share of exact zeros in X (an image's background)
    batch_size: int = 16
    epochs: int = 2
    optimizer: str = "sgd"
    options: dict[str, Any] = field(default_factory=dict)
    weights: bool = False  # sample weights
    dropout: float = 0.0  # on the first hidden layer
    steps: int = 0  # sgd_steps instead of train
    paths: tuple[str, ...] = ("reference", "numpy", "compiled/alone", "compiled/shared")


CASES: dict[str, Case] = {
    # dense inputs, two hidden layers, plain SGD
    "dense-sgd": Case((6, 8, 5, 3), ("tanh", "relu", "softmax"), "cross_entropy", options={"lr": 0.2}),
    # mostly-zero inputs (the sparse first layer), float32, momentum; one chunk, the fused top layer
    "sparse-momentum": Case((100, 32, 10), ("relu", "softmax"), "cross_entropy", dtype="float32", m=256,
                            zeros=0.8, batch_size=64, optimizer="momentum", options={"lr": 0.05}),
    # deep and wide enough that the helper shares the upper layers and the weight updates
    "sparse-deep-nesterov": Case((180, 96, 96, 10), ("relu", "relu", "softmax"), "cross_entropy",
                                 dtype="float32", m=384, zeros=0.8, batch_size=128, optimizer="nesterov",
                                 options={"lr": 0.05, "weight_decay": 1e-4}),
    # one layer (L = 1), sigmoid + binary cross-entropy, Adam
    "shallow-adam": Case((12, 2), ("sigmoid",), "binary_cross_entropy", zeros=0.5, optimizer="adam",
                         options={"lr": 0.01}),
    # four layers, sigmoid hidden layers, sigmoid + quadratic, sample weights
    "deep-weights": Case((10, 9, 8, 7, 4), ("sigmoid", "tanh", "identity", "sigmoid"), "quadratic",
                         zeros=0.6, batch_size=32, weights=True, options={"lr": 0.5}),
    # identity + quadratic (regression), a full batch larger than a chunk (partial sums)
    "full-batch-regression": Case((8, 6, 2), ("relu", "identity"), "quadratic", m=1100, zeros=0.7,
                                  batch_size=1100, epochs=3, options={"lr": 0.1}),
    # dropout: only the reference computes it
    "dropout": Case((10, 12, 3), ("relu", "softmax"), "cross_entropy", dropout=0.3, paths=("reference",),
                    options={"lr": 0.2}),
    # per-sample SGD through train: the compiled loop, the NumPy kernel, the reference
    "per-sample-train": Case((20, 10, 3), ("relu", "softmax"), "cross_entropy", m=60, zeros=0.7, batch_size=1,
                             options={"lr": 0.05}, paths=("reference", "numpy", "compiled")),
    # per-sample SGD through sgd_steps: compiled, and the NumPy fallback without numba
    "per-sample-steps": Case((2, 3, 2), ("sigmoid", "sigmoid"), "quadratic", m=10, steps=3000,
                             paths=("compiled", "numpy")),
}


def data(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """X (m, n_0), one-hot or [0, 1] targets Y (m, n_L) and sample weights (m,) or None, from seed 0."""
    rng = np.random.default_rng(0)
    n_0, n_L = case.sizes[0], case.sizes[-1]
    X = rng.standard_normal((case.m, n_0))
    X[rng.random(X.shape) < case.zeros] = 0.0
    if case.cost == "cross_entropy":
        Y = np.eye(n_L)[rng.integers(0, n_L, case.m)]
    elif case.cost == "binary_cross_entropy":
        Y = (rng.random((case.m, n_L)) < 0.5).astype(float)
    else:
        Y = rng.random((case.m, n_L))
    w = rng.random(case.m) + 0.1 if case.weights else None
    return X.astype(case.dtype), Y.astype(case.dtype), w


def _helper_module() -> Any:
    for name in ("deltaprop.engine._helper", "deltaprop._helper"):
        with contextlib.suppress(ModuleNotFoundError):
            return importlib.import_module(name)
    raise ModuleNotFoundError("the helper thread's module")


def _fast_module() -> Any:
    """The module whose _LOOPS says whether numba is installed."""
    for name in ("deltaprop.engine.support", "deltaprop.fast"):
        with contextlib.suppress(ModuleNotFoundError):
            return importlib.import_module(name)
    raise ModuleNotFoundError("the per-sample module")


@contextlib.contextmanager
def helper_mode(mode: str) -> Iterator[None]:
    """Every call site of the helper thread alone ("alone") or shared ("shared") while inside."""
    Site = _helper_module()._Site
    saved = Site.choose
    Site.choose = (lambda site: True) if mode == "shared" else (lambda site: False)
    try:
        yield
    finally:
        Site.choose = saved


@contextlib.contextmanager
def without_numba() -> Iterator[None]:
    """The per-sample module as if numba were absent."""
    fast = _fast_module()
    saved = fast._LOOPS
    fast._LOOPS = False
    try:
        yield
    finally:
        fast._LOOPS = saved


def run(name: str, path: str) -> list[np.ndarray]:
    """Train CASES[name] along ``path``; the final parameters, weights then biases."""
    case = CASES[name]
    X, Y, w = data(case)
    dropout = [case.dropout] + [0.0] * (len(case.sizes) - 3) if case.dropout else None
    net = Network(list(case.sizes), list(case.activations), case.cost, dtype=case.dtype, seed=1, dropout=dropout)
    kernel, _, mode = path.partition("/")
    if case.steps:
        with without_numba() if kernel == "numpy" else contextlib.nullcontext():
            sgd_steps = getattr(deltaprop, "sgd_steps", None) or importlib.import_module("deltaprop.fast").sgd_steps
            sgd_steps(net, X, Y, case.steps, 0.05, np.random.default_rng(2))
    else:
        with helper_mode(mode) if mode else contextlib.nullcontext():
            deltaprop.train(net, X, Y, epochs=case.epochs, batch_size=case.batch_size, optimizer=case.optimizer,
                            optimizer_options=case.options, sample_weight=w, seed=3, kernel=kernel)
    return net.weights + net.biases


def runs() -> list[tuple[str, str]]:
    """Every (case, path) pair."""
    return [(name, path) for name, case in CASES.items() for path in case.paths]


def digest(params: list[np.ndarray]) -> str:
    """SHA-256 of the parameters' dtypes, shapes and bytes, in order."""
    h = hashlib.sha256()
    for p in params:
        h.update(f"{p.dtype.str}{p.shape}".encode())
        h.update(np.ascontiguousarray(p).tobytes())
    return h.hexdigest()


def sample(params: list[np.ndarray], k: int = 8) -> list[list[float]]:
    """About k evenly spaced entries of each parameter (as float64: exact for float32 too)."""
    return [[float(v) for v in p.ravel()[:: max(1, p.size // k)]] for p in params]


def environment() -> dict[str, str]:
    """What decides the rounding besides the code: NumPy, numba, the machine and the BLAS kernels."""
    import platform

    import numba
    from threadpoolctl import threadpool_info

    with contextlib.suppress(ImportError):  # SciPy's BLAS (the upper layers' products): listed whether or not loaded
        import scipy.linalg.cython_blas  # noqa: F401

    blas = sorted({f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
                  for i in threadpool_info() if i.get("user_api") == "blas"})
    return {"numpy": np.__version__, "numba": numba.__version__, "machine": platform.machine(),
            "blas": "; ".join(blas)}
