"""The base of the data modules: :class:`Dataset`, the train/test split and the labels' indexing.

Every loader (toy, tabular, mnist) imports from here, and this module imports only
``scaling``, so the loaders never import each other.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .scaling import Scaling, _is_real

FloatArray = npt.NDArray[np.floating]
PathLike = str | os.PathLike[str]
TASKS = ("auto", "classification", "regression")
NAMED = ("digits", "mnist", "higham", "higham+1")  # the data sets known by name (``load_dataset``)
MAX_CLASSES = 50  # "auto": integer targets with more distinct values than this are a regression


class Outputs:
    """What a network needs of a data set's targets (``Dataset``, ``stream.StreamData``): K and n_L."""

    task: str
    classes: tuple[Any, ...]

    @property
    def n_classes(self) -> int:
        """K, the number of classes (0 for regression)."""
        return len(self.classes)

    @property
    def n_outputs(self) -> int:
        """n_L of a network for this data: K, or 1 for regression."""
        return 1 if self.task == "regression" else len(self.classes)


@dataclass(frozen=True, eq=False)
class Dataset(Outputs):
    """A data set split into training and test rows, inputs already scaled.

    Attributes
    ----------
    name : str
    X_train : ndarray of shape (m, n_0), float32
    y_train : ndarray of shape (m,)
        Classification: int64 class indices 0..K-1. Regression: float64 targets in their own units.
    X_test : ndarray of shape (m_test, n_0), float32
    y_test : ndarray of shape (m_test,), as y_train
    classes : tuple of K labels
        The original label of each class index, e.g. (0, ..., 9) or ("setosa", ...); () for regression.
    scaling : Scaling
        What was applied to the raw inputs.
    feature_names : tuple of n_0 str, or None
    task : {"classification", "regression"}
    target_scaling : Scaling or None
        Regression: the standardisation of the target fitted on the training rows (a network
        learns ``target_scaling.apply(y)``); None for classification.
    split : dict or None
        How a file's rows were split: ``{"seed", "test_fraction", "n_rows", "test_rows"}``, the
        last a list of the held-out data rows (0-based, in file order); None for fixed splits.
    """

    name: str
    X_train: FloatArray
    y_train: npt.NDArray[np.int64]
    X_test: FloatArray
    y_test: npt.NDArray[np.int64]
    classes: tuple[Any, ...]
    scaling: Scaling
    feature_names: tuple[str, ...] | None = None
    task: str = "classification"
    target_scaling: Scaling | None = None
    split: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        n_0, K = self.X_train.shape[1], len(self.classes)
        if self.task not in TASKS[1:]:
            raise ValueError(f"Dataset task must be 'classification' or 'regression', got {self.task!r}")
        if (self.task == "regression") != (self.target_scaling is not None):
            raise ValueError("Dataset target_scaling is needed for regression, and for regression only")
        for X, y, part in ((self.X_train, self.y_train, "train"), (self.X_test, self.y_test, "test")):
            if X.ndim != 2 or X.shape[1] != n_0 or y.shape != (X.shape[0],):
                raise ValueError(f"Dataset {part} split: X {X.shape} and y {y.shape} must be (m, {n_0}) and (m,)")
            if self.task == "classification" and y.size and (y.min() < 0 or y.max() >= K):
                raise ValueError(f"Dataset y_{part} must hold class indices 0..{K - 1}")
        if self.feature_names is not None and len(self.feature_names) != n_0:
            raise ValueError(f"Dataset has {n_0} features but {len(self.feature_names)} feature names")

    @property
    def n_features(self) -> int:
        """n_0, the number of input features."""
        return int(self.X_train.shape[1])



def typed_labels(texts: list[str]) -> list[Any]:
    """Labels as a file wrote them: ints when every one is an integer ("3", "3.0", "3e0"), floats when
    every one is another number, else the strings themselves."""
    try:
        values = [float(s) for s in texts]
    except ValueError:
        return texts
    if not all(math.isfinite(v) for v in values):
        return texts
    if all(v.is_integer() for v in values):
        return [int(v) for v in values]
    return values


def choose_task(labels: list[Any], task: str, source: str) -> str:
    """ "classification" or "regression" for these labels; ``task`` "auto" decides by the rule below.

    "auto" picks regression for numbers that are not all integers, or for more than MAX_CLASSES
    distinct integers; classification for strings and for integers with few distinct values.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    numeric = all(_is_real(v) for v in labels)
    if task == "regression" and not numeric:
        first = next(v for v in labels if not _is_real(v))
        raise ValueError(f"{source}: a regression needs numeric targets, got the label {first!r}; "
                         "use --task classification")
    if task != "auto":
        return task
    if not numeric:
        return "classification"
    if not all(float(v).is_integer() for v in labels) or len(set(labels)) > MAX_CLASSES:
        return "regression"
    return "classification"


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


def _targets(labels: list[Any], task: str, classes: list[Any]) -> np.ndarray:
    """(m,) class indices into ``classes`` (int64), or the numbers themselves for regression (float64)."""
    if task == "regression":
        return np.array(labels, dtype=np.float64)
    index = {c: k for k, c in enumerate(classes)}
    return np.array([index[v] for v in labels], dtype=np.int64)


def held_out(labels: list[Any], task: str, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test) of a file's labelled rows: stratified by class for a classification,
    a plain shuffle for a regression. The same labels, task, fraction and seed give the same split."""
    y = _targets(labels, task, sorted(set(labels)))
    return _split(np.zeros(len(y)) if task == "regression" else y, test_fraction, seed)


def unit_or_standardized(low: float, high: float, standardize: Callable[[], Scaling]) -> Scaling:
    """The scaling of an .npz file's (and a streamed data set's) inputs, whose values lie in [low, high]:
    none when they all lie in [0, 1], else ``standardize()`` (fitted to the training rows)."""
    return Scaling.identity() if 0 <= low and high <= 1 else standardize()


def _make(name: str, X: np.ndarray, labels: list[Any], X_test: np.ndarray | None,
          labels_test: list[Any] | None, test_fraction: float, seed: int, source: str,
          feature_names: tuple[str, ...] | None, *, always_standardize: bool, task: str = "auto") -> Dataset:
    """Choose the task, index the labels, split if there is no test set, scale, and build the Dataset."""
    task = choose_task(labels + (labels_test or []), task, source)
    classes = sorted(set(labels) | set(labels_test or [])) if task == "classification" else []
    if task == "classification" and len(classes) < 2:
        raise ValueError(f"{source}: only {len(classes)} distinct label ({classes[0]!r}); "
                         "classification needs at least 2 classes")
    y = _targets(labels, task, classes)
    split = None
    if X_test is None or labels_test is None:
        train, test = held_out(labels, task, test_fraction, seed)
        split = {"seed": seed, "test_fraction": test_fraction, "n_rows": len(y),
                 "test_rows": sorted(test.tolist())}
        X, y, X_test, y_test = X[train], y[train], X[test], y[test]
    else:
        y_test = _targets(labels_test, task, classes)
    low, high = min(X.min(), X_test.min()), max(X.max(), X_test.max())
    scaling = (Scaling.standardize_from(X) if always_standardize
               else unit_or_standardized(low, high, lambda: Scaling.standardize_from(X)))
    target_scaling = Scaling.standardize_from(y.reshape(-1, 1)) if task == "regression" else None
    return Dataset(name, scaling.apply(X).astype(np.float32), y, scaling.apply(X_test).astype(np.float32),
                   y_test, tuple(classes), scaling, feature_names, task, target_scaling, split)
