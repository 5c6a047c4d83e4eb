r"""Data sets bigger than memory: a Parquet file, or a folder of Parquet files or of ``.npy`` shards, read in chunks.

Layout
------
- ``PATH.parquet``: one Parquet file; a chunk is a row group. Every column is numeric except the
  target, which may also hold text; ``target`` names it (default: the last column).
- ``DIR/`` of ``*.parquet``: the files in name order, all with the same columns.
- ``DIR/`` of ``*.npy`` (or one ``PATH.npy``): 2-D numeric arrays of the same width in name order,
  memory-mapped (never unpickled); the columns are named "1", "2", ... as in a CSV file without a
  header, and ``target`` picks one (default: the last). A chunk is at most CHUNK_BYTES of a shard.

The rows are numbered in file order; the last ``test_fraction`` of them are held out for testing
(nothing is shuffled before the split, so a file sorted by class or by time should be shuffled when
written). :func:`open_stream` reads everything once: the inputs' mean and variance (Chan's merge of
per-block moments, in float64) and range, the distinct targets, and a SHA-256 of the values; the
inputs are then scaled as an ``.npz`` file's are (used as they are when all lie in [0, 1], else
standardised with the training rows' statistics). :meth:`StreamData.read` gives raw chunks again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._base import NAMED, TASKS, Outputs, PathLike, choose_task, unit_or_standardized
from ._shards import Chunk, Transform, _Files
from .scaling import Scaling

BLOCK_ROWS = 4096  # rows per block of the moments: bounds the float64 temporaries of a chunk
ABSENT = 5  # a class with this many held-out rows expected (by its share of the training rows) and none is noted
MAX_DISTINCT = 10_000  # distinct targets remembered; more are a regression's (or too many classes)


@dataclass
class Moments:
    r"""Count, mean and sum of squared deviations M2 of the rows seen, per column, in float64.

    ``merge`` is Chan, Golub and LeVeque's pairwise update: with delta = mean_b - mean_a,
    mean = mean_a + delta n_b / n and M2 = M2_a + M2_b + delta^2 n_a n_b / n; the variance is M2 / n.
    """

    n: int = 0
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    M2: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def add(self, X: np.ndarray) -> None:
        """Merge the rows of X (k, n) in blocks of BLOCK_ROWS."""
        for s in range(0, X.shape[0], BLOCK_ROWS):
            block = X[s:s + BLOCK_ROWS].astype(np.float64)  # (k_b, n)
            mean = block.mean(axis=0)
            block -= mean
            self.merge(Moments(block.shape[0], mean, np.einsum("ij,ij->j", block, block)))

    def merge(self, other: Moments) -> None:
        """Combine with the moments of other rows (Chan's update)."""
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.M2 = other.n, other.mean.copy(), other.M2.copy()
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        self.mean = self.mean + delta * (other.n / n)
        self.M2 = self.M2 + other.M2 + delta ** 2 * (self.n * other.n / n)
        self.n = n

    @property
    def std(self) -> np.ndarray:
        """The population standard deviation sqrt(M2 / n) of every column."""
        return np.sqrt(self.M2 / self.n)


@dataclass
class StreamData(Outputs):
    """A streamed data set after its one pass: how to read it, and what the pass found.

    Attributes
    ----------
    name : str
    n_rows, n_train, n_test : int
        Rows 0..n_train-1 train, the last n_test are the test rows.
    n_features : int
        n_0.
    task : {"classification", "regression"}
    classes : tuple of K labels (() for a regression)
    scaling : Scaling
    target_scaling : Scaling or None
    distinct : ndarray
        The distinct targets (at most MAX_DISTINCT of them), for saying why the task is what it is.
    digest : str
        SHA-256 of every value, row by row.
    test_only : tuple
        Classes that only the held-out last rows hold (a file sorted by its target: the model never
        trains on them); () when every test class is also among the training rows.
    train_only : tuple
        Classes that the held-out rows lack although, by their share of the training rows, at least
        ABSENT of them were to be expected there (a file sorted by its target: the test score does
        not measure them); rarer classes are not listed, their absence may be chance.
    """

    name: str
    files: _Files
    n_train: int
    n_test: int
    task: str
    classes: tuple[Any, ...]
    scaling: Scaling
    target_scaling: Scaling | None
    distinct: np.ndarray
    digest: str
    test_fraction: float
    test_only: tuple[Any, ...] = ()
    train_only: tuple[Any, ...] = ()

    @property
    def n_rows(self) -> int:
        """All rows, train and test."""
        return self.n_train + self.n_test

    @property
    def n_features(self) -> int:
        """n_0, the number of input features."""
        return len(self.files.features)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The names of the n_0 feature columns."""
        return tuple(self.files.columns[c] for c in self.files.features)

    def chunks(self, start: int, stop: int) -> list[Chunk]:
        """The chunks of rows start..stop-1 (cut where they cross start or stop)."""
        return [Chunk(c.file, c.group, c.start + max(0, start - c.row), c.stop - max(0, c.row + c.rows - stop),
                      max(start, c.row))
                for c in self.files.chunks if c.row < stop and c.row + c.rows > start]

    def read(self, chunk: Chunk, out: np.ndarray | None = None,
             transform: Transform | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (k, n_0), each block of raw rows through ``transform`` into ``out`` (see ``_Files.read``),
        and the targets (k,): class indices (int64) or numbers (float64)."""
        X, labels = self.files.read(chunk, out, transform)
        if self.task == "regression":
            return X, labels.astype(np.float64)
        return X, np.searchsorted(np.asarray(self.classes), _labels(labels)).astype(np.int64)


def _labels(values: np.ndarray) -> np.ndarray:
    """Targets as their labels: text stays text, floats that are all integers become integers."""
    if values.dtype.kind in "OUS":
        return values.astype(str)
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values


def is_streamed(spec: PathLike) -> bool:
    """True for what :func:`open_stream` reads: a .parquet or .npy file, or a folder (a named data set
    such as "mnist" stays itself beside a folder of that name, unless written "mnist/")."""
    text = os.fspath(spec)
    if text in NAMED:
        return False
    return text.lower().endswith((".parquet", ".npy")) or os.path.isdir(text) or text.endswith(("/", os.sep))


def open_stream(path: PathLike, *, target: str | None = None, task: str = "auto", test_fraction: float = 0.25,
                min_classes: int = 2, check_width: Callable[[int], None] | None = None) -> StreamData:
    """Read a streamed data set once (see the module docstring) and describe it.

    Parameters
    ----------
    path : str or path-like
        A .parquet file, a folder of .parquet files or of .npy shards, or one .npy file.
    target : str, optional
        The target column (a name; for .npy shards its number "1", "2", ...); default the last.
    task : {"auto", "classification", "regression"}
        As for a CSV file.
    test_fraction : float in (0, 1)
        The share of rows held out for testing: the last ones.
    min_classes : int
        The fewest distinct labels of a classification: 2 to train on; 1 for rows scored by a model
        that knows its classes (``deltaprop evaluate``).
    check_width : callable, optional
        Called with n_0, the number of feature columns, once the columns are known (from the files'
        metadata) and before the pass over the values; it raises to refuse the data.

    Returns
    -------
    StreamData

    Raises
    ------
    ValueError
        One line naming the file and what was expected: no such path, an empty folder, mixed
        kinds or widths, a non-numeric column, a missing target, a NaN or Inf, too few rows.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    files = _Files(path).with_target(target)
    if check_width is not None:
        check_width(len(files.features))
    m = files.n_rows
    n_test = int(np.floor(test_fraction * m + 0.5))
    if n_test < 1 or n_test >= m:
        raise ValueError(f"--dataset {path}: {m} rows are too few to hold out {test_fraction:g} of them for testing")
    n_train = m - n_test
    moments, y_moments = Moments(), Moments()
    low, high = np.inf, -np.inf
    distinct: np.ndarray | None = None
    many, numeric = False, True
    in_train: dict[Any, int] = {}  # the labels of the training rows and their counts (while few enough to be classes)
    in_test: set[Any] = set()  # ... and those of the held-out rows
    digest = hashlib.sha256(str((files.kind, files.columns, files.target)).encode())
    rows = max(c.rows for c in files.chunks)
    buffers: dict[type, np.ndarray] = {}  # one chunk's rows (rows, n_0) per float type, filled again and again
    for chunk in files.chunks:
        kind = files.float_type(chunk)
        X, y = files.read(chunk, buffers.setdefault(kind, np.empty((rows, len(files.features)), kind))[:chunk.rows])
        files.check_finite(chunk, X, y)
        digest.update(X.data)  # X is contiguous: hashed without a copy
        digest.update(np.ascontiguousarray(y.astype(str) if y.dtype.kind == "O" else y).data)
        train = max(0, min(chunk.rows, n_train - chunk.row))  # the chunk's first `train` rows are training rows
        moments.add(X[:train])
        low, high = min(low, float(X.min())), max(high, float(X.max()))
        labels = _labels(y)
        numeric = numeric and labels.dtype.kind in "biuf"
        if numeric:
            y_moments.add(labels[:train].reshape(-1, 1))
        if not many:
            seen = np.unique(labels)
            distinct = seen if distinct is None else np.union1d(distinct, seen)
            many = len(distinct) > MAX_DISTINCT
            for c, k in zip(*np.unique(labels[:train], return_counts=True)):
                in_train[c.item()] = in_train.get(c.item(), 0) + int(k)
            in_test.update(np.unique(labels[train:]).tolist())
        del X, y
    assert distinct is not None  # at least one row was read
    values = distinct.tolist()
    if many and numeric:  # more distinct numbers than could be classes: choose_task's "auto" rule, without the list
        task = "regression" if task == "auto" else task
    else:
        task = choose_task(values, task, str(path))
    classes: tuple[Any, ...] = ()
    test_only: tuple[Any, ...] = ()
    train_only: tuple[Any, ...] = ()
    target_scaling = None
    if task == "classification":
        if many:
            raise ValueError(f"--dataset {path}: more than {MAX_DISTINCT} distinct targets; "
                             "too many classes (use --task regression for numbers)")
        if len(values) < min_classes:
            raise ValueError(f"--dataset {path}: only {len(values)} distinct label ({values[0]!r}); "
                             f"classification needs at least {min_classes} classes")
        classes = tuple(values)
        test_only = tuple(c for c in classes if c not in in_train)
        train_only = tuple(c for c in classes if c not in in_test and in_train.get(c, 0) * n_test >= ABSENT * n_train)
    else:
        target_scaling = Scaling.standardized(y_moments.mean, y_moments.std)
    scaling = unit_or_standardized(low, high, lambda: Scaling.standardized(moments.mean, moments.std))
    name = files.path.stem if files.path.is_file() else files.path.name
    return StreamData(name, files, n_train, n_test, task, classes, scaling, target_scaling,
                      distinct[:MAX_DISTINCT], digest.hexdigest(), test_fraction, test_only, train_only)

