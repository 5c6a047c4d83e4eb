r"""Rows to predict from, bigger than memory: a ``.npy`` or ``.parquet`` file, or a folder of either, read a block at a time.

Every column is a feature (n_0 of them, no target), as in the CSV and ``.npy`` files that
:func:`~deltaprop.datasets.read_features` reads whole. A folder's files are taken in name order,
as a streamed training set's (``deltaprop.datasets.stream``). An ``.npy`` file is memory-mapped
(never unpickled) and read BLOCK_BYTES of rows at a time; a Parquet file is read in record
batches of as many rows through ``pyarrow`` (``ParquetFile.iter_batches``, converted with
``RecordBatch.to_tensor``, pyarrow >= 16: no pandas). :func:`open_features` checks what it can without reading
the values (the files, their widths and column types); :meth:`FeatureRows.blocks` refuses a
missing value, NaN or Inf when it reaches it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._base import FloatArray, PathLike
from .tabular import _npy_rows, check_width

BLOCK_BYTES = 32 << 20  # the rows (as float64) read, and handed on, at a time


@dataclass(frozen=True)
class FeatureRows:
    """The files of an unlabelled data set, checked; ``blocks`` reads their rows.

    Attributes
    ----------
    files : list of Path
        In name order.
    kind : {"npy", "parquet"}
    n_features : int
        n_0, the number of columns.
    n_rows : int
        m, the rows of all files.
    """

    files: list[Path]
    kind: str
    n_features: int
    n_rows: int

    def blocks(self) -> Iterator[FloatArray]:
        """The raw rows in file order, as float64 blocks (k, n_0) of at most BLOCK_BYTES.

        Raises
        ------
        ValueError
            Naming the file, the row and the column of a missing value, NaN or Inf.
        """
        step = max(1, BLOCK_BYTES // (8 * self.n_features))
        for f in self.files:
            start = 0
            for X in (_npy_blocks(f, step) if self.kind == "npy" else _parquet_blocks(f, step)):
                if not np.isfinite(X).all():
                    r, c = np.argwhere(~np.isfinite(X))[0]
                    raise ValueError(f"{f}, row {start + int(r)}, column {int(c) + 1}: {X[r, c]} is not finite "
                                     "(NaN and Inf are not allowed)")
                start += len(X)
                yield X


def open_features(path: PathLike, *, n_features: int) -> FeatureRows:
    """Check an unlabelled ``.npy``/``.parquet`` file or folder of them, without reading its values.

    Parameters
    ----------
    path : str or path-like
        A .npy or .parquet file, or a folder of .npy or of .parquet files (not both).
    n_features : int
        n_0 of the model that will predict: every file must have that many columns.

    Returns
    -------
    FeatureRows

    Raises
    ------
    ValueError
        One line naming the file: no such path, an empty folder, mixed kinds, not an array or not
        Parquet, a width other than n_features, a column that is not numeric.
    """
    text, path = os.fspath(path), Path(path)  # text keeps a trailing "/" for the messages
    if path.is_dir():
        parquet, npy = sorted(path.glob("*.parquet")), sorted(path.glob("*.npy"))
        if parquet and npy:
            raise ValueError(f"{text}: holds both .parquet and .npy files; expected one kind")
        if not parquet and not npy:
            raise ValueError(f"{text}: an empty folder; expected .parquet files or .npy arrays")
        files, kind = parquet or npy, "parquet" if parquet else "npy"
    elif path.suffix.lower() in (".parquet", ".npy"):
        if not path.exists():
            raise ValueError(f"{text}: no such file or folder; expected a .csv, .npy or .parquet file, or a folder "
                             "of .npy or .parquet files")
        files, kind = [path], path.suffix.lower()[1:]
    else:
        raise ValueError(f"{text}: no such folder; expected a .csv, .npy or .parquet file, or a folder of .npy or "
                         ".parquet files")
    shapes = [_npy_rows(f).shape if kind == "npy" else _parquet_shape(f) for f in files]  # (m_f, width) each
    for f, (_, width) in zip(files, shapes):
        check_width(f, width, n_features)  # first: a training file's text target gets the hint
    if kind == "parquet":
        for f in files:
            _check_numeric(f)
    return FeatureRows(files, kind, n_features, sum(rows for rows, _ in shapes))


def _npy_blocks(f: Path, step: int) -> Iterator[FloatArray]:
    """The rows of an .npy file, step at a time; only the block read is copied out of the mapping."""
    A = _npy_rows(f)  # (m_f, n_0), memory-mapped
    for a in range(0, A.shape[0], step):
        yield np.array(A[a:a + step], dtype=np.float64)
    del A


def _parquet_file(f: Path) -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"{f}: reading Parquet needs pyarrow: pip install 'deltaprop[stream]'") from None
    try:
        return pq.ParquetFile(f)
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise ValueError(f"{f}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None


def _parquet_shape(f: Path) -> tuple[int, int]:
    """The numbers of rows and of columns."""
    pf = _parquet_file(f)
    return int(pf.metadata.num_rows), len(pf.schema_arrow)


def _check_numeric(f: Path) -> None:
    """ValueError unless every column holds numbers (integers, floats or booleans)."""
    import pyarrow as pa

    for field in _parquet_file(f).schema_arrow:
        kind = field.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
            raise ValueError(f"{f}: column {field.name!r} has type {kind}; expected numbers (every column is a "
                             "feature)")


def _parquet_blocks(f: Path, step: int) -> Iterator[FloatArray]:
    """The rows of a Parquet file, step at a time (record batches read in file order on one thread)."""
    import pyarrow as pa

    pf = _parquet_file(f)
    start = 0
    for batch in pf.iter_batches(batch_size=step, use_threads=False):
        for name, column in zip(batch.schema.names, batch.columns):
            if column.null_count:
                raise ValueError(f"{f}, rows {start}..{start + batch.num_rows - 1}, column {name!r}: "
                                 f"{column.null_count} missing values; expected a value in every cell")
        float64 = [c if c.type == pa.float64() else c.cast(pa.float64(), safe=False) for c in batch.columns]
        batch = pa.RecordBatch.from_arrays(float64, names=batch.schema.names)  # to_tensor: one type, no booleans
        start += batch.num_rows
        yield np.asarray(batch.to_tensor(row_major=True))  # (k, n_0) float64
