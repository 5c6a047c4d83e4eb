"""The files of a streamed data set (``datasets.stream``) or of rows to predict from (``datasets.rows``): Parquet row
groups or .npy shards, read by chunks.

A :class:`Chunk` is a range of rows of one row group or one shard. The files have a target column
(``_Files.with_target``: training and scoring) or none (``_Files.without_target``: every column a
feature); ``_Files.read_inputs`` leaves a target column unread. ``_Files.read`` fills a chunk's
inputs a block at a time, so neither the chunk nor a whole file is ever held twice or mapped whole:
an .npy block is BLOCK_BYTES of rows mapped alone, a Parquet block a column of the row group (more
columns per read were no faster, and Arrow then kept more memory: benchmarks/README.md), scaled in
place with the group of PARQUET_COLUMNS columns it belongs to before the group goes into the rows.
Arrow's arrays are read from their buffers (``_values``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._base import PathLike

CHUNK_BYTES = 32 << 20  # an .npy shard is read this many bytes of rows at a time
BLOCK_BYTES = 4 << 20  # an .npy chunk is read (and scaled) this many bytes of rows (as float64) at a time
PARQUET_COLUMNS = 16  # a Parquet chunk is read a column at a time, and written into rows this many at a time
TILE_ROWS = 4096  # ... for this many rows at a time
Transform = Callable[[np.ndarray, slice, np.ndarray], Any]  # (raw block, its feature columns, out): scaled into out


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

    def __init__(self, path: PathLike, *, name: str | None = None) -> None:
        """Open the files (their metadata: columns, row groups, .npy headers), reading no value.

        ``name`` stands for the path in messages (default "--dataset PATH"). The columns' roles
        come next: :meth:`with_target` (a target and the features) or :meth:`without_target`
        (every column a feature); each checks the column types, and reads need one of them.
        """
        self.path = Path(path)
        self.name = f"--dataset {path}" if name is None else name
        if not self.path.exists():
            raise ValueError(f"{self.name}: no such file or folder; expected a .parquet or .npy file, or a folder "
                             "of .parquet or .npy files")
        if self.path.is_dir():
            parquet, npy = sorted(self.path.glob("*.parquet")), sorted(self.path.glob("*.npy"))
            if parquet and npy:
                raise ValueError(f"{self.name}: holds both .parquet and .npy files; expected one kind")
            if not parquet and not npy:
                raise ValueError(f"{self.name}: an empty folder; expected .parquet files or .npy shards")
            self.files, self.kind = parquet or npy, "parquet" if parquet else "npy"
        elif self.path.suffix.lower() in (".parquet", ".npy"):
            self.files, self.kind = [self.path], self.path.suffix.lower()[1:]
        else:
            raise ValueError(f"{self.name}: expected a .parquet or .npy file, or a folder of .parquet or .npy files")
        self._parquet: dict[int, Any] = {}  # file number -> its ParquetFile
        self._lock = threading.Lock()  # one read at a time (a Stream reads ahead on a second thread)
        self._npy: dict[int, tuple[np.dtype[Any], int, int]] = {}  # file number -> dtype, width, header bytes
        self._float: dict[int, type] = {}  # file number -> the float type its inputs are read as
        self.columns, self.chunks = self._open_parquet() if self.kind == "parquet" else self._open_npy()
        self.n_rows = sum(c.rows for c in self.chunks)
        if self.n_rows == 0:
            raise ValueError(f"{self.name}: no rows")
        self.target: str | None = None  # the target column's name, None without a target
        self.t = -1  # ... and its index
        self.features: list[int] = []  # the indices of the n_0 feature columns, in file order

    def with_target(self, target: str | None) -> _Files:
        """The column ``target`` (default: the last) holds the targets, numbers or text; every other is a
        numeric feature. ValueError for a missing target, no feature column or a column of another type."""
        self.target = self.columns[-1] if target is None else str(target)
        if self.target not in self.columns:
            raise ValueError(f"{self.name}: no column named {self.target!r}; the columns are "
                             f"{', '.join(map(repr, self.columns[:20]))}{' ...' if len(self.columns) > 20 else ''}")
        if len(self.columns) < 2:
            raise ValueError(f"{self.name}: only the column {self.target!r}; at least one feature column is needed")
        self.t = self.columns.index(self.target)
        self.features = [c for c in range(len(self.columns)) if c != self.t]
        self._check_types()
        return self

    def without_target(self) -> _Files:
        """Every column is a numeric feature (rows to predict from); ValueError for a column of another type."""
        self.target, self.t, self.features = None, -1, list(range(len(self.columns)))
        self._check_types()
        return self

    def _open_parquet(self) -> tuple[list[str], list[Chunk]]:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError(f"{self.name}: reading Parquet needs pyarrow: pip install "
                             "'deltaprop[stream]'") from None
        columns: list[str] | None = None
        chunks, row = [], 0
        for i, f in enumerate(self.files):
            try:
                pf = pq.ParquetFile(f)
            except (ValueError, OSError, pa.ArrowException) as exc:
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

    def _check_types(self) -> None:
        """Feature columns numeric (integers, floats, booleans), the target numbers or text; the float type
        each Parquet file's inputs are read as (an .npy file's is its dtype's)."""
        if self.kind != "parquet":
            return
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
                        "feature columns must be numeric" if self.target is not None else \
                        "expected numbers (every column is a feature)"
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

    def float_type(self, chunk: Chunk) -> type:
        """The float type a chunk's inputs are read as: float32 for float32 (and float16) files, else float64."""
        return self._float[chunk.file]

    def read(self, chunk: Chunk, out: np.ndarray | None = None,
             transform: Transform | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (k, n_0) and raw targets (k,) of a chunk, a block at a time (see :meth:`read_inputs`).

        The files must have a target (:meth:`with_target`).
        """
        X, y = self._read(chunk, out, transform, targets=True)
        assert y is not None  # read with the targets
        return X, y

    def read_inputs(self, chunk: Chunk, out: np.ndarray | None = None,
                    transform: Transform | None = None) -> np.ndarray:
        """Inputs (k, n_0) of a chunk, a block at a time; a target column is not read.

        Each block of raw inputs (in the file's float type; float64 for integers) goes through
        ``transform(block, columns, out_block)``, which writes it, scaled, into its place in ``out``
        (default transform: a copy; default ``out``: a new array of the file's float type);
        ``columns`` is the slice of the n_0 features the block holds. An .npy block is BLOCK_BYTES
        of whole rows, and only it is mapped; a Parquet column of the row group is read alone, and
        PARQUET_COLUMNS of them are scaled in place and go into the rows together, TILE_ROWS rows at a
        time. So a chunk is never held twice. Parquet reads take turns (a lock): a Stream reads ahead
        on a second thread, and a ParquetFile is not promised to be safe for two readers at once.
        """
        return self._read(chunk, out, transform, targets=False)[0]

    def _read(self, chunk: Chunk, out: np.ndarray | None, transform: Transform | None,
              targets: bool) -> tuple[np.ndarray, np.ndarray | None]:
        X: np.ndarray = out if out is not None else np.empty((chunk.rows, len(self.features)), self.float_type(chunk))
        transform = transform or _copy
        if self.kind == "npy":
            ys = []
            for rows, Xb, yb in self._npy_blocks(chunk, targets):
                transform(Xb, slice(0, len(self.features)), X[rows])
                if yb is not None:
                    ys.append(yb)
            return X, np.concatenate(ys) if targets else None
        with self._lock:
            return self._read_parquet(chunk, X, transform, targets)

    def _read_parquet(self, chunk: Chunk, X: np.ndarray, transform: Transform,
                      targets: bool) -> tuple[np.ndarray, np.ndarray | None]:
        pf, where = self._parquet[chunk.file], f"{self.files[chunk.file]}: row group {chunk.group}"
        y = None
        if targets:
            (target,) = _columns(pf, chunk, [self.columns[self.t]], where)
            y = np.concatenate([_values(piece) for piece in target.chunks])
        n = len(self.features)
        T: np.ndarray = np.empty((min(PARQUET_COLUMNS, n), chunk.rows), self.float_type(chunk))  # a group's columns
        for k0 in range(0, n, PARQUET_COLUMNS):
            cols = slice(k0, min(k0 + PARQUET_COLUMNS, n))
            for k in range(cols.start, cols.stop):  # each column read alone and copied out of Arrow
                (column,) = _columns(pf, chunk, [self.columns[self.features[k]]], where)
                start = 0
                for piece in column.chunks:
                    T[k - k0, start:start + len(piece)] = _values(piece)
                    start += len(piece)
                del column
            raw = T[:cols.stop - k0].T  # (k, g), column-major: scaled in place a column at a time
            transform(raw, cols, raw)
            for a in range(0, chunk.rows, TILE_ROWS):  # into rows a tile at a time: the transposition stays in cache
                X[a:a + TILE_ROWS, cols] = raw[a:a + TILE_ROWS]
        return X, y

    def check_finite(self, chunk: Chunk, X: np.ndarray, y: np.ndarray | None = None) -> None:
        """ValueError naming the first NaN or Inf of a chunk's inputs (k, n_0) or targets (k,) (its row
        counted from 0 within its row group or .npy file)."""
        bad_y = y is not None and y.dtype.kind == "f" and not np.isfinite(y).all()
        if not bad_y and np.isfinite(X).all():
            return
        if bad_y:
            assert y is not None and self.target is not None
            r, name = int(np.flatnonzero(~np.isfinite(y))[0]), self.target
        else:
            r, c = np.argwhere(~np.isfinite(X))[0]
            name = self.columns[self.features[int(c)]]
        where = f"{self.files[chunk.file]}" + (f": row group {chunk.group}" if chunk.group >= 0 else "")
        raise ValueError(f"{where}, row {chunk.start + int(r)}, column {name!r}: not finite (NaN and Inf are not "
                         "allowed)")

    def _npy_blocks(self, chunk: Chunk, targets: bool) -> Iterator[tuple[slice, np.ndarray, np.ndarray | None]]:
        """(rows in the chunk, raw inputs, raw targets or None) of each block; only the block is mapped."""
        f = self.files[chunk.file]
        dtype, width, offset = self._npy[chunk.file]
        step = max(1, BLOCK_BYTES // (width * 8))
        for a in range(chunk.start, chunk.stop, step):
            b = min(a + step, chunk.stop)
            A = np.memmap(f, dtype=dtype, mode="r", offset=offset + a * width * dtype.itemsize, shape=(b - a, width))
            inputs = A if self.t < 0 else A[:, :-1] if self.t == width - 1 else A[:, self.features]
            X: np.ndarray = np.array(inputs, dtype=_float_type(dtype))
            y = np.array(A[:, self.t]) if targets else None
            del A, inputs  # unmapped: its pages leave the resident set
            yield slice(a - chunk.start, b - chunk.start), X, y


def _copy(raw: np.ndarray, columns: slice, out: np.ndarray) -> None:
    """The transform that scales nothing: ``out`` gets the raw block, cast to its type."""
    if out is not raw:
        out[...] = raw


def _columns(pf: Any, chunk: Chunk, names: list[str], where: str) -> Iterator[Any]:
    """Some columns of a chunk of a ParquetFile (Arrow ChunkedArrays of k values), read together and alone
    (on one thread: faster for a few columns); ValueError on a missing value."""
    table = pf.read_row_group(chunk.group, columns=names, use_threads=False)
    if chunk.start or chunk.stop != table.num_rows:
        table = table.slice(chunk.start, chunk.rows)
    for name, column in zip(names, table.columns):
        if column.null_count:
            raise ValueError(f"{where}, column {name!r}: {column.null_count} missing values; "
                             "expected a value in every cell")
        yield column


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
        A = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a NumPy .npy array, or it holds pickled objects ({exc})") from None
    if hasattr(A, "files"):
        A.close()
        raise ValueError(f"{path}: an .npz archive; expected a single .npy array")
    return A  # type: ignore[no-any-return]
