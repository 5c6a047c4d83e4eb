"""User data: CSV files (one label column, a header row or none) and NPZ archives (arrays X and y).

A CSV file's first row is a header unless every one of its cells is a number (then it is data and
the columns are named "1", "2", ...); ``header=True`` or ``False`` overrides that rule. Files are
read with the standard library's ``csv`` module.

Loaders return a :class:`~deltaprop.datasets.Dataset` with features standardised by the training
split's statistics; :func:`read_features` and :func:`read_labelled` return raw rows, to which a
saved model applies its own scaling.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._base import Dataset, FloatArray, PathLike, _make, typed_labels
from .scaling import _check_finite

def load_csv(path: PathLike, *, target: str | None = None, test_fraction: float = 0.25,
             seed: int = 0, task: str = "auto", header: bool | None = None) -> Dataset:
    """Load a CSV file: one label column, all other columns numeric.

    Parameters
    ----------
    path : str or path-like
    target : str, optional
        Name of the label column (its number "1", "2", ... in a file without header); default
        the last column. Labels may be numbers or strings.
    test_fraction : float in (0, 1)
        Share of the rows held out for testing (stratified by class for a classification).
    seed : int
    task : {"auto", "classification", "regression"}
        "auto" picks regression for numeric targets that are not all integers, or that have more
        than 50 distinct integer values; classification otherwise.
    header : bool, optional
        Whether the first row is a header; default: it is, unless all its cells are numbers.

    Returns
    -------
    Dataset
        Features standardised with the training split's statistics; for a classification
        ``classes`` are the sorted distinct labels and y indexes them, for a regression y holds
        the targets and ``target_scaling`` their standardisation.

    Raises
    ------
    ValueError
        One line naming the file and the problem: empty file, header only, a ragged row, a
        non-numeric or non-finite cell (row numbered as in the file, the header being row 1,
        and the column name), an unknown target, fewer than 2 classes.
    """
    X, labels, names = _csv_labelled(path, target, header)
    return _make(Path(path).stem, X, labels, None, None, test_fraction, seed, str(path), names,
                 always_standardize=True, task=task)


def _csv_labelled(path: PathLike, target: str | None,
                  has_header: bool | None) -> tuple[np.ndarray, list[Any], tuple[str, ...]]:
    """Raw features (m, n_0), labels (see ``typed_labels``) and feature names of a CSV file."""
    header, rows = _read_csv(path, has_header)
    if target is None:
        target = header[-1]
    if target not in header:
        raise ValueError(f"{path}: no column named {target!r}; the columns are {', '.join(map(repr, header))}")
    if len(header) < 2:
        raise ValueError(f"{path}: only the column {target!r}; at least one feature column is needed")
    t = header.index(target)
    features = [c for c in range(len(header)) if c != t]
    X = _numbers(path, header, rows, features)  # (m, n_0)
    texts: list[str] = []
    for line, row in rows:
        if not row[t].strip():
            raise ValueError(f"{path}: row {line}, column {target!r}: empty label")
        texts.append(row[t].strip())
    return X, typed_labels(texts), tuple(header[c] for c in features)


def load_npz(path: PathLike, *, test_fraction: float = 0.25, seed: int = 0, task: str = "auto") -> Dataset:
    """Load a ``.npz`` file with arrays X (m, n_0) and y (m,), optionally X_test and y_test.

    Inputs are used as they are when all lie in [0, 1], else standardised with the training
    split's statistics. Without X_test/y_test, a stratified split holds out test_fraction.
    For a classification, labels (integers or strings) become indices into the sorted distinct
    labels; ``task`` is chosen as in :func:`load_csv`. The file is read with ``allow_pickle=False``.

    Raises
    ------
    ValueError
        Naming the file: missing keys, wrong ndim, mismatched lengths, NaN/Inf, non-numeric X.
    """
    arrays = _npz_arrays(path)
    y_test = _npz_labels(arrays["y_test"]) if "y_test" in arrays else None
    return _make(Path(path).stem, arrays["X"], _npz_labels(arrays["y"]), arrays.get("X_test"), y_test,
                 test_fraction, seed, str(path), None, always_standardize=False, task=task)


def _npz_labels(y: np.ndarray) -> list[Any]:
    """y (m,) as a list of labels; floats that are all integers become ints (class 2.0 is class 2)."""
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        return y.astype(np.int64).tolist()
    return y.tolist()


def read_features(path: PathLike, *, n_features: int, header: bool | None = None,
                  features: Sequence[str] | None = None, target: str | None = None) -> FloatArray:
    """Read raw (unscaled) input rows to predict from a ``.csv`` or ``.npy`` file.

    Parameters
    ----------
    path : str or path-like
        A CSV file with exactly n_features numeric columns, or a 2-D ``.npy`` array; or a CSV file
        with a header naming exactly the model's ``features`` and its ``target`` (the model's
        training file: ``training_target``), whose target column is then left out.
    n_features : int
        n_0 of the model that will predict.
    header : bool, optional
        Whether a CSV file's first row is a header; default: it is unless all its cells are numbers.
    features : sequence of n_0 str, optional
        The names of the model's feature columns, in its training file's order.
    target : str, optional
        The name of the model's target column; None: its training file's last column.

    Returns
    -------
    ndarray of shape (m, n_features), float64
    """
    text = os.fspath(path).lower()
    if text.endswith(".csv"):
        names, rows = _read_csv(path, header)
        named = names != [str(k) for k in range(1, len(names) + 1)]  # a header, not the numbers of a headerless file
        skipped = training_target(names, features, target) if named else None
        columns = [c for c in range(len(names)) if names[c] != skipped]
        check_width(path, len(columns), n_features)  # first: a text target column gets the hint
        return _numbers(path, names, rows, columns)  # (m, n_0) float64
    if not text.endswith(".npy"):
        raise ValueError(f"{path}: expected a .csv or .npy file")
    X = np.asarray(_npy_rows(path))
    _check_finite(X, str(path))
    check_width(path, X.shape[1], n_features)
    return X.astype(np.float64)


def training_target(columns: Sequence[str], features: Sequence[str] | None, target: str | None) -> str | None:
    """The model's target column when ``columns`` are exactly its training file's, else None.

    That is: n_0 + 1 columns, the model's ``target`` (named; None: the last column) among them and
    the others its n_0 ``features`` in the same order (a model records both: ``net.data``).
    """
    if features is None or len(columns) != len(features) + 1:
        return None
    name = columns[-1] if target is None else target
    if name not in columns or [c for c in columns if c != name] != list(features):
        return None
    return name


def check_width(path: PathLike, width: int, n_features: int) -> None:
    """ValueError unless rows to predict from have n_features columns (with a hint for one column more)."""
    if width != n_features:
        hint = " (drop the label column?)" if width == n_features + 1 else ""
        raise ValueError(f"{path}: expected {n_features} feature columns, got {width}{hint}")


def _npy_rows(path: PathLike) -> np.ndarray:
    """An .npy file's rows (m, n), memory-mapped (nothing read yet), checked to be a non-empty 2-D numeric array."""
    X = _np_load(path, mmap_mode="r")
    if hasattr(X, "files"):
        raise ValueError(f"{path}: an .npz archive; expected a single .npy array")
    if X.ndim != 2 or X.dtype.kind not in "biuf" or X.shape[0] == 0:
        raise ValueError(f"{path}: expected a non-empty 2-D numeric array, got {X.dtype} {X.shape}")
    return X  # type: ignore[no-any-return]


def _read_csv(path: PathLike, has_header: bool | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Return the column names and the data rows as (line number, cells); blank lines are skipped.

    The first row is the header when ``has_header`` is True, or when it is None and some cell of
    that row is not a number; otherwise it is data and the columns are named "1", "2", ...
    """
    header: list[str] | None = None
    numbered = False  # True when the first row is data and the columns are named by number
    rows: list[tuple[int, list[str]]] = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            for cells in reader:
                if not cells:
                    continue
                if any("\x00" in c for c in cells):
                    raise ValueError(f"{path}: row {reader.line_num} holds a NUL byte (\\x00); "
                                     "expected text cells")
                if header is None:
                    header = [c.strip() for c in cells]
                    if has_header is False or (has_header is None and all(_is_number(c) for c in cells)):
                        header, numbered = [str(k) for k in range(1, len(cells) + 1)], True
                        rows.append((reader.line_num, cells))
                elif len(cells) != len(header):
                    raise ValueError(f"{path}: row {reader.line_num} has {len(cells)} cells, "
                                     f"the {'first row' if numbered else 'header'} has {len(header)}")
                else:
                    rows.append((reader.line_num, cells))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a readable UTF-8 CSV file near row {reader.line_num} ({exc})") from None
    if header is None:
        raise ValueError(f"{path}: empty file; expected a header row and data rows")
    if not rows:
        raise ValueError(f"{path}: header only, no data rows")
    repeated = sorted(name for name, n in Counter(header).items() if n > 1)
    if repeated:
        raise ValueError(f"{path}: the header repeats the column name(s) {', '.join(map(repr, repeated))}")
    return header, rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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


def _np_load(path: PathLike, mmap_mode: Any = None) -> Any:
    """np.load without pickles (memory-mapped with mmap_mode "r"); a file NumPy cannot read gives a ValueError
    naming it."""
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
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
            if y.dtype.kind not in "biufU":
                raise ValueError(f"{path}: {y_key!r} must hold numbers or string labels, got {y.dtype}")
            if y.dtype.kind == "f":
                _check_finite(y.reshape(-1, 1), f"{path}: {y_key!r}")
    if "X_test" in arrays and arrays["X_test"].shape[1] != arrays["X"].shape[1]:
        raise ValueError(f"{path}: 'X_test' has {arrays['X_test'].shape[1]} columns, 'X' has {arrays['X'].shape[1]}")
    return arrays


def read_labelled(path: PathLike, *, target: str | None = None,
                  header: bool | None = None) -> tuple[FloatArray, list[Any]]:
    """All rows of a labelled ``.csv`` or ``.npz`` file, raw: (X of shape (m, n_0), m labels).

    For evaluating a saved model, which applies its own scaling and maps labels to its classes.
    An .npz file's X_test/y_test, when present, are the rows returned.
    """
    text = os.fspath(path).lower()
    if text.endswith(".csv"):
        X, labels, _ = _csv_labelled(path, target, header)
        return X.astype(np.float64), labels
    if target is not None:
        raise ValueError(f"target={target!r} applies to CSV files only, got {path}")
    if text.endswith(".npz"):
        arrays = _npz_arrays(path)
        key = "_test" if "X_test" in arrays else ""
        return arrays["X" + key].astype(np.float64), _npz_labels(arrays["y" + key])
    raise ValueError(f"expected a path ending in .csv or .npz, got {path}")
