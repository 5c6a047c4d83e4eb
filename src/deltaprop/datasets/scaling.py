"""How raw inputs are mapped to what the network sees, saved with the model (``Scaling``).

Examples
--------
>>> Scaling.divide(255.0).apply(np.array([[0.0, 51.0, 255.0]]))
array([[0. , 0.2, 1. ]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]

__all__ = ["Scaling"]

_SCALING_KINDS = ("none", "divide", "standardize")


@dataclass(frozen=True)
class Scaling:
    """How raw inputs are mapped to what the network sees.

    Parameters
    ----------
    kind : {"none", "divide", "standardize"}
        "none" leaves X as it is; "divide" computes X / scale (images to [0, 1]);
        "standardize" computes (X - mean) / std feature by feature.
    scale : float
        The divisor for "divide"; must be finite and > 0.
    mean, std : tuple of n_0 floats or None
        Per-feature statistics for "standardize" (std > 0), None otherwise.

    Examples
    --------
    >>> s = Scaling.standardize_from(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.mean, s.std                  # the second feature is constant: std 0 -> 1
    ((2.0, 5.0), (1.0, 1.0))
    >>> s.apply(np.array([[4.0, 6.0]]))
    array([[2., 1.]])
    >>> Scaling.from_json(s.to_json()) == s
    True
    """

    kind: str = "none"
    scale: float = 1.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in _SCALING_KINDS:
            raise ValueError(f"Scaling kind must be one of {_SCALING_KINDS}, got {self.kind!r}")
        if not (_is_real(self.scale) and math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"Scaling scale must be a finite number > 0, got {self.scale!r}")
        object.__setattr__(self, "scale", float(self.scale))
        if self.kind != "divide" and self.scale != 1.0:
            raise ValueError(f"Scaling kind {self.kind!r} takes no scale (it must stay 1.0), got {self.scale}")
        if self.kind != "standardize":
            if self.mean is not None or self.std is not None:
                raise ValueError(f"Scaling kind {self.kind!r} takes no mean or std; use kind 'standardize'")
            return
        stats = {}
        for name, values in (("mean", self.mean), ("std", self.std)):
            if not isinstance(values, (tuple, list, np.ndarray)) \
                    or not all(_is_real(v) and math.isfinite(v) for v in values):
                raise ValueError(f"Scaling {name} must be a sequence of finite numbers, got {values!r}")
            stats[name] = tuple(float(v) for v in values)
            object.__setattr__(self, name, stats[name])
        mean, std = stats["mean"], stats["std"]
        if len(mean) != len(std) or not mean:
            raise ValueError(f"Scaling mean and std need the same length >= 1, got {len(mean)} and {len(std)}")
        if min(std) <= 0:
            raise ValueError(f"Scaling std must be > 0 for every feature, got min {min(std)}")

    @classmethod
    def identity(cls) -> Scaling:
        """Return the scaling that leaves inputs unchanged."""
        return cls("none")

    @classmethod
    def divide(cls, scale: float) -> Scaling:
        """Return the scaling X / scale, e.g. ``Scaling.divide(255.0)`` for 8-bit images."""
        return cls("divide", scale)

    @classmethod
    def standardize_from(cls, X: npt.ArrayLike) -> Scaling:
        """Return the per-feature standardisation fitted to X.

        Parameters
        ----------
        X : array_like of shape (m, n_0)
            Finite numbers, m >= 1; a feature with std 0 gets std 1.
        """
        X = _as_matrix(X, "X")
        return cls.standardized(X.mean(axis=0, dtype=np.float64), X.std(axis=0, dtype=np.float64))

    @classmethod
    def standardized(cls, mean: npt.ArrayLike, std: npt.ArrayLike) -> Scaling:
        """Return the standardisation with these statistics, each of shape (n_0,); std 0 becomes 1.

        ``standardize_from`` computes them from an array in memory, ``datasets.stream`` in one pass.
        """
        std = np.array(std, dtype=np.float64)  # (n_0,), a copy
        std[std == 0] = 1.0
        return cls("standardize", mean=tuple(np.asarray(mean, dtype=np.float64).tolist()), std=tuple(std.tolist()))

    def features(self, first: int, stop: int) -> Scaling:
        """Return this scaling restricted to the features first..stop-1 (for inputs read a few columns at a time).

        Examples
        --------
        >>> Scaling("standardize", mean=(1.0, 2.0, 3.0), std=(1.0, 1.0, 2.0)).features(1, 3).mean
        (2.0, 3.0)
        """
        if self.kind != "standardize":
            return self
        assert self.mean is not None and self.std is not None  # invariant of __post_init__
        return Scaling("standardize", mean=self.mean[first:stop], std=self.std[first:stop])

    def apply(self, X: npt.ArrayLike, out: np.ndarray | None = None) -> FloatArray:
        """Return the scaled inputs: a new array, or ``out`` filled with them.

        Parameters
        ----------
        X : array_like of shape (m, n_0)
            Raw inputs; for "standardize", n_0 must equal len(mean).
        out : ndarray of shape (m, n_0), optional
            Where to write the result (a view of a larger array will do). The arithmetic is done in
            X's float type either way, so the values are those of ``apply(X)`` cast to ``out.dtype``.

        Returns
        -------
        ndarray of shape (m, n_0)
            float32 inputs stay float32; any other input becomes float64 (``out`` when given).
        """
        X = _as_matrix(X, "X")
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        if out is not None and out.shape != X.shape:
            raise ValueError(f"out has shape {out.shape}; expected X's {X.shape}")
        if out is not None and out.dtype != dtype:  # scaled in X's type, then cast
            out[...] = self.apply(X)
            return out
        if self.kind == "standardize":
            assert self.mean is not None and self.std is not None  # invariant of __post_init__
            if X.shape[1] != len(self.mean):
                raise ValueError(f"X has {X.shape[1]} columns; this scaling expects n_0 = {len(self.mean)}")
        if out is None:
            out = np.empty(X.shape, dtype)
        if self.kind == "none":
            out[...] = X
        elif self.kind == "divide":
            np.divide(X, dtype.type(self.scale), out=out, dtype=dtype, casting="unsafe")
        else:
            np.subtract(X, np.asarray(self.mean, dtype), out=out, dtype=dtype, casting="unsafe")
            np.divide(out, np.asarray(self.std, dtype), out=out)
        return out

    def invert(self, Z: npt.ArrayLike) -> FloatArray:
        """Return the raw values whose scaled form is Z: the inverse of :meth:`apply`.

        Parameters
        ----------
        Z : array_like of shape (m, n_0)

        Returns
        -------
        ndarray of shape (m, n_0), float64

        Examples
        --------
        >>> s = Scaling("standardize", mean=(10.0,), std=(2.0,))
        >>> s.invert(s.apply(np.array([[7.0], [12.0]])))
        array([[ 7.],
               [12.]])
        """
        Z = _as_matrix(Z, "Z").astype(np.float64)
        if self.kind == "none":
            return Z
        if self.kind == "divide":
            return Z * self.scale
        assert self.mean is not None and self.std is not None  # invariant of __post_init__
        if Z.shape[1] != len(self.mean):
            raise ValueError(f"Z has {Z.shape[1]} columns; this scaling expects n_0 = {len(self.mean)}")
        return Z * np.asarray(self.std) + np.asarray(self.mean)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict that :meth:`from_json` turns back into this scaling."""
        if self.kind == "none":
            return {"kind": "none"}
        if self.kind == "divide":
            return {"kind": "divide", "scale": self.scale}
        return {"kind": "standardize", "mean": list(self.mean or ()), "std": list(self.std or ())}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Scaling:
        """Rebuild a scaling from :meth:`to_json` output; ValueError if the dict is malformed."""
        if not isinstance(d, dict):
            raise TypeError(f"Scaling.from_json expects a dict, got {type(d).__name__}")
        keys = {"none": {"kind"}, "divide": {"kind", "scale"}, "standardize": {"kind", "mean", "std"}}
        kind = d.get("kind")
        if kind not in keys:
            raise ValueError(f"Scaling JSON 'kind' must be one of {_SCALING_KINDS}, got {kind!r}")
        if set(d) != keys[kind]:
            raise ValueError(f"Scaling JSON of kind {kind!r} needs keys {sorted(keys[kind])}, got {sorted(d)}")
        for name in ("mean", "std"):
            if name in d and not isinstance(d[name], list):
                raise ValueError(f"Scaling JSON {name!r} must be a list of numbers, got {d[name]!r}")
        return cls(kind, d.get("scale", 1.0), d.get("mean"), d.get("std"))


def _is_real(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _check_finite(X: np.ndarray, what: str) -> None:
    """Raise ValueError naming the first NaN/Inf of a 2-D array."""
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        r, c = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{what} has a non-finite value {X[r, c]} at row {r}, column {c}")


def _as_matrix(X: npt.ArrayLike, what: str) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{what} must have shape (m, n_0) with m >= 1, got {X.shape}")
    _check_finite(X, what)
    return X
