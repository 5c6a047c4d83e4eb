r"""Costs c(a, y) of one sample, each with its gradient dc/da, and the output delta.

The network's cost is the mean over the batch, C = (1/m) sum_x c(x) (seeds 000, 001).
``COSTS`` maps names to classes (``deltaprop.register_cost`` adds checked user costs).
``output_delta`` is the one place where delta^(L) is formed, fused where the algebra allows it.
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
    positive : bool
        True when a must be > 0 (the Poisson deviance).
    """

    name = "cost"
    probability = False
    positive = False

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


class MeanAbsolute(Cost):
    r"""c = sum_j |a_j - y_j|, dc/da_j = sign(a_j - y_j), taken as 0 where a_j = y_j.

    The name "mae" is the batch's mean absolute error: C = (1/m) sum_x c(x), exactly the MAE
    for one output unit. |r| has no derivative at r = 0; 0 is the subgradient chosen there
    (as PyTorch's ``l1_loss`` does).
    """

    name = "mae"

    def value(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return np.abs(a - y).sum(axis=1)

    def grad_a(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return np.sign(a - y)


class Huber(Cost):
    r"""Huber's cost with threshold 1 per unit: with r = a - y, c = sum_j h(r_j) where
    h(r) = 1/2 r^2 for |r| <= 1 and |r| - 1/2 otherwise; dc/da_j = clip(r_j, -1, 1).

    Quadratic near the target and linear in the tails, so one outlier's gradient is at most 1
    per unit. h and h' are continuous at |r| = 1 (both pieces give 1/2 and +-1 there).
    """

    name = "huber"

    def value(self, a: FloatArray, y: FloatArray) -> FloatArray:
        r = np.abs(a - y)
        return np.where(r <= 1, 0.5 * r * r, r - 0.5).sum(axis=1)

    def grad_a(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return np.clip(a - y, -1, 1)


class PoissonDeviance(Cost):
    r"""Poisson deviance for count targets y >= 0 and predicted means a > 0:
    c = 2 sum_j [y_j ln(y_j / a_j) - (y_j - a_j)], dc/da_j = 2 (1 - y_j / a_j).

    Notes
    -----
    This is the deviance (scikit-learn's ``mean_poisson_deviance`` for one output), that is
    twice the negative log-likelihood sum_j [a_j - y_j ln a_j] minus its value at a = y: it is
    0 at a perfect fit, and y ln y is taken as 0 at y = 0. It needs a positive output
    activation (softplus, sigmoid or softmax). ``value`` refuses a < 0 or y < 0 with a
    ValueError; a below sqrt(tiny) (from an output that underflowed to 0) is read as sqrt(tiny),
    so that the cost and its gradient stay finite.
    """

    name = "poisson"
    positive = True

    @staticmethod
    def _floor(a: FloatArray) -> FloatArray:
        return np.maximum(a, np.sqrt(np.finfo(a.dtype).tiny))

    def value(self, a: FloatArray, y: FloatArray) -> FloatArray:
        if (a < 0).any():
            raise ValueError(
                f"cost 'poisson' needs predictions a >= 0 (a positive output activation: softplus, sigmoid "
                f"or softmax); got a = {a.min():g}"
            )
        if (y < 0).any():
            raise ValueError(f"cost 'poisson' needs count targets y >= 0; got y = {y.min():g}")
        y_ln_y = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0)  # 0 ln 0 = 0
        return 2 * np.sum(y_ln_y - y * np.log(self._floor(a)) - y + a, axis=1)

    def grad_a(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return 2 * (1 - y / self._floor(a))


class FunctionCost(Cost):
    r"""A cost from a user's two functions (see ``deltaprop.register_cost``).

    ``register_cost`` makes one subclass per name, with ``value_fn(a, y)`` returning c per
    sample, shape (m,), and ``grad_a_fn(a, y)`` returning dc/da, shape (m, n_L); results are
    returned in a's dtype.
    """

    name = "function"
    value_fn: Callable[[FloatArray, FloatArray], FloatArray]
    grad_a_fn: Callable[[FloatArray, FloatArray], FloatArray]

    def value(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return np.asarray(type(self).value_fn(a, y), dtype=a.dtype)

    def grad_a(self, a: FloatArray, y: FloatArray) -> FloatArray:
        return np.asarray(type(self).grad_a_fn(a, y), dtype=a.dtype)

    def __repr__(self) -> str:
        return f"FunctionCost({self.name!r})"


# name -> a factory of Cost objects (the classes); deltaprop.register_cost adds entries.
COSTS: dict[str, Callable[[], Cost]] = {
    cls.name: cls for cls in (Quadratic, CrossEntropy, BinaryCrossEntropy, MeanAbsolute, Huber, PoissonDeviance)
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


def batch_scale(m: int, w: FloatArray | None) -> float:
    r"""The factor of the batch mean, C = scale * sum_i w_i c_i: 1/m, or 1 / sum_i w_i with weights w (m,).

    A batch whose weights sum to 0 carries no weight: its scale is 0, so its gradients are 0
    (``train`` then makes no update), where 1 / sum_i w_i would divide by zero.
    """
    if w is None:
        return 1.0 / m
    total = float(w.sum())
    return 1.0 / total if total > 0 else 0.0


def is_fused(g: Activation, cost: Cost) -> bool:
    """True for the pairs whose delta^(L) is fused (see ``output_delta``): softmax + cross_entropy and
    sigmoid + binary_cross_entropy."""
    return (type(g) is Softmax and type(cost) is CrossEntropy) or (
        type(g) is Sigmoid and type(cost) is BinaryCrossEntropy
    )


def output_delta(g: Activation, cost: Cost, z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
    r"""delta^(L) = dc/dz^(L) per sample, shape (m, n_L).

    Notes
    -----
    In general delta^(L) = dc/da^(L) * g_L'(z^(L)) (seeds 000, 001), and for softmax, whose
    Jacobian is not diagonal, the Jacobian-vector product J^T dc/da.

    Fused pairs give delta^(L) in closed form:

    - softmax + cross_entropy (seed 002's derivation): sum_i (-y_i/a_i) a_i (1[i=j] - a_j)
      = a_j sum_i y_i - y_j. Targets are accepted when each row sums to 1 within 1e-3, so the
      row sum stays in the formula: it is the gradient of the cost reported for every accepted
      row, and exactly a - y for one-hot rows (whose sum is exactly 1);
    - sigmoid + binary_cross_entropy: (a - y)/(a(1 - a)) * a(1 - a) = a - y, unit by unit, for
      any targets in [0, 1].

    The fused form is also the stable one: it never divides by a probability that may be 0.
    The fast kernels (``kernels.DenseKernel``, ``_fastloops._output``) compute the same formulas
    in place and are tested against this function.
    """
    if type(g) is Softmax and type(cost) is CrossEntropy:
        return a * y.sum(axis=1, keepdims=True) - y  # (m, n_L): a^(L) sum_j y_j - y
    if type(g) is Sigmoid and type(cost) is BinaryCrossEntropy:
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
