r"""Costs c(a, y) of one sample, each with its gradient dc/da, and the output delta.

The network's cost is the mean over the batch, C = (1/m) sum_x c(x) (seeds 000, 001).
``COSTS`` maps names to classes. ``output_delta`` is the one place where delta^(L) is formed,
fused where the algebra allows it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from .activations import Activation, Sigmoid, Softmax

FloatArray = npt.NDArray[np.floating[Any]]


def _log(a: FloatArray) -> FloatArray:
    # ln a with a floored at the smallest normal number, so a probability of exactly 0 gives a
    # large finite value instead of -inf (and 0 * ln 0 gives 0, not NaN).
    return np.log(np.maximum(a, np.finfo(a.dtype).tiny))


class Cost(ABC):
    """Base class: a cost c(a, y) per sample; a and y have shape (m, n_L).

    Attributes
    ----------
    name : str
        The registry name.
    probability : bool
        True when a must lie in [0, 1] (the cross-entropies).
    """

    name = "cost"
    probability = False

    @abstractmethod
    def value(self, a: FloatArray, y: FloatArray) -> FloatArray:
        """c per sample, shape (m,)."""

    @abstractmethod
    def grad_a(self, a: FloatArray, y: FloatArray) -> FloatArray:
        """dc/da, shape (m, n_L)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Quadratic(Cost):
    r"""c = 1/2 ||a - y||^2, dc/da = a - y."""

    name = "quadratic"

    def value(self, a: FloatArray, y: FloatArray) -> FloatArray:
        d = a - y
        return 0.5 * np.einsum("ij,ij->i", d, d)

    def grad_a(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return a - y


class CrossEntropy(Cost):
    r"""c = -sum_j y_j ln a_j, dc/da_j = -y_j / a_j (targets: rows of y sum to 1)."""

    name = "cross_entropy"
    probability = True

    def value(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return -np.einsum("ij,ij->i", y, _log(a))

    def grad_a(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return -y / np.maximum(a, np.finfo(a.dtype).tiny)


class BinaryCrossEntropy(Cost):
    r"""c = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)], dc/da_j = (a_j - y_j) / (a_j (1 - a_j))."""

    name = "binary_cross_entropy"
    probability = True

    def value(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return -np.sum(y * _log(a) + (1 - y) * _log(1 - a), axis=1)

    def grad_a(self, a: FloatArray, y: FloatArray) -> FloatArray:
        tiny = np.finfo(a.dtype).tiny
        return -y / np.maximum(a, tiny) + (1 - y) / np.maximum(1 - a, tiny)


COSTS: dict[str, Callable[[], Cost]] = {
    cls.name: cls for cls in (Quadratic, CrossEntropy, BinaryCrossEntropy)
}


def get_cost(name: str | Cost) -> Cost:
    """The cost object for a registered name (or the object itself); ValueError lists known names."""
    if isinstance(name, Cost):
        return name
    if not isinstance(name, str):
        raise TypeError(f"a cost must be a name (str), got {type(name).__name__}")
    try:
        return COSTS[name]()
    except KeyError:
        known = ", ".join(sorted(COSTS))
        raise ValueError(f"unknown cost {name!r}; known: {known}") from None


def is_fused(g: Activation, cost: Cost) -> bool:
    """True for the pairs whose delta^(L) is a^(L) - y: softmax + cross_entropy, sigmoid + binary_cross_entropy."""
    return (type(g) is Softmax and type(cost) is CrossEntropy) or (
        type(g) is Sigmoid and type(cost) is BinaryCrossEntropy
    )


def output_delta(g: Activation, cost: Cost, z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
    r"""delta^(L) = dc/dz^(L) per sample, shape (m, n_L).

    Notes
    -----
    In general delta^(L) = dc/da^(L) * g_L'(z^(L)) (seeds 000, 001), and for softmax, whose
    Jacobian is not diagonal, the Jacobian-vector product J^T dc/da.

    Fused pairs give delta^(L) = a^(L) - y exactly:

    - softmax + cross_entropy (seed 002's derivation): sum_i (-y_i/a_i) a_i (1[i=j] - a_j)
      = -y_j + a_j sum_i y_i = a_j - y_j, which uses sum_i y_i = 1 (checked at the boundary);
    - sigmoid + binary_cross_entropy: (a - y)/(a(1 - a)) * a(1 - a) = a - y, unit by unit.

    The fused form is also the stable one: it never divides by a probability that may be 0.
    """
    if is_fused(g, cost):
        return a - y
    return g.backward(z, a, cost.grad_a(a, y))


def output_cost(g: Activation, cost: Cost, z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
    r"""c per sample, shape (m,), from the logits z^(L) where the pair is fused.

    softmax + cross_entropy: c = sum_j y_j (lse(z) - z_j) with lse(z) = ln sum_k e^{z_k};
    sigmoid + binary_cross_entropy: c = sum_j softplus(z_j) - y_j z_j. Both stay finite for
    |z| up to 1e4, where ln a would meet a = 0.
    """
    if type(g) is Softmax and type(cost) is CrossEntropy:
        zmax = z.max(axis=1, keepdims=True)
        lse = zmax + np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))  # (m, 1)
        return np.einsum("ij,ij->i", y, lse - z)
    if type(g) is Sigmoid and type(cost) is BinaryCrossEntropy:
        softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
        return np.sum(softplus - y * z, axis=1)
    return cost.value(a, y)
