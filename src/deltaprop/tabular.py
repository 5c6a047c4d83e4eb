"""User data: CSV files (a header row, one label column) and NPZ archives (arrays X and y).

Loaders return a :class:`~deltaprop.datasets.Dataset` with features standardised by the training
split's statistics; :func:`read_features` and :func:`read_labelled` return raw rows, to which a
saved model applies its own scaling.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._dataset import Dataset, FloatArray, PathLike, _is_int, _make
from .scaling import _check_finite

def load_csv(path: PathLike, *, target: str | None = None, test_fraction: float = 0.25,
             seed: int = 0) -> Dataset:
    """Load a CSV file with a header row: one label column, all other columns numeric.

    Parameters
    ----------
    path : str or path-like
    target : str, optional
        Name of the label column; default the last column. Labels may be integers or strings.
    test_fraction : float in (0, 1)
        Share of each class held out for testing (stratified split).
    seed : int

    Returns
    -------
    Dataset
        Features standardised with the training split's statistics; ``classes`` are the
        sorted distinct labels and y indexes them.

    Raises
    ------
    ValueError
        One line naming the file and the problem: empty file, header only, a ragged row, a
        non-numeric or non-finite cell (row numbered as in the file, the header being row 1,
        and the column name), an unknown target, fewer than 2 classes.
    """
    X, labels, names = _csv_labelled(path, target)
    return _make(Path(path).stem, X, labels, None, None, test_fraction, seed, str(path), names,
                 always_standardize=True)


def _csv_labelled(path: PathLike, target: str | None) -> tuple[np.ndarray, list[Any], tuple[str, ...]]:
    """Raw features (m, n_0), labels (ints when all are integers) and feature names of a CSV file."""
    header, rows = _read_csv(path)
    if target is None:
        target = header[-1]
    if target not in header:
        raise ValueError(f"{path}: no column named {target!r}; the columns are {', '.join(map(repr, header))}")
    if len(header) < 2:
        raise ValueError(f"{path}: only the column {target!r}; at least one feature column is needed")
    t = header.index(target)
    features = [c for c in range(len(header)) if c != t]
    X = _numbers(path, header, rows, features)  # (m, n_0)
    labels: list[Any] = []
    for line, row in rows:
        if not row[t].strip():
            raise ValueError(f"{path}: row {line}, column {target!r}: empty label")
        labels.append(row[t].strip())
    if all(_is_int(s) for s in labels):
        labels = [int(s) for s in labels]
    return X, labels, tuple(header[c] for c in features)


def load_npz(path: PathLike, *, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Load a ``.npz`` file with arrays X (m, n_0) and y (m,), optionally X_test and y_test.

    Inputs are used as they are when all lie in [0, 1], else standardised with the training
    split's statistics. Without X_test/y_test, a stratified split holds out test_fraction.
    Labels (integers or strings) become indices into the sorted distinct labels. The file is
    read with ``allow_pickle=False``.

    Raises
    ------
    ValueError
        Naming the file: missing keys, wrong ndim, mismatched lengths, NaN/Inf, non-numeric X.
    """
    arrays = _npz_arrays(path)
    y_test = arrays["y_test"].tolist() if "y_test" in arrays else None
    return _make(Path(path).stem, arrays["X"], arrays["y"].tolist(), arrays.get("X_test"), y_test,
                 test_fraction, seed, str(path), None, always_standardize=False)


def read_features(path: PathLike, *, n_features: int) -> FloatArray:
    """Read raw (unscaled) input rows to predict from a ``.csv`` (header row) or ``.npy`` file.

    Parameters
    ----------
    path : str or path-like
        A CSV file with exactly n_features numeric columns, or a 2-D ``.npy`` array.
    n_features : int
        n_0 of the model that will predict.

    Returns
    -------
    ndarray of shape (m, n_features), float64
    """
    text = os.fspath(path).lower()
    if text.endswith(".csv"):
        header, rows = _read_csv(path)
        X = _numbers(path, header, rows, list(range(len(header))))
    elif text.endswith(".npy"):
        X = _np_load(path)
        if hasattr(X, "files"):
            raise ValueError(f"{path}: an .npz archive; expected a single .npy array")
        if X.ndim != 2 or X.dtype.kind not in "biuf" or X.shape[0] == 0:
            raise ValueError(f"{path}: expected a non-empty 2-D numeric array, got {X.dtype} {X.shape}")
        _check_finite(X, str(path))
    else:
        raise ValueError(f"{path}: expected a .csv or .npy file")
    if X.shape[1] != n_features:
        hint = " (drop the label column?)" if X.shape[1] == n_features + 1 else ""
        raise ValueError(f"{path}: expected {n_features} feature columns, got {X.shape[1]}{hint}")
    return X.astype(np.float64)


def _read_csv(path: PathLike) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Return the header and the data rows as (line number, cells); blank lines are skipped."""
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            for cells in reader:
                if not cells:
                    continue
                if header is None:
                    header = [c.strip() for c in cells]
                elif len(cells) != len(header):
                    raise ValueError(f"{path}: row {reader.line_num} has {len(cells)} cells, "
                                     f"the header has {len(header)}")
                else:
                    rows.append((reader.line_num, cells))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a readable UTF-8 CSV file near row {reader.line_num} ({exc})") from None
    if header is None:
        raise ValueError(f"{path}: empty file; expected a header row and data rows")
    if not rows:
        raise ValueError(f"{path}: header only, no data rows")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise ValueError(f"{path}: the header repeats the column name(s) {', '.join(map(repr, repeated))}")
    return header, rows


def _numbers(path: PathLike, header: list[str], rows: list[tuple[int, list[str]]],
             columns: list[int]) -> np.ndarray:
    """Parse the given columns as finite floats; errors name the file's row and the column."""
    table = np.array([[cells[c] for c in columns] for _, cells in rows], dtype=str)  # (m, n_0)
    try:
        X = table.astype(np.float64)
    except ValueError:  # find the first bad cell, in file order
        for line, cells in rows:
            for c in columns:
                try:
                    float(cells[c])
                except ValueError:
                    raise ValueError(f"{path}: row {line}, column {header[c]!r}: {cells[c]!r} "
                                     "is not a number") from None
        X = np.array([[float(cells[c]) for c in columns] for _, cells in rows])  # numpy was stricter
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, j = bad[0]
        line, cells = rows[i]
        raise ValueError(f"{path}: row {line}, column {header[columns[j]]!r}: {cells[columns[j]]!r} is not "
                         "finite (NaN and Inf are not allowed)")
    big = np.argwhere(np.abs(X) > np.finfo(np.float32).max)
    if len(big):
        i, j = big[0]
        line, cells = rows[i]
        raise ValueError(f"{path}: row {line}, column {header[columns[j]]!r}: {cells[columns[j]]!r} is too large "
                         f"(magnitude above {np.finfo(np.float32).max:.3g}, the float32 range)")
    return X


def _np_load(path: PathLike) -> Any:
    """np.load without pickles; a file NumPy cannot read gives a ValueError naming it."""
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path}: not a NumPy .npy/.npz file, or it holds pickled objects ({exc})") from None



def _npz_arrays(path: PathLike) -> dict[str, np.ndarray]:
    """The checked arrays X, y (and X_test, y_test when present) of an .npz file."""
    npz = _np_load(path)
    if not hasattr(npz, "files"):
        raise ValueError(f"{path}: not an .npz archive; expected arrays 'X' and 'y'")
    with npz:
        missing = [k for k in ("X", "y") if k not in npz.files]
        if missing or ("X_test" in npz.files) != ("y_test" in npz.files):
            raise ValueError(f"{path}: needs arrays 'X' and 'y' (and optionally both 'X_test' and "
                             f"'y_test'), found {npz.files}")
        try:
            arrays = {k: npz[k] for k in ("X", "y", "X_test", "y_test") if k in npz.files}
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    for key in ("X", "X_test"):
        if key in arrays:
            X = arrays[key]
            if X.ndim != 2 or X.dtype.kind not in "biuf" or X.shape[0] == 0:
                raise ValueError(f"{path}: {key!r} must be a non-empty 2-D numeric array, got {X.dtype} {X.shape}")
            _check_finite(X, f"{path}: {key!r}")
    for X_key, y_key in (("X", "y"), ("X_test", "y_test")):
        if X_key in arrays:
            y = arrays[y_key]
            if y.ndim != 1 or len(y) != len(arrays[X_key]):
                raise ValueError(f"{path}: {y_key!r} must have shape ({len(arrays[X_key])},) to match "
                                 f"{X_key!r}, got {y.shape}")
            if y.dtype.kind not in "biuU":
                raise ValueError(f"{path}: {y_key!r} must hold integer or string labels, got {y.dtype}")
    if "X_test" in arrays and arrays["X_test"].shape[1] != arrays["X"].shape[1]:
        raise ValueError(f"{path}: 'X_test' has {arrays['X_test'].shape[1]} columns, 'X' has {arrays['X'].shape[1]}")
    return arrays


def read_labelled(path: PathLike, *, target: str | None = None) -> tuple[FloatArray, list[Any]]:
    """All rows of a labelled ``.csv`` or ``.npz`` file, raw: (X of shape (m, n_0), m labels).

    For evaluating a saved model, which applies its own scaling and maps labels to its classes.
    An .npz file's X_test/y_test, when present, are the rows returned.
    """
    text = os.fspath(path).lower()
    if text.endswith(".csv"):
        X, labels, _ = _csv_labelled(path, target)
        return X.astype(np.float64), labels
    if target is not None:
        raise ValueError(f"target={target!r} applies to CSV files only, got {path}")
    if text.endswith(".npz"):
        arrays = _npz_arrays(path)
        key = "_test" if "X_test" in arrays else ""
        return arrays["X" + key].astype(np.float64), arrays["y" + key].tolist()
    raise ValueError(f"expected a path ending in .csv or .npz, got {path}")
