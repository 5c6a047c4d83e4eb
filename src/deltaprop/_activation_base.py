r"""The base of every activation: :class:`Activation` (value and derivative side by side) and the sigmoid.

``activations`` (the first built-ins and the ``ACTIVATIONS`` table) and ``activations_extra``
(the further built-ins) both build on this module, so neither imports the other's half.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating[Any]]


class Activation(ABC):
    """Base class: an activation a = g(z) applied to z of shape (m, n_l).

    Attributes
    ----------
    name : str
        The registry name.
    elementwise : bool
        True when a_j depends on z_j alone, so that g'(z) is a diagonal Jacobian.
    probability : bool
        True when every output lies in [0, 1] (sigmoid, softmax): required by the
        cross-entropy costs.
    positive : bool
        True when every output is > 0 (sigmoid, softplus, softmax): what the Poisson
        deviance needs.
    he_init : bool
        True for the ReLU family, which the default initialisation gives He's scale.
    """

    name = "activation"
    elementwise = True
    probability = False
    positive = False
    he_init = False

    @abstractmethod
    def value(self, z: FloatArray) -> FloatArray:
        """a = g(z), same shape as z."""

    @abstractmethod
    def derivative(self, z: FloatArray) -> FloatArray:
        """g'(z) elementwise, same shape as z."""

    def derivative_from(self, z: FloatArray, a: FloatArray) -> FloatArray:
        """g'(z) given both z and a = g(z); overridden where a makes it cheaper."""
        return self.derivative(z)

    def backward(self, z: FloatArray, a: FloatArray, grad_a: FloatArray) -> FloatArray:
        """delta = dc/dz from grad_a = dc/da: grad_a * g'(z) for elementwise g."""
        return grad_a * self.derivative_from(z, a)

    def jacobian(self, z: FloatArray) -> FloatArray:
        """da/dz per sample, shape (m, n_l, n_l): diag(g'(z)) for elementwise g (seed 004's D^[l])."""
        d = self.derivative(z)
        J = np.zeros(z.shape + (z.shape[1],), dtype=z.dtype)  # (m, n_l, n_l)
        idx = np.arange(z.shape[1])
        J[:, idx, idx] = d
        return J

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _sigmoid(z: FloatArray) -> FloatArray:
    # 1 / (1 + e^-z) written with e^-|z| <= 1, so no overflow for |z| up to 1e4 and beyond.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)
