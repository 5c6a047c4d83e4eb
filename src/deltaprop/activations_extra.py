r"""More built-in activations (elu, selu, gelu, swish, silu, hard_sigmoid) and the wrapper of user functions.

Each is elementwise: a_j = g(z_j), so g'(z) is a diagonal Jacobian and ``derivative`` returns its
diagonal, shape (m, n_l) like z. Every value and derivative is finite, and NaN-free, for |z| up
to 1e4 (and beyond) in float32 and float64. ``ACTIVATIONS`` in ``deltaprop.activations`` lists
them with the others.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._activation_base import Activation, FloatArray, _sigmoid


class ELU(Activation):
    r"""Exponential linear unit, alpha = 1: g(z) = z for z > 0, alpha (e^z - 1) otherwise.

    g'(z) = 1 for z > 0, alpha e^z otherwise (continuous at 0 because alpha = 1). e^z - 1 is
    computed as ``expm1(min(z, 0))``, exact near 0 and free of overflow for large z.
    """

    name = "elu"
    he_init = True
    alpha = 1.0

    def value(self, z: FloatArray) -> FloatArray:
        return np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0))).astype(z.dtype, copy=False)

    def derivative(self, z: FloatArray) -> FloatArray:
        return np.where(z > 0, 1, self.alpha * np.exp(np.minimum(z, 0))).astype(z.dtype, copy=False)


class SELU(ELU):
    r"""Scaled ELU: g(z) = lambda z for z > 0, lambda alpha (e^z - 1) otherwise.

    The constants of Klambauer et al. (2017), alpha = 1.6732632423543772 and
    lambda = 1.0507009873554805, keep zero mean and unit variance fixed from layer to layer.
    g'(z) = lambda for z > 0, lambda alpha e^z otherwise.
    """

    name = "selu"
    he_init = False  # SELU wants variance 1/n_{l-1}; Glorot's 2/(n_{l-1} + n_l) is the nearer default
    alpha = 1.6732632423543772
    scale = 1.0507009873554805

    def value(self, z: FloatArray) -> FloatArray:
        return (self.scale * super().value(z)).astype(z.dtype, copy=False)

    def derivative(self, z: FloatArray) -> FloatArray:
        return (self.scale * super().derivative(z)).astype(z.dtype, copy=False)


_GELU_C = float(np.sqrt(2 / np.pi))
_GELU_K = 0.044715


class GELU(Activation):
    r"""Gaussian error linear unit, tanh approximation (Hendrycks & Gimpel; PyTorch's approximate="tanh").

    g(z) = 1/2 z (1 + tanh u) with u = c (z + k z^3), c = sqrt(2/pi), k = 0.044715;
    g'(z) = 1/2 (1 + tanh u) + 1/2 z (1 - tanh^2 u) c (1 + 3 k z^2).

    Notes
    -----
    For |z| >= 50, tanh u is +-1 to the last bit, so z is clipped to [-50, 50] inside u only:
    the value is unchanged and z^3 cannot overflow.
    """

    name = "gelu"
    he_init = True

    @staticmethod
    def _tanh_u(z: FloatArray) -> tuple[FloatArray, FloatArray]:
        zc = np.clip(z, -50, 50)
        return np.tanh(_GELU_C * (zc + _GELU_K * zc**3)), zc

    def value(self, z: FloatArray) -> FloatArray:
        t, _ = self._tanh_u(z)
        return 0.5 * z * (1 + t)

    def derivative(self, z: FloatArray) -> FloatArray:
        t, zc = self._tanh_u(z)
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * _GELU_C * (1 + 3 * _GELU_K * zc * zc)


class Swish(Activation):
    r"""g(z) = z sigma(z) with sigma the logistic sigmoid; g'(z) = sigma(z) (1 + z (1 - sigma(z))).

    The same function is registered as "swish" (Ramachandran et al.) and "silu" (Hendrycks &
    Gimpel; PyTorch's name).
    """

    name = "swish"
    he_init = True

    def value(self, z: FloatArray) -> FloatArray:
        return z * _sigmoid(z)

    def derivative(self, z: FloatArray) -> FloatArray:
        s = _sigmoid(z)
        return s * (1 + z * (1 - s))


class SiLU(Swish):
    """The sigmoid-weighted linear unit: swish under PyTorch's name, g(z) = z sigma(z)."""

    name = "silu"


class HardSigmoid(Activation):
    r"""Piecewise-linear sigmoid: g(z) = clip(z/6 + 1/2, 0, 1), as PyTorch's ``hardsigmoid``.

    g'(z) = 1/6 for -3 < z < 3 and 0 outside (at the kinks z = +-3 we take 0). The range is
    [0, 1], so it may feed the cross-entropy costs (``probability`` is True); it reaches 0
    and 1 exactly, so it is not ``positive``. (Keras once defined it as clip(0.2 z + 0.5, 0, 1).)
    """

    name = "hard_sigmoid"
    probability = True

    def value(self, z: FloatArray) -> FloatArray:
        return np.clip(z / 6 + 0.5, 0, 1).astype(z.dtype, copy=False)

    def derivative(self, z: FloatArray) -> FloatArray:
        return np.where(np.abs(z) < 3, 1 / 6, 0).astype(z.dtype)


EXTRA: tuple[type[Activation], ...] = (ELU, SELU, GELU, Swish, SiLU, HardSigmoid)


class FunctionActivation(Activation):
    r"""An elementwise activation from a user's two functions (see ``deltaprop.register_activation``).

    ``register_activation`` makes one subclass per name, with the functions as ``value_fn`` and
    ``derivative_fn``; both take z of shape (m, n_l) and return g(z) and g'(z) of that shape.
    Results are returned in z's dtype.
    """

    name = "function"
    value_fn: Callable[[FloatArray], FloatArray]
    derivative_fn: Callable[[FloatArray], FloatArray]

    def value(self, z: FloatArray) -> FloatArray:
        return np.asarray(type(self).value_fn(z), dtype=z.dtype)

    def derivative(self, z: FloatArray) -> FloatArray:
        return np.asarray(type(self).derivative_fn(z), dtype=z.dtype)

    def __repr__(self) -> str:
        return f"FunctionActivation({self.name!r})"
