"""Validation at the public boundary: each helper checks one kind of argument and returns it clean.

Internal kernels trust what these return. Every message says what was expected and what came.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Sequence

import numpy as np

DTYPES = ("float32", "float64")
FINITE_BLOCK = 1 << 18  # entries per block of the finiteness check (1 MB of float32: stays in the cache)


def dtype(value: Any) -> np.dtype[Any]:
    """np.float32 or np.float64 from a name or a NumPy dtype; ValueError for anything else."""
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {value!r}")
    return dt


def sizes(value: Any) -> tuple[int, ...]:
    """sizes = [n_0, ..., n_L]: at least two positive integers."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"sizes must be a list of layer widths [n_0, ..., n_L], got {type(value).__name__}")
    out = []
    for i, n in enumerate(value):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"sizes[{i}] must be an integer width, got {n!r}")
        if n < 1:
            raise ValueError(f"sizes[{i}] must be a positive width, got {n}")
        out.append(int(n))
    if len(out) < 2:
        raise ValueError(
            f"sizes needs at least two entries [n_0, n_1] (inputs and outputs), got {list(value)}"
        )
    return tuple(out)


def names(value: Any, L: int, what: str) -> tuple[str, ...]:
    """A list of L names, one per layer."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(
            f"{what} must be a list of {L} names, one per layer l = 1..{L}, got {value!r}"
        )
    if len(value) != L:
        raise ValueError(
            f"{what} must have one entry per layer: sizes gives L = {L}, got {len(value)} ({list(value)})"
        )
    for v in value:
        if not isinstance(v, str):
            raise TypeError(f"{what} must be names (str), got {v!r}")
    return tuple(value)


def as_float(value: Any, name: str) -> float:
    """float(value) for a real number; a ValueError, not an OverflowError, for an integer beyond float range."""
    try:
        return float(value)
    except OverflowError:
        digits = int(math.log10(abs(int(value)))) + 1  # str() of a huge int may itself be refused
        raise ValueError(f"{name} is too large for a float (at most {sys.float_info.max:g}), "
                         f"got an integer of {digits} digits") from None


def positive_int(value: Any, name: str) -> int:
    """value as an int >= 1: TypeError for a non-integer (bool included), ValueError below 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _numeric(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular numeric array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got complex values")
    return arr


def _all_finite(arr: np.ndarray) -> bool:
    # NaN propagates into min and max, and an infinity is one of them: two reductions decide it,
    # without a temporary array the size of the data (47 MB of booleans for MNIST's training images).
    # They run over blocks of FINITE_BLOCK entries, so that the second pass reads from the cache.
    # Not X @ 0 (one pass of BLAS): multi-threaded BLAS leaves its threads spinning for a while after
    # the product, and training that starts right after it ran its first epoch about 20 % slower.
    if arr.size == 0:
        return True
    if not arr.flags.c_contiguous:
        return bool(np.isfinite(arr.min()) and np.isfinite(arr.max()))
    flat = arr.reshape(-1)
    return all(np.isfinite(flat[s:s + FINITE_BLOCK].min()) and np.isfinite(flat[s:s + FINITE_BLOCK].max())
               for s in range(0, flat.size, FINITE_BLOCK))


def _finite(arr: np.ndarray, name: str) -> None:
    if np.issubdtype(arr.dtype, np.floating) and not _all_finite(arr):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = ", ".join(str(int(i)) for i in bad)
        raise ValueError(f"{name} must be finite; found {arr[tuple(bad)]} at index ({where})")


def _cast(arr: np.ndarray, dt: np.dtype[Any], name: str) -> np.ndarray:
    """arr as dtype dt (no copy when it already is); ValueError if a finite value overflows to Inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(dt, copy=False)
    if out is not arr and not _all_finite(out):
        bad = np.argwhere(~np.isfinite(out))[0]
        where = ", ".join(str(int(i)) for i in bad)
        raise ValueError(f"{name} has the value {arr[tuple(bad)]} at index ({where}), too large for {dt.name} "
                         f"(largest {np.finfo(dt).max:g}); rescale the data or use dtype float64")
    return out


def inputs(X: Any, n_0: int, dt: np.dtype[Any]) -> np.ndarray:
    """X of shape (m, n_0), finite, as dtype dt (never the caller's array modified)."""
    arr = _numeric(X, "X")
    if arr.ndim != 2:
        hint = "; for one sample use X.reshape(1, -1)" if arr.ndim == 1 else ""
        raise ValueError(f"X must be 2-D of shape (m, n_0) = (m, {n_0}), got shape {arr.shape}{hint}")
    if arr.shape[1] != n_0:
        raise ValueError(f"X has {arr.shape[1]} columns; this network expects n_0 = {n_0}")
    if arr.shape[0] == 0:
        raise ValueError("X has no rows (m = 0); at least one sample is needed")
    _finite(arr, "X")
    return _cast(arr, dt, "X")


def targets(Y: Any, m: int, n_L: int, dt: np.dtype[Any], *, cost: str, one_hot_ok: bool) -> np.ndarray:
    """Y of shape (m, n_L) as dtype dt; 1-D integer labels become one-hot rows when one_hot_ok.

    Cross-entropy targets must be non-negative rows summing to 1; binary cross-entropy targets
    must lie in [0, 1].
    """
    arr = _numeric(Y, "Y")
    if arr.ndim == 1 and n_L == 1:
        arr = arr.reshape(-1, 1)  # (m,) -> (m, 1)
    elif arr.ndim == 1:
        if not one_hot_ok:
            raise ValueError(f"Y must have shape (m, n_L) = ({m}, {n_L}), got shape {arr.shape}")
        _finite(arr, "Y")
        if not np.issubdtype(arr.dtype, np.integer):
            frac = np.flatnonzero(arr != np.round(arr)) if arr.dtype != bool else np.array([0])
            if frac.size:
                raise ValueError(f"1-D Y is read as class labels 0..{n_L - 1} and must hold integers, "
                                 f"got {arr[frac[0]].item()!r} at index {frac[0]} (dtype {arr.dtype})")
        if arr.shape[0] != m:
            raise ValueError(f"Y has {arr.shape[0]} labels; X has m = {m} rows")
        if arr.size and (arr.min() < 0 or arr.max() >= n_L):
            raise ValueError(
                f"class labels must lie in 0..{n_L - 1} (n_L = {n_L} outputs), got {arr.min()}..{arr.max()}"
            )
        onehot = np.zeros((m, n_L), dtype=dt)
        onehot[np.arange(m), arr.astype(np.intp)] = 1
        return onehot
    if arr.ndim != 2 or arr.shape != (m, n_L):
        raise ValueError(f"Y must have shape (m, n_L) = ({m}, {n_L}), got shape {arr.shape}")
    _finite(arr, "Y")
    arr = _cast(arr, dt, "Y")
    if cost == "cross_entropy":
        if (arr < 0).any():
            raise ValueError("cross_entropy targets must be non-negative (probabilities), found a negative entry")
        sums = arr.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1) > 1e-3)
        if bad.size:
            raise ValueError(
                f"cross_entropy targets must be rows summing to 1 (one-hot or probabilities); "
                f"row {bad[0]} sums to {sums[bad[0]]:g}"
            )
    elif cost == "binary_cross_entropy" and ((arr < 0).any() or (arr > 1).any()):
        raise ValueError("binary_cross_entropy targets must lie in [0, 1]")
    return arr


def sample_weight(w: Any, m: int, dt: np.dtype[Any]) -> np.ndarray | None:
    """Non-negative finite weights of shape (m,) as a new array of dtype dt; None stays None.

    In dt, the weights must not all be 0 and their sum must be finite: then every mini-batch's
    sum of weights is finite too (a batch may still weigh 0; ``train`` skips it).
    """
    if w is None:
        return None
    arr = _numeric(w, "sample_weight")
    if arr.shape != (m,):
        raise ValueError(f"sample_weight must have shape (m,) = ({m},), got shape {arr.shape}")
    _finite(arr.astype(float), "sample_weight")
    if (arr < 0).any():
        raise ValueError("sample_weight must be non-negative, found a negative weight")
    out = _cast(arr, dt, "sample_weight")
    if not out.any():
        rounded = f": as {dt.name} every weight given (the largest {arr.max():g}) rounds to 0" if arr.any() else ""
        raise ValueError(f"sample_weight must not be all zero (the cost would be 0/0){rounded}")
    total, largest = float(arr.sum(dtype=np.float64)), float(np.finfo(dt).max)
    if total > largest or not np.isfinite(out.sum()):
        raise ValueError(f"sample_weight sums to {total:g}, more than {dt.name} holds (largest {largest:g}); "
                         "rescale the weights (only their ratios matter)")
    return out.copy() if out is arr else out


def finite_parameters(weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
    """ValueError naming the first non-finite entry of a W^(l) or b^(l) (the live arrays, changeable in place)."""
    for name, arrays in (("weights", weights), ("biases", biases)):
        for l, P in enumerate(arrays, start=1):
            _finite(P, f"{name}[{l - 1}] (layer l = {l})")


def masks(values: dict[int, Any], shapes: dict[int, tuple[int, int]], dt: np.dtype[Any]) -> dict[int, np.ndarray]:
    """Dropout masks {l: (m, n_l)} for hidden layers l, finite, as dtype dt; ``shapes`` maps each hidden l
    to its (m, n_l)."""
    out = {}
    for l, r in values.items():
        if isinstance(l, bool) or not isinstance(l, int) or l not in shapes:
            raise ValueError(f"dropout masks are keyed by hidden layer l = 1..{len(shapes)}, got {l!r}")
        arr = _numeric(r, f"masks[{l}]")
        if arr.shape != shapes[l]:
            raise ValueError(f"masks[{l}] must have shape {shapes[l]}, got {arr.shape}")
        _finite(arr, f"masks[{l}]")
        out[l] = _cast(arr, dt, f"masks[{l}]")
    return out


def parameters(values: Any, shapes: list[tuple[int, ...]], dt: np.dtype[Any], name: str) -> list[np.ndarray]:
    """A list of arrays with exactly the given shapes, finite, copied into dtype dt."""
    if isinstance(values, np.ndarray) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a list of {len(shapes)} arrays, got {type(values).__name__}")
    if len(values) != len(shapes):
        raise ValueError(f"{name} must have {len(shapes)} arrays (one per layer), got {len(values)}")
    out = []
    for l, (v, shape) in enumerate(zip(values, shapes), start=1):
        arr = _numeric(v, f"{name}[{l - 1}]")
        if arr.shape != shape:
            raise ValueError(f"{name}[{l - 1}] (layer l = {l}) must have shape {shape}, got {arr.shape}")
        _finite(arr, f"{name}[{l - 1}]")
        out.append(np.array(_cast(arr, dt, f"{name}[{l - 1}]"), dtype=dt, copy=True, order="C"))
    return out
