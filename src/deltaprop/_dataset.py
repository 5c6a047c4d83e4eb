"""The base of the data modules: :class:`Dataset`, the train/test split and the labels' indexing.

Every loader (datasets, tabular, mnist) imports from here, and this module imports only
``scaling``, so the loaders never import each other.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .scaling import Scaling, _is_real

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
