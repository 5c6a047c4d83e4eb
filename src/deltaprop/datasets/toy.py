"""The small data sets that ship with the code: scikit-learn's 8x8 digits and Higham & Higham's points.

Examples
--------
>>> data = load_digits()
>>> data.X_train.shape, data.X_test.shape, data.classes[:3]
((1346, 64), (451, 64), (0, 1, 2))
>>> data.scaling
Scaling(kind='divide', scale=16.0, mean=None, std=None)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._base import Dataset, FloatArray, _split
from .scaling import Scaling

__all__ = ["higham_points", "load_digits", "one_hot"]


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
    from sklearn.datasets import load_digits as sk_load_digits  # optional dependency (the cli extra)

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
