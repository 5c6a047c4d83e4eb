r"""Rows to predict from, bigger than memory: a ``.npy`` or ``.parquet`` file, or a folder of either, read a chunk at a time.

Every column is a feature (n_0 of them, no target), as in the CSV and ``.npy`` files that
:func:`~deltaprop.datasets.read_features` reads whole, except in a model's own training file:
a Parquet file (or folder) whose columns are exactly the model's features and its target
(``tabular.training_target``) is read without the target column. The files are read as a
streamed training set's are (``datasets._shards``: the same folder rule, the same chunks, Parquet
a column at a time, .npy memory-mapped a block at a time). :func:`open_features` checks what it
can without reading the values (the files, their widths and column types);
:meth:`FeatureRows.blocks` refuses a missing value, NaN or Inf when it reaches it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ._base import PathLike
from ._shards import _Files
from .tabular import check_width, training_target


@dataclass(frozen=True)
class FeatureRows:
    """The files of a data set to predict from, checked; ``blocks`` reads their rows.

    Attributes
    ----------
    files : _Files
        Their chunks (row groups, parts of .npy files) in file order.
    skipped : str or None
        The model's target column, left unread in its own training file; None when every column
        is a feature.
    """

    files: _Files
    skipped: str | None

    @property
    def n_features(self) -> int:
        """n_0, the number of feature columns."""
        return len(self.files.features)

    @property
    def n_rows(self) -> int:
        """m, the rows of all files."""
        return self.files.n_rows

    def blocks(self) -> Iterator[np.ndarray]:
        """The raw feature rows in file order, a chunk (k, n_0) at a time in the file's float type.

        Each block is one reused buffer, valid until the next is asked for.

        Raises
        ------
        ValueError
            Naming the file, the row and the column of a missing value, NaN or Inf.
        """
        buffers: dict[type, np.ndarray] = {}  # one chunk's rows per float type, filled again and again
        rows = max(c.rows for c in self.files.chunks)
        for chunk in self.files.chunks:
            kind = self.files.float_type(chunk)
            out = buffers.setdefault(kind, np.empty((rows, self.n_features), kind))[:chunk.rows]
            X = self.files.read_inputs(chunk, out)  # (k, n_0)
            self.files.check_finite(chunk, X)
            yield X


def open_features(path: PathLike, *, n_features: int, features: Sequence[str] | None = None,
                  target: str | None = None) -> FeatureRows:
    """Check an ``.npy``/``.parquet`` file or folder of them to predict from, without reading its values.

    Parameters
    ----------
    path : str or path-like
        A .npy or .parquet file, or a folder of .npy or of .parquet files (not both).
    n_features : int
        n_0 of the model that will predict: every file must have that many columns, or be its training
        file (below).
    features : sequence of n_0 str, optional
        The names of the model's feature columns, in its training file's order.
    target : str, optional
        The name of the model's target column; None: its training file's last column.

    Returns
    -------
    FeatureRows
        Without a target column, unless the files are Parquet with exactly ``features`` and the
        target as columns (``tabular.training_target``): then that column is skipped.

    Raises
    ------
    ValueError
        One line naming the file: no such path, an empty folder, mixed kinds, not an array or not
        Parquet, a width other than n_features, a column that is not numeric.
    """
    text = os.fspath(path)  # keeps a trailing "/" for the messages
    files = _Files(path, name=text)
    skipped = training_target(files.columns, features, target) if files.kind == "parquet" else None
    if skipped is None:
        check_width(text, len(files.columns), n_features)  # first: a training file's text target gets the hint
        return FeatureRows(files.without_target(), None)
    return FeatureRows(files.with_target(skipped), skipped)
