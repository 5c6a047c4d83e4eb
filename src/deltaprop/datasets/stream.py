r"""Data sets bigger than memory: a Parquet file, or a folder of Parquet files or of ``.npy`` shards, read in chunks.

Layout
------
- ``PATH.parquet``: one Parquet file; a chunk is a row group. Every column is numeric except the
  target, which may also hold text; ``target`` names it (default: the last column).
- ``DIR/`` of ``*.parquet``: the files in name order, all with the same columns.
- ``DIR/`` of ``*.npy``: 2-D numeric arrays of the same width in name order, read through
  ``np.load(mmap_mode="r")``; the columns are named "1", "2", ... as in a CSV file without a
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._base import MAX_CLASSES, PathLike, TASKS, choose_task, unit_or_standardized
from .scaling import Scaling

CHUNK_BYTES = 32 << 20  # an .npy shard is read this many bytes of rows at a time
BLOCK_BYTES = 4 << 20  # a chunk is read (and scaled) this many bytes (as float64) at a time
BLOCK_ROWS = 4096  # rows per block of the moments: bounds the float64 temporaries of a chunk
Transform = Callable[[np.ndarray, slice], np.ndarray]  # (raw block, its feature columns) -> scaled block
MAX_DISTINCT = 10_000  # distinct targets remembered; more are a regression's (or too many classes)


@dataclass(frozen=True)
class Chunk:
    """Rows ``start..stop`` (0-based) of a file's row group (Parquet) or of an .npy shard (``group`` -1),
    the ``row``-th row of the data set being its first."""

    file: int
    group: int
    start: int
    stop: int
    row: int

    @property
    def rows(self) -> int:
        """How many rows the chunk holds."""
        return self.stop - self.start


class _Files:
    """The files of a streamed data set, their columns and their chunks; reads one chunk at a time."""

    def __init__(self, path: PathLike, target: str | None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ValueError(f"--dataset {path}: no such file or folder; expected a .parquet file or a folder "
                             "of .parquet or .npy files")
        if self.path.is_dir():
            parquet, npy = sorted(self.path.glob("*.parquet")), sorted(self.path.glob("*.npy"))
            if parquet and npy:
                raise ValueError(f"--dataset {path}: holds both .parquet and .npy files; expected one kind")
            if not parquet and not npy:
                raise ValueError(f"--dataset {path}: an empty folder; expected .parquet files or .npy shards")
            self.files, self.kind = parquet or npy, "parquet" if parquet else "npy"
        elif self.path.suffix.lower() == ".parquet":
            self.files, self.kind = [self.path], "parquet"
        else:
            raise ValueError(f"--dataset {path}: expected a .parquet file or a folder of .parquet or .npy files")
        self._parquet: dict[int, Any] = {}  # file number -> its ParquetFile
        self._npy: dict[int, tuple[np.dtype[Any], int, int]] = {}  # file number -> dtype, width, header bytes
        self._float: dict[int, type] = {}  # file number -> the float type its inputs are read as
        self.columns, self.chunks = self._open_parquet() if self.kind == "parquet" else self._open_npy()
        self.target = self.columns[-1] if target is None else str(target)
        if self.target not in self.columns:
            raise ValueError(f"--dataset {path}: no column named {self.target!r}; the columns are "
                             f"{', '.join(map(repr, self.columns[:20]))}{' ...' if len(self.columns) > 20 else ''}")
        if len(self.columns) < 2:
            raise ValueError(f"--dataset {path}: only the column {self.target!r}; at least one feature column is needed")
        self.t = self.columns.index(self.target)
        self.features = [c for c in range(len(self.columns)) if c != self.t]
        self.n_rows = sum(c.rows for c in self.chunks)
        if self.n_rows == 0:
            raise ValueError(f"--dataset {path}: no rows")
        if self.kind == "parquet":
            self._check_parquet_types()

    def _open_parquet(self) -> tuple[list[str], list[Chunk]]:
        import pyarrow.parquet as pq

        columns: list[str] | None = None
        chunks, row = [], 0
        for i, f in enumerate(self.files):
            try:
                pf = pq.ParquetFile(f)
            except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError kinds
                raise ValueError(f"{f}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
            names = list(pf.schema_arrow.names)
            if columns is None:
                columns = names
            elif names != columns:
                raise ValueError(f"{f}: columns {names[:8]} differ from {self.files[0].name}'s {columns[:8]}; "
                                 "expected the same columns in every file")
            self._parquet[i] = pf
            for g in range(pf.num_row_groups):
                n = pf.metadata.row_group(g).num_rows
                if n:
                    chunks.append(Chunk(i, g, 0, n, row))
                    row += n
        return columns or [], chunks

    def _check_parquet_types(self) -> None:
        import pyarrow as pa

        for i, f in enumerate(self.files):
            self._float[i] = np.float32
            schema = self._parquet[i].schema_arrow
            for c, name in enumerate(self.columns):
                kind = schema.field(name).type
                numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
                text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
                if c != self.t and _arrow_float(kind) is np.float64:
                    self._float[i] = np.float64
                if not numeric and not (c == self.t and text):
                    what = "the target column must hold numbers or text" if c == self.t else \
                        "feature columns must be numeric"
                    raise ValueError(f"{f}: column {name!r} has type {kind}; {what}")

    def _open_npy(self) -> tuple[list[str], list[Chunk]]:
        width: int | None = None
        chunks, row = [], 0
        for i, f in enumerate(self.files):
            A = _memmap(f)
            if A.ndim != 2 or A.dtype.kind not in "biuf":
                raise ValueError(f"{f}: expected a 2-D numeric array, got {A.dtype} {A.shape}")
            if width is None:
                width = A.shape[1]
            elif A.shape[1] != width:
                raise ValueError(f"{f}: {A.shape[1]} columns, {self.files[0].name} has {width}; "
                                 "expected shards of the same width")
            if A.flags.f_contiguous and not A.flags.c_contiguous:
                raise ValueError(f"{f}: a Fortran-ordered array; expected rows stored one after another "
                                 "(save np.ascontiguousarray(A))")
            self._npy[i] = (A.dtype, A.shape[1], A.offset)
            self._float[i] = _float_type(A.dtype)
            step = max(1, CHUNK_BYTES // max(1, A.shape[1] * A.dtype.itemsize))
            for start in range(0, A.shape[0], step):
                stop = min(start + step, A.shape[0])
                chunks.append(Chunk(i, -1, start, stop, row))
                row += stop - start
            del A
        return [str(k) for k in range(1, (width or 0) + 1)], chunks

    def read(self, chunk: Chunk, out: np.ndarray | None = None,
             transform: Transform | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (k, n_0) and raw targets (k,) of a chunk, a block at a time.

        Each block of raw inputs (in the file's float type; float64 for integers) goes through
        ``transform(block, columns)`` (default: none; ``columns`` is the slice of the n_0 features
        the block holds) into ``out`` (default: a new array of that type). An .npy block is
        BLOCK_BYTES of whole rows, and only it is mapped; a Parquet block is a few columns of the
        row group (about BLOCK_BYTES as float64), read alone. So a chunk is never held twice.
        """
        X: np.ndarray = out if out is not None else np.empty((chunk.rows, len(self.features)), self._float[chunk.file])
        if self.kind == "npy":
            ys = []
            for rows, Xb, yb in self._npy_blocks(chunk):
                X[rows] = Xb if transform is None else transform(Xb, slice(0, len(self.features)))
                ys.append(yb)
            return X, np.concatenate(ys)
        pf, where = self._parquet[chunk.file], f"{self.files[chunk.file]}: row group {chunk.group}"
        y = _column(pf, chunk, self.target, where)
        n_cols = max(1, BLOCK_BYTES // (8 * chunk.rows))
        for k0 in range(0, len(self.features), n_cols):
            cols = slice(k0, min(k0 + n_cols, len(self.features)))
            Xb = np.empty((chunk.rows, cols.stop - k0), self._float[chunk.file])
            for k in range(k0, cols.stop):
                Xb[:, k - k0] = _column(pf, chunk, self.columns[self.features[k]], where)
            X[:, cols] = Xb if transform is None else transform(Xb, cols)
        return X, y

    def _npy_blocks(self, chunk: Chunk) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
        """(rows in the chunk, raw inputs, raw targets) of each block; only the block is mapped."""
        f = self.files[chunk.file]
        dtype, width, offset = self._npy[chunk.file]
        last = self.t == width - 1
        step = max(1, BLOCK_BYTES // (width * 8))
        for a in range(chunk.start, chunk.stop, step):
            b = min(a + step, chunk.stop)
            A = np.memmap(f, dtype=dtype, mode="r", offset=offset + a * width * dtype.itemsize, shape=(b - a, width))
            X: np.ndarray = np.array(A[:, :-1] if last else A[:, self.features], dtype=_float_type(dtype))
            y = np.array(A[:, self.t])
            del A  # unmapped: its pages leave the resident set
            yield slice(a - chunk.start, b - chunk.start), X, y


def _column(pf: Any, chunk: Chunk, name: str, where: str) -> np.ndarray:
    """One column of a chunk of a ParquetFile (k,), read alone; ValueError on a missing value."""
    column = pf.read_row_group(chunk.group, columns=[name]).column(0)
    if chunk.start or chunk.stop != len(column):
        column = column.slice(chunk.start, chunk.rows)
    if column.null_count:
        raise ValueError(f"{where}, column {name!r}: {column.null_count} missing values; expected a value in every cell")
    return np.concatenate([_values(piece) for piece in column.chunks]) if column.num_chunks else np.empty(0)


def _values(piece: Any) -> np.ndarray:
    """An Arrow array without nulls as NumPy (k,), read from its buffers: numbers as they are stored,
    booleans unpacked, text as Python strings. (Arrow's own ``to_numpy`` imports pandas when it is
    installed: about 50 MB for nothing.)"""
    import pyarrow as pa

    kind, n = piece.type, len(piece)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return np.array(piece.to_pylist(), dtype=object)
    data = piece.buffers()[1]
    if pa.types.is_boolean(kind):
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
        return bits[piece.offset:piece.offset + n].astype(bool)
    code = "f" if pa.types.is_floating(kind) else "i" if pa.types.is_signed_integer(kind) else "u"
    dtype = np.dtype(f"<{code}{kind.bit_width // 8}")
    return np.frombuffer(data, dtype=dtype, count=n, offset=piece.offset * dtype.itemsize)


def _arrow_float(kind: Any) -> type:
    """float32 for Arrow's float32 and float16 columns, float64 for the rest (integers, float64, booleans)."""
    import pyarrow as pa

    return np.float32 if kind in (pa.float32(), pa.float16()) else np.float64


def _float_type(dtype: np.dtype[Any]) -> type:
    return np.float32 if dtype in (np.float32, np.float16) else np.float64


def _memmap(path: Path) -> np.memmap[Any, Any]:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)  # type: ignore[no-any-return]
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a NumPy .npy array ({exc})") from None


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
class StreamData:
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

    @property
    def n_rows(self) -> int:
        """All rows, train and test."""
        return self.n_train + self.n_test

    @property
    def n_features(self) -> int:
        """n_0, the number of input features."""
        return len(self.files.features)

    @property
    def n_classes(self) -> int:
        """K, the number of classes (0 for regression)."""
        return len(self.classes)

    @property
    def n_outputs(self) -> int:
        """n_L of a network for this data: K, or 1 for regression."""
        return 1 if self.task == "regression" else len(self.classes)

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
    """True for a path that :func:`open_stream` reads: a .parquet file, or a folder."""
    text = os.fspath(spec)
    return text.lower().endswith(".parquet") or os.path.isdir(text) or text.endswith(("/", os.sep))


def open_stream(path: PathLike, *, target: str | None = None, task: str = "auto",
                test_fraction: float = 0.25) -> StreamData:
    """Read a streamed data set once (see the module docstring) and describe it.

    Parameters
    ----------
    path : str or path-like
        A .parquet file, or a folder of .parquet files or of .npy shards.
    target : str, optional
        The target column (a name; for .npy shards its number "1", "2", ...); default the last.
    task : {"auto", "classification", "regression"}
        As for a CSV file.
    test_fraction : float in (0, 1)
        The share of rows held out for testing: the last ones.

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
    files = _Files(path, target)
    m = files.n_rows
    n_test = int(np.floor(test_fraction * m + 0.5))
    if n_test < 1 or n_test >= m:
        raise ValueError(f"--dataset {path}: {m} rows are too few to hold out {test_fraction:g} of them for testing")
    n_train = m - n_test
    moments, y_moments = Moments(), Moments()
    low, high = np.inf, -np.inf
    distinct: np.ndarray | None = None
    many, numeric = False, True
    digest = hashlib.sha256(str((files.kind, files.columns, files.target)).encode())
    for chunk in files.chunks:
        X, y = files.read(chunk)
        where = f"{files.files[chunk.file]}" + (f": row group {chunk.group}" if chunk.group >= 0 else "")
        _finite(X, y, where, chunk, files)
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
        del X, y
    assert distinct is not None  # at least one row was read
    values = distinct.tolist()
    task = choose_task(values, task, str(path)) if not many or task == "regression" or not numeric else \
        ("regression" if task == "auto" else task)
    classes: tuple[Any, ...] = ()
    target_scaling = None
    if task == "classification":
        if many:
            raise ValueError(f"--dataset {path}: more than {MAX_DISTINCT} distinct targets; "
                             "too many classes (use --task regression for numbers)")
        if len(values) < 2:
            raise ValueError(f"--dataset {path}: only {len(values)} distinct label ({values[0]!r}); "
                             "classification needs at least 2 classes")
        classes = tuple(values)
    else:
        target_scaling = Scaling.standardized(y_moments.mean, y_moments.std)
    scaling = unit_or_standardized(low, high, lambda: Scaling.standardized(moments.mean, moments.std))
    name = files.path.stem if files.path.is_file() else files.path.name
    return StreamData(name, files, n_train, n_test, task, classes, scaling, target_scaling,
                      distinct[:MAX_DISTINCT], digest.hexdigest(), test_fraction)


def _finite(X: np.ndarray, y: np.ndarray, where: str, chunk: Chunk, files: _Files) -> None:
    """ValueError naming the first NaN or Inf of a chunk (row counted from 0 within its file part)."""
    if np.isfinite(X).all() and (y.dtype.kind != "f" or np.isfinite(y).all()):
        return
    bad_y = y.dtype.kind == "f" and not np.isfinite(y).all()
    if bad_y:
        r, name = int(np.flatnonzero(~np.isfinite(y))[0]), files.target
    else:
        r, c = np.argwhere(~np.isfinite(X))[0]
        name = files.columns[files.features[int(c)]]
    raise ValueError(f"{where}, row {chunk.start + int(r)}, column {name!r}: not finite (NaN and Inf are not allowed)")


def pieces(data: StreamData, start: int, stop: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Raw (X, y) of rows start..stop-1 chunk by chunk, in file order."""
    for chunk in data.chunks(start, stop):
        yield data.read(chunk)
