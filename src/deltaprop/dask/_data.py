"""The data side of ``deltaprop.dask``: Dask arrays or DataFrames as delayed partitions aligned by rows.

X (m, n_0), y and the optional weights w become lists of delayed partitions (X_p, Y_p, w_p) with
whole rows and the same row counts m_p, never gathered. DataFrames are checked column by column
(numeric or bool), cast to ``net.dtype`` and matched to each other partition by partition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..network import Network


def dask_rows(net: Network, X: Any, y: Any,
              sample_weight: Any) -> tuple[list[Any], list[Any], list[Any] | None, tuple[int, ...]]:
    """Delayed partitions of X (m_p, n_0), y and w, aligned by rows, and the row counts m_p."""
    X, y, w = _dask_arrays(net, X, y, sample_weight)
    _check_width(net, X.ndim, X.shape[-1])
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have m = {X.shape[0]} rows (shape (m,) or (m, n_L)), got shape {y.shape}")
    if any(np.isnan(n) for n in X.shape):
        raise ValueError("X has unknown partition sizes; call X.compute_chunk_sizes() first")
    X = X.rechunk({1: -1})  # whole rows in each partition
    rows = X.chunks[0]
    y = y.rechunk({0: rows} if y.ndim == 1 else {0: rows, 1: -1})
    if w is not None:
        if w.shape != (X.shape[0],):
            raise ValueError(f"sample_weight must have shape (m,) = ({X.shape[0]},), got {w.shape}")
        w = list(w.rechunk({0: rows}).to_delayed().ravel())
    return list(X.to_delayed().ravel()), list(y.to_delayed().ravel()), w, rows


def _check_width(net: Network, ndim: int, columns: int) -> None:
    if ndim != 2 or columns != net.sizes[0]:
        shape = f"{columns} columns" if ndim == 2 else f"{ndim} dimensions"
        raise ValueError(f"X has {shape}; this network expects (m, n_0) with n_0 = {net.sizes[0]}")


def _is_frame(A: Any) -> bool:
    """A Dask DataFrame or Series (a Dask array has no ``to_dask_array``)."""
    from dask import is_dask_collection

    return is_dask_collection(A) and hasattr(A, "to_dask_array")


def _dask_arrays(net: Network, X: Any, y: Any, sample_weight: Any) -> tuple[Any, Any, Any]:
    """X, y and w as Dask arrays, rows in the same order; DataFrames checked, cast to ``net.dtype``
    and matched by position, partition by partition (so they must be partitioned alike)."""
    if isinstance(y, str):
        if not _is_frame(X) or X.ndim != 2:
            raise TypeError(f"y = {y!r} names a column, so X must be a Dask DataFrame, got {type(X).__name__}")
        if y not in X.columns:
            raise ValueError(f"y names the column {y!r}, which X does not have; its columns are "
                             f"{', '.join(map(repr, X.columns))}")
        X, y = X.drop(columns=[y]), X[y]
    named = {"X": X, "y": y, "sample_weight": sample_weight}
    frames = {name: A for name, A in named.items() if _is_frame(A)}
    for name, A in frames.items():
        _check_columns(name, A)
    if "X" in frames:  # before the pass over the data that counts the rows
        _check_width(net, X.ndim, len(X.columns) if X.ndim == 2 else 1)
    if frames:
        import dask

        counts = dask.compute(*(A.map_partitions(len) for A in frames.values()))  # one pass over the data
        lengths = {name: tuple(int(n) for n in rows) for name, rows in zip(frames, counts)}
        _check_partitions(frames, lengths)
        for name, A in frames.items():
            named[name] = A.astype(net.dtype).to_dask_array(lengths=list(lengths[name]))
    for name, A in named.items():
        if name not in frames and not (name == "sample_weight" and A is None):
            named[name] = _as_dask_array(A, name)
    return named["X"], named["y"], named["sample_weight"]


def _check_columns(name: str, A: Any) -> None:
    """TypeError naming the first column that is not numeric or bool (complex included)."""
    from pandas.api.types import is_complex_dtype, is_numeric_dtype

    columns = A.dtypes.items() if A.ndim == 2 else [(A.name, A.dtype)]
    for column, dtype in columns:
        if not is_numeric_dtype(dtype) or is_complex_dtype(dtype):
            raise TypeError(f"{name} column {column!r} has dtype {dtype}; deltaprop.dask takes numeric or bool "
                            f"columns: encode it as numbers or drop it")


def _check_partitions(frames: dict[str, Any], lengths: dict[str, tuple[int, ...]]) -> None:
    """ValueError unless the DataFrames have the same divisions (when known) and rows per partition."""
    def listed(values: Any) -> str:
        return f"({', '.join(str(v) for v in values)})"
    first = next(iter(frames))
    for name, A in frames.items():
        divisions = frames[first].divisions, A.divisions
        if lengths[name] != lengths[first] or (None not in divisions[0] + divisions[1]
                                               and listed(divisions[0]) != listed(divisions[1])):
            raise ValueError(f"{first} and {name} are partitioned differently: {first} has rows per partition "
                             f"{listed(lengths[first])} and divisions {listed(divisions[0])}, {name} has "
                             f"{listed(lengths[name])} and {listed(divisions[1])}; take both from one DataFrame "
                             f"(y as a column name) or repartition them alike")


def _as_dask_array(A: Any, name: str) -> Any:
    import dask.array as da

    if isinstance(A, da.Array):
        return A
    raise TypeError(f"{name} must be a Dask array or Dask DataFrame, got {type(A).__name__}; "
                    f"wrap a NumPy array with dask.array.from_array(A, chunks=...)")
