r"""Data sets: the digits and MNIST images, Higham & Higham's toy points, CSV and NPZ files.

Every loader returns a :class:`Dataset` whose inputs are already scaled, with the
:class:`Scaling` that was applied, so a saved model can apply the same map to new rows
(:func:`read_features` returns them raw). The package stands beside the rest of deltaprop:
arrays in, arrays out; it imports nothing of the library but itself.

==============  =====================================================================
module          what it holds
==============  =====================================================================
``_base``       :class:`Dataset`, the stratified split, the task rule, labels to indices
``scaling``     :class:`Scaling`, the input map saved with every model
``toy``         :func:`load_digits`, :func:`higham_points`, :func:`one_hot`
``mnist``       :func:`load_mnist`: the four IDX files, checked by SHA-256
``idx``         :func:`read_idx`, :func:`write_idx`: the IDX format
``tabular``     :func:`load_csv`, :func:`load_npz`, :func:`read_features`, :func:`read_labelled`
``rows``        :func:`~deltaprop.datasets.rows.open_features`: rows to predict, a chunk at a time
==============  =====================================================================

Examples
--------
>>> load_dataset("higham").X_train.shape
(10, 2)
"""

from __future__ import annotations

import os

import numpy as np

from ._base import NAMED, Dataset, PathLike
from .idx import read_idx, write_idx
from .mnist import MNIST_SHA256, MNIST_URL, load_mnist
from .scaling import Scaling
from .tabular import load_csv, load_npz, read_features, read_labelled
from .toy import higham_points, load_digits, one_hot

__all__ = [
    "MNIST_SHA256", "MNIST_URL", "Dataset", "Scaling", "higham_points", "load_csv", "load_dataset", "load_digits",
    "load_mnist", "load_npz", "one_hot", "read_features", "read_idx", "read_labelled", "write_idx",
]


def load_dataset(spec: PathLike, *, data_dir: PathLike | None = None, target: str | None = None,
                 seed: int = 0, task: str = "auto", header: bool | None = None) -> Dataset:
    """Load a data set by name or path: "digits", "mnist", "higham", "higham+1", or a ``.csv`` or ``.npz`` file.

    ``data_dir`` is used for "mnist" only; ``target`` and ``header`` apply to CSV files only;
    ``task`` (see :func:`load_csv`) to CSV and NPZ files (the named data sets are classifications).
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"data set must be a name or a path, got {type(spec).__name__}")
    text = os.fspath(spec)
    if target is not None and not text.lower().endswith(".csv"):
        raise ValueError(f"target={target!r} applies to CSV files only, got data set {text!r}")
    if task == "regression" and not text.lower().endswith((".csv", ".npz")):
        raise ValueError(f"data set {text!r} is a classification; task='regression' needs a CSV or NPZ file")
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
    if text.lower().endswith((".csv", ".npz")) and not os.path.isfile(text):
        raise FileNotFoundError(f"data set {text!r}: no such file; expected an existing .csv or .npz file, or one of "
                                f"{', '.join(map(repr, NAMED))}")
    if text.lower().endswith(".csv"):
        return load_csv(spec, target=target, seed=seed, task=task, header=header)
    if text.lower().endswith(".npz"):
        return load_npz(spec, seed=seed, task=task)
    raise ValueError(f"unknown data set {text!r}; expected {', '.join(map(repr, NAMED))}, or a path ending in .csv "
                     "or .npz (deltaprop train also streams .parquet and .npy files and folders)")
