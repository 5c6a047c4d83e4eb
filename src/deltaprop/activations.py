r"""Activation functions g_l, each with its value and derivative side by side.

Every activation is one class with ``value(z)`` and ``derivative(z)``; softmax, whose
Jacobian is not diagonal, also has ``jvp(z, v)``. ``ACTIVATIONS`` maps names to classes: the
ones here, the further built-ins of ``activations_extra`` (elu, selu, gelu, swish, silu,
hard_sigmoid), and those a user adds with ``deltaprop.register_activation``, which checks the
derivative against finite differences first.

Notes
-----
ReLU's derivative is the step 1[z > 0]. Seed 002 writes g'(s) = max(0, s), which is ReLU
itself, not its derivative (at z = 2 it gives 2 instead of 1). Seed 003 writes
sigma'(z)(1 - sigma(z)), which applies the derivative twice: the correct form is
sigma'(z) = sigma(z)(1 - sigma(z)). Both slips are pinned by tests in ``tests/test_activations.py``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._activation_base import Activation, FloatArray, _sigmoid
from .activations_extra import EXTRA


class Identity(Activation):
    """g(z) = z, g'(z) = 1."""

    name = "identity"

    def value(self, z: FloatArray) -> FloatArray:
        return z.copy()

    def derivative(self, z: FloatArray) -> FloatArray:
        return np.ones_like(z)

    def backward(self, z: FloatArray, a: FloatArray, grad_a: FloatArray) -> FloatArray:
        return grad_a


class Sigmoid(Activation):
    r"""g(z) = 1 / (1 + e^{-z}), g'(z) = g(z)(1 - g(z)) (not sigma'(z)(1 - sigma(z)) as seed 003 writes)."""

    name = "sigmoid"
    probability = True
    positive = True

    def value(self, z: FloatArray) -> FloatArray:
        return _sigmoid(z)

    def derivative(self, z: FloatArray) -> FloatArray:
        s = _sigmoid(z)
        return s * (1 - s)

    def derivative_from(self, z: FloatArray, a: FloatArray) -> FloatArray:
        return a * (1 - a)


class Tanh(Activation):
    """g(z) = tanh z, g'(z) = 1 - tanh^2 z."""

    name = "tanh"

    def value(self, z: FloatArray) -> FloatArray:
        return np.tanh(z)

    def derivative(self, z: FloatArray) -> FloatArray:
        t = np.tanh(z)
        return 1 - t * t

    def derivative_from(self, z: FloatArray, a: FloatArray) -> FloatArray:
        return 1 - a * a


class ReLU(Activation):
    """g(z) = max(0, z), g'(z) = 1[z > 0] (the step, not max(0, z) as seed 002 writes; g'(0) := 0)."""

    name = "relu"
    he_init = True

    def value(self, z: FloatArray) -> FloatArray:
        return np.maximum(z, 0)

    def derivative(self, z: FloatArray) -> FloatArray:
        return (z > 0).astype(z.dtype)

    def backward(self, z: FloatArray, a: FloatArray, grad_a: FloatArray) -> FloatArray:
        return np.where(z > 0, grad_a, 0).astype(grad_a.dtype, copy=False)


class LeakyReLU(Activation):
    """g(z) = z for z > 0 else 0.01 z; g'(z) = 1 for z > 0 else 0.01."""

    name = "leaky_relu"
    he_init = True
    slope = 0.01

    def value(self, z: FloatArray) -> FloatArray:
        return np.where(z > 0, z, self.slope * z).astype(z.dtype, copy=False)

    def derivative(self, z: FloatArray) -> FloatArray:
        return np.where(z > 0, 1, self.slope).astype(z.dtype)


class Softplus(Activation):
    """g(z) = ln(1 + e^z), computed as max(z, 0) + ln(1 + e^{-|z|}); g'(z) = sigmoid(z)."""

    name = "softplus"
    positive = True

    def value(self, z: FloatArray) -> FloatArray:
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))

    def derivative(self, z: FloatArray) -> FloatArray:
        return _sigmoid(z)


class Softmax(Activation):
    r"""a_j = e^{z_j} / sum_k e^{z_k} over the units of a sample (output layer only).

    Its Jacobian da_i/dz_j = a_i (1[i = j] - a_j) is not diagonal, so ``derivative`` is not
    defined; ``jvp`` applies the (symmetric) Jacobian to a vector instead.
    """

    name = "softmax"
    elementwise = False
    probability = True
    positive = True

    def value(self, z: FloatArray) -> FloatArray:
        e = np.exp(z - z.max(axis=1, keepdims=True))  # log-sum-exp shift: finite for any z
        e /= e.sum(axis=1, keepdims=True)
        return e

    def derivative(self, z: FloatArray) -> FloatArray:
        raise TypeError("softmax has no elementwise derivative; use jvp(z, v) or jacobian(z)")

    def jvp(self, z: FloatArray, v: FloatArray, a: FloatArray | None = None) -> FloatArray:
        r"""J v per sample, where J = diag(a) - a a^T: returns a * (v - sum_k a_k v_k), shape (m, n_l)."""
        a = self.value(z) if a is None else a
        return a * (v - np.sum(a * v, axis=1, keepdims=True))

    def backward(self, z: FloatArray, a: FloatArray, grad_a: FloatArray) -> FloatArray:
        return self.jvp(z, grad_a, a)

    def jacobian(self, z: FloatArray) -> FloatArray:
        a = self.value(z)
        J = -a[:, :, None] * a[:, None, :]  # (m, n_l, n_l)
        idx = np.arange(z.shape[1])
        J[:, idx, idx] += a
        return J


# name -> a factory of Activation objects: a class for every built-in (and for registered classes);
# deltaprop.register_activation adds entries and deltaprop.unregister_activation removes them.
_BUILTINS: tuple[type[Activation], ...] = (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Softmax, *EXTRA)
ACTIVATIONS: dict[str, Callable[[], Activation]] = {cls.name: cls for cls in _BUILTINS}


def get_activation(name: str | Activation) -> Activation:
    """The activation object for a registered name (or the object itself).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    TypeError
        For anything that is neither a name nor an Activation.
    """
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str):
        raise TypeError(f"an activation must be a name (str), got {type(name).__name__}")
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; known: {known}") from None
