"""The playground's two-dimensional data sets: points (m, 2) with integer class labels (m,).

Every generator is seeded, so a data set is the same on every run. ``make_data(name)`` returns a
:class:`Points` with a training and a test split; an uploaded CSV file goes through the project's
strict reader (:func:`deltaprop.datasets.read_labelled`) on a temporary file the server names.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..datasets import higham_points, read_labelled

__all__ = ["DATASETS", "MAX_UPLOAD_BYTES", "Points", "from_csv_bytes", "make_data", "targets"]

MAX_UPLOAD_BYTES = 1 << 20  # 1 MiB: ample for a 2-D data set, small enough to parse at once
MAX_POINTS = 5000


@dataclass(frozen=True)
class Points:
    """A labelled 2-D data set.

    Attributes
    ----------
    name : str
    X, X_test : ndarray of shape (m, 2) and (m_test, 2)
    y, y_test : ndarray of shape (m,) and (m_test,), class indices 0..k-1
    classes : tuple
        The k class labels, in index order.
    extent : tuple of 4 floats
        (x1 min, x1 max, x2 min, x2 max) of the plotted square.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[Any, ...]
    extent: tuple[float, float, float, float]

    @property
    def k(self) -> int:
        """The number of classes."""
        return len(self.classes)


def _extent(X: np.ndarray) -> tuple[float, float, float, float]:
    """A square around the points with a margin of a tenth of its side."""
    lo, hi = X.min(axis=0), X.max(axis=0)  # (2,)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * 1.1
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def _split(name: str, X: np.ndarray, y: np.ndarray, classes: tuple[Any, ...],
           extent: tuple[float, float, float, float] | None = None) -> Points:
    """Every other point for testing (the generators shuffle), the rest for training."""
    return Points(name, X[0::2], y[0::2], X[1::2], y[1::2], classes, extent or _extent(X))


def _xor(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1, 1, (m, 2))
    X += np.sign(X) * 0.05  # a gap along the axes
    return X, (X[:, 0] * X[:, 1] < 0).astype(np.int64)


def _circles(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, m)
    r = np.where(y == 0, rng.uniform(0, 0.45, m), rng.uniform(0.65, 1.0, m))
    t = rng.uniform(0, 2 * np.pi, m)
    return np.column_stack([r * np.cos(t), r * np.sin(t)]), y


def _spirals(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, m)
    s = rng.uniform(0, 1, m)
    t = 1.75 * 2 * np.pi * s + np.pi * y  # two arms, half a turn apart
    r = 0.05 + 0.95 * s
    X = np.column_stack([r * np.cos(t), r * np.sin(t)]) + rng.normal(0, 0.02, (m, 2))
    return X, y


def _blobs(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, m)
    centres = np.array([[-0.5, -0.4], [0.5, 0.4]])
    return centres[y] + rng.normal(0, 0.25, (m, 2)), y


_GENERATORS = {"xor": _xor, "circles": _circles, "spirals": _spirals, "blobs": _blobs}
DATASETS = ("higham", "higham+1", *_GENERATORS, "clicked")


def make_data(name: str, *, seed: int = 0, m: int = 200) -> Points:
    """A data set by name: one of ``DATASETS``.

    "higham" and "higham+1" are Higham & Higham's 10 (11) points, tested on themselves; the
    generated sets hold m points of two classes, half of them for testing; "clicked" starts empty.

    Examples
    --------
    >>> make_data("higham").X.shape, make_data("xor").X.shape
    ((10, 2), (100, 2))
    """
    if name in ("higham", "higham+1"):
        X, Y = higham_points(extra_point=name == "higham+1")
        y = Y.argmax(axis=1).astype(np.int64)
        return Points(name, X, y, X.copy(), y.copy(), ("A", "B"), (0.0, 1.0, 0.0, 1.0))
    if name == "clicked":
        empty = np.zeros((0, 2))
        return Points(name, empty, np.zeros(0, np.int64), empty, np.zeros(0, np.int64), ("A", "B"),
                      (-1.0, 1.0, -1.0, 1.0))
    if name not in _GENERATORS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    X, y = _GENERATORS[name](np.random.default_rng(seed), m)
    return _split(name, X, y, ("A", "B"), (-1.2, 1.2, -1.2, 1.2))


def add_point(data: Points, x1: float, x2: float, label: int) -> Points:
    """The data set with one more training (and test) point, as clicked on the plot."""
    if not (np.isfinite(x1) and np.isfinite(x2)):
        raise ValueError(f"a point needs finite coordinates, got ({x1}, {x2})")
    if label not in range(data.k):
        raise ValueError(f"a point's class must be one of 0..{data.k - 1}, got {label!r}")
    if len(data.X) >= MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS} points")
    X = np.vstack([data.X, [[x1, x2]]])
    y = np.append(data.y, label)
    return Points("clicked", X, y, X.copy(), y.copy(), data.classes, data.extent)


def from_csv_bytes(body: bytes) -> Points:
    """A data set from an uploaded CSV file: a header row, two feature columns, then the label column.

    The bytes are written to a temporary file that the server names and removes, and read by
    :func:`deltaprop.datasets.read_labelled`, the reader of ``deltaprop train --dataset FILE.csv``.
    Every fourth row is held out for testing.

    Raises
    ------
    ValueError
        For a file over ``MAX_UPLOAD_BYTES``, anything the CSV reader refuses, a number of feature
        columns other than 2, fewer than 2 classes, or more than ``MAX_POINTS`` rows.
    """
    if len(body) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the CSV file has {len(body)} bytes; at most {MAX_UPLOAD_BYTES} are accepted")
    with tempfile.TemporaryDirectory(prefix="deltaprop-playground-") as folder:
        path = os.path.join(folder, "upload.csv")
        with open(path, "wb") as f:
            f.write(body)
        try:
            X, labels = read_labelled(path)
        except ValueError as exc:  # name the upload, not the temporary file
            raise ValueError(str(exc).replace(path, "uploaded CSV")) from None
    if X.shape[1] != 2:
        raise ValueError(f"uploaded CSV: expected 2 feature columns and a label column (the last), "
                         f"got {X.shape[1]} feature columns")
    if len(X) > MAX_POINTS:
        raise ValueError(f"uploaded CSV: at most {MAX_POINTS} rows, got {len(X)}")
    classes = tuple(sorted(set(labels), key=str))
    if len(classes) < 2:
        raise ValueError(f"uploaded CSV: needs at least 2 classes in the label column, got {list(classes)}")
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in labels], np.int64)
    test = np.arange(len(X)) % 4 == 3
    if test.all() or not test.any():
        test[:] = False
        return Points("uploaded CSV", X, y, X.copy(), y.copy(), classes, _extent(X))
    return Points("uploaded CSV", X[~test], y[~test], X[test], y[test], classes, _extent(X))


def targets(y: np.ndarray, n_L: int, k: int) -> np.ndarray:
    """Targets for an output layer of n_L units: one-hot (m, k) when n_L = k, labels (m, 1) when n_L = 1.

    Raises ValueError when neither fits, naming the widths that would.
    """
    if n_L == 1 and k == 2:
        return y.astype(np.float64)[:, None]  # (m, 1): class B is 1
    if n_L == k:
        return np.eye(k)[y]  # (m, k)
    raise ValueError(f"the data has {k} classes; the output layer needs n_L = {k}"
                     + (" (or 1)" if k == 2 else "") + f", got n_L = {n_L}")
