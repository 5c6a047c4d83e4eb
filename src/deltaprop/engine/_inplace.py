r"""The layer formulas in place, for the fast kernels: each helper writes over an array it is given.

``DenseKernel`` is built from these alone; ``SparseKernel`` uses them for the layers it leaves to
NumPy. Each is the formula of ``Network`` (``activations``, ``costs``) computed into reused arrays,
as scikit-learn's ``inplace_*`` helpers are, and ``tests/test_engine_inplace.py`` checks each
against the plain expression. A hidden layer's backward step needs only a^(l): g'(z) is 1[a > 0]
(ReLU), a(1 - a) (sigmoid) or 1 - a^2 (tanh).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..activations import ReLU, Sigmoid, Softmax, Tanh
from ..network import Network


class Buffers:
    r"""The reused arrays of a kernel for chunks of at most ``rows`` rows, keyed by the layer l = 1..L.

    ``a[l]`` (rows, n_l) holds z^(l), then a^(l) written over it; ``zL`` (rows, n_L) keeps z^(L) (the
    cost is computed from the logits); ``delta[l]`` (rows, n_l) holds delta^(l); ``tmp[l]`` and
    ``mask[l]`` (rows, n_l) hold g_l' while it multiplies. For ``sizes=[784, 256, 10]`` and rows 128,
    ``a[1]`` is (128, 256) and ``a[2]``, ``zL`` and ``delta[2]`` are (128, 10).
    """

    def __init__(self, net: Network, rows: int) -> None:
        n, dt, L = net.sizes, net.dtype, net.L
        self.a = {l: np.empty((rows, n[l]), dt) for l in range(1, L + 1)}
        self.zL = np.empty((rows, n[L]), dt)
        self.delta = {l: np.empty((rows, n[l]), dt) for l in range(1, L + 1)}
        self.tmp = {l: np.empty((rows, n[l]), dt) for l in range(1, L + 1)}
        self.mask = {l: np.empty((rows, n[l]), bool) for l in range(1, L)}


def inplace_affine(a_prev: np.ndarray, W: np.ndarray, b: np.ndarray, out: np.ndarray, relu: bool) -> np.ndarray:
    """z = a_prev W + b (k, n_l) into out, from a_prev (k, n_{l-1}) and W (n_{l-1}, n_l); max(z, 0) when relu."""
    z = np.matmul(a_prev, W, out=out)
    z += b
    return np.maximum(z, 0, out=z) if relu else z


def inplace_hidden(g: Any, z: np.ndarray) -> np.ndarray:
    """a = g(z) written over z (k, n_l), for the hidden activations of ``support.HIDDEN``."""
    kind = type(g)
    if kind is ReLU:
        return np.maximum(z, 0, out=z)
    if kind is Sigmoid:
        return inplace_sigmoid(z)
    if kind is Tanh:
        return np.tanh(z, out=z)
    return z  # identity


def inplace_hidden_delta(g: Any, a: np.ndarray, grad: np.ndarray, mask: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """delta = grad * g'(z) written over grad (k, n_l), with g'(z) from a = g(z) (k, n_l); mask and tmp are
    scratch arrays of at least k rows."""
    kind, k = type(g), a.shape[0]
    if kind is ReLU:
        return np.multiply(grad, np.greater(a, 0, out=mask[:k]), out=grad)  # 1[z > 0]
    if kind is Sigmoid:
        return np.multiply(grad, sigmoid_slope(a, tmp[:k]), out=grad)
    if kind is Tanh:
        slope = np.multiply(a, a, out=tmp[:k])
        return np.multiply(grad, np.subtract(1, slope, out=slope), out=grad)  # 1 - a^2
    return grad


def sigmoid_slope(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """a (1 - a) into out, the sigmoid's g'(z) from a = g(z)."""
    return np.multiply(np.subtract(1, a, out=out), a, out=out)


def inplace_output(g: Any, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """a^(L) = g_L(z^(L)) into a (k, n_L), for the outputs of ``support.OUTPUTS`` (z unchanged)."""
    kind = type(g)
    if kind is Softmax:
        np.subtract(z, z.max(axis=1, keepdims=True), out=a)  # shift by the row maximum: no overflow
        np.exp(a, out=a)
        a /= a.sum(axis=1, keepdims=True)
        return a
    np.copyto(a, z)
    return inplace_sigmoid(a) if kind is Sigmoid else a  # sigmoid or identity


def inplace_sigmoid(z: np.ndarray) -> np.ndarray:
    r"""sigma(z) = (1 + tanh(z/2)) / 2 written over z: no overflow for any z, one transcendental."""
    np.multiply(z, 0.5, out=z)
    np.tanh(z, out=z)
    np.multiply(z, 0.5, out=z)
    return np.add(z, 0.5, out=z)
