"""Data sets: the digits and MNIST images, Higham & Higham's toy points, CSV and NPZ files.

Every loader returns a :class:`Dataset` whose inputs are already scaled, with the
:class:`Scaling` that was applied, so a saved model can apply the same map to new rows
(:func:`read_features` returns them raw).

Examples
--------
>>> data = load_digits()
>>> data.X_train.shape, data.X_test.shape, data.classes[:3]
((1346, 64), (451, 64), (0, 1, 2))
>>> data.scaling
Scaling(kind='divide', scale=16.0, mean=None, std=None)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .scaling import Scaling, _is_real

__all__ = [
    "MNIST_SHA256", "MNIST_URL", "Dataset", "Scaling", "higham_points", "load_csv", "load_dataset", "load_digits",
    "load_mnist", "load_npz", "one_hot", "read_features", "read_labelled",
]

FloatArray = npt.NDArray[np.floating]
PathLike = str | os.PathLike[str]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set split into training and test rows, inputs already scaled.

    Attributes
    ----------
    name : str
    X_train : ndarray of shape (m, n_0), float32
    y_train : ndarray of shape (m,), int64, class indices 0..K-1
    X_test : ndarray of shape (m_test, n_0), float32
    y_test : ndarray of shape (m_test,), int64
    classes : tuple of K labels
        The original label of each class index, e.g. (0, ..., 9) or ("setosa", ...).
    scaling : Scaling
        What was applied to the raw inputs.
    feature_names : tuple of n_0 str, or None
    """

    name: str
    X_train: FloatArray
    y_train: npt.NDArray[np.int64]
    X_test: FloatArray
    y_test: npt.NDArray[np.int64]
    classes: tuple[Any, ...]
    scaling: Scaling
    feature_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        n_0, K = self.X_train.shape[1], len(self.classes)
        for X, y, part in ((self.X_train, self.y_train, "train"), (self.X_test, self.y_test, "test")):
            if X.ndim != 2 or X.shape[1] != n_0 or y.shape != (X.shape[0],):
                raise ValueError(f"Dataset {part} split: X {X.shape} and y {y.shape} must be (m, {n_0}) and (m,)")
            if y.size and (y.min() < 0 or y.max() >= K):
                raise ValueError(f"Dataset y_{part} must hold class indices 0..{K - 1}")
        if self.feature_names is not None and len(self.feature_names) != n_0:
            raise ValueError(f"Dataset has {n_0} features but {len(self.feature_names)} feature names")

    @property
    def n_features(self) -> int:
        """n_0, the number of input features."""
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        """K, the number of classes."""
        return len(self.classes)


def load_digits(*, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Load scikit-learn's bundled 8x8 digits (1,797 images, no download), divided by 16.

    Parameters
    ----------
    test_fraction : float in (0, 1)
        Share of each class held out for testing (stratified split).
    seed : int
        Seed of the split; the same seed gives the same split.

    Returns
    -------
    Dataset
        n_0 = 64 features in [0, 1], K = 10 classes (0, ..., 9).
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    scaling = Scaling.divide(16.0)
    X = scaling.apply(bunch.data).astype(np.float32)
    train, test = _split(bunch.target, test_fraction, seed)
    y = bunch.target.astype(np.int64)
    return Dataset("digits", X[train], y[train], X[test], y[test], tuple(range(10)), scaling,
                   tuple(bunch.feature_names))






def higham_points(*, extra_point: bool = False) -> tuple[FloatArray, FloatArray]:
    """Return the ten labelled points of Higham & Higham (2019), arXiv:1801.05894.

    Parameters
    ----------
    extra_point : bool
        Add the eleventh point (0.3, 0.7) of class B.

    Returns
    -------
    X : ndarray of shape (10, 2), or (11, 2) with the extra point
    Y : ndarray of shape (10, 2), or (11, 2)
        One-hot targets: [1, 0] for class A (the first five points), [0, 1] for class B.

    Examples
    --------
    >>> X, Y = higham_points()
    >>> X[0], Y[0], Y[9]
    (array([0.1, 0.1]), array([1., 0.]), array([0., 1.]))
    """
    x1 = [0.1, 0.3, 0.1, 0.6, 0.4, 0.6, 0.5, 0.9, 0.4, 0.7]
    x2 = [0.1, 0.4, 0.5, 0.9, 0.2, 0.3, 0.6, 0.2, 0.4, 0.6]
    labels = [0] * 5 + [1] * 5
    if extra_point:
        x1, x2, labels = x1 + [0.3], x2 + [0.7], labels + [1]
    X = np.column_stack([x1, x2]).astype(np.float64)  # (m, 2)
    return X, one_hot(np.asarray(labels), 2)






def load_dataset(spec: PathLike, *, data_dir: PathLike | None = None, target: str | None = None,
                 seed: int = 0) -> Dataset:
    """Load a data set by name or path: "digits", "mnist", "higham", "higham+1", or a ``.csv`` or ``.npz`` file.

    ``data_dir`` is used for "mnist" only; ``target`` applies to CSV files only.
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"data set must be a name or a path, got {type(spec).__name__}")
    text = os.fspath(spec)
    if target is not None and not text.lower().endswith(".csv"):
        raise ValueError(f"target={target!r} applies to CSV files only, got data set {text!r}")
    if text == "digits":
        return load_digits(seed=seed)
    if text == "mnist":
        return load_mnist(data_dir)
    if text in ("higham", "higham+1"):
        # Higham & Higham's ten points (eleven with the extra class-B point); there is no
        # held-out data, so the test split is the training set itself.
        X, Y = higham_points(extra_point=text == "higham+1")
        y = Y.argmax(axis=1).astype(np.int64)
        return Dataset(text, X, y, X.copy(), y.copy(), ("A", "B"), Scaling.identity(), ("x1", "x2"))
    if text.lower().endswith(".csv"):
        return load_csv(spec, target=target, seed=seed)
    if text.lower().endswith(".npz"):
        return load_npz(spec, seed=seed)
    raise ValueError(f"unknown data set {text!r}; expected 'digits', 'mnist', 'higham', 'higham+1', or a path ending in .csv or .npz")




def one_hot(y: npt.ArrayLike, n_classes: int) -> FloatArray:
    """Return the one-hot matrix of class indices.

    Parameters
    ----------
    y : array_like of shape (m,), integers in 0..K-1
    n_classes : int
        K.

    Returns
    -------
    ndarray of shape (m, K), float64

    Examples
    --------
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and y.dtype.kind not in "iu"):
        raise TypeError(f"y must be a 1-D array of integer class indices, got {y.dtype} {y.shape}")
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"n_classes must be an int >= 1, got {n_classes!r}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"y must hold class indices in 0..{n_classes - 1}, got values {y.min()}..{y.max()}")
    Y = np.zeros((y.size, n_classes))
    Y[np.arange(y.size), y] = 1.0
    return Y


# ---------------------------------------------------------------------------------------------
# Private helpers: validation, splitting, CSV parsing, MNIST files.


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: row indices (train, test), each shuffled by default_rng(seed)."""
    if not (_is_real(test_fraction) and 0 < test_fraction < 1):
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for k in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == k))
        n_test = math.floor(test_fraction * len(members) + 0.5)
        test.append(members[:n_test])
        train.append(members[n_test:])
    train_idx, test_idx = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    if not len(train_idx) or not len(test_idx):
        raise ValueError(f"{len(y)} rows are too few to split with test_fraction={test_fraction}")
    return train_idx, test_idx


def _make(name: str, X: np.ndarray, labels: list[Any], X_test: np.ndarray | None,
          labels_test: list[Any] | None, test_fraction: float, seed: int, source: str,
          feature_names: tuple[str, ...] | None, *, always_standardize: bool) -> Dataset:
    """Index the labels, split if there is no test set, scale, and build the Dataset."""
    classes = sorted(set(labels) | set(labels_test or []))
    if len(classes) < 2:
        raise ValueError(f"{source}: only {len(classes)} distinct label ({classes[0]!r}); "
                         "classification needs at least 2 classes")
    index = {c: k for k, c in enumerate(classes)}
    y = np.array([index[v] for v in labels], dtype=np.int64)
    if X_test is None or labels_test is None:
        train, test = _split(y, test_fraction, seed)
        X, y, X_test, y_test = X[train], y[train], X[test], y[test]
    else:
        y_test = np.array([index[v] for v in labels_test], dtype=np.int64)
    in_unit = all(0 <= A.min() and A.max() <= 1 for A in (X, X_test))
    scaling = Scaling.identity() if in_unit and not always_standardize else Scaling.standardize_from(X)
    return Dataset(name, scaling.apply(X).astype(np.float32), y, scaling.apply(X_test).astype(np.float32),
                   y_test, tuple(classes), scaling, feature_names)


# The loaders that live in their own modules, re-exported here (defined after the names they use).
from .mnist import MNIST_SHA256, MNIST_URL, load_mnist  # noqa: E402
from .tabular import load_csv, load_npz, read_features, read_labelled  # noqa: E402
