"""gradcheck must find a wrong derivative, and must not be fooled by round-off."""

import numpy as np
import pytest

from deltaprop import Network, gradcheck
from deltaprop.activations import ReLU, Sigmoid


def test_gradcheck_catches_seed_002s_relu_derivative(monkeypatch):
    rng = np.random.default_rng(0)
    net = Network([3, 5, 2], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=0)
    X, Y = 2 * rng.standard_normal((4, 3)), np.eye(2)[[0, 1, 1, 0]]
    assert gradcheck(net, X, Y) < 1e-6
    # seed 002: g'(s) = max(0, s), ReLU itself instead of its derivative
    monkeypatch.setattr(ReLU, "backward", lambda self, z, a, grad_a: grad_a * np.maximum(0, z))
    assert gradcheck(net, X, Y) > 1e-2


def test_gradcheck_catches_seed_003s_sigmoid_derivative(monkeypatch):
    rng = np.random.default_rng(1)
    net = Network([3, 4, 1], ["sigmoid", "identity"], "quadratic", dtype="float64", seed=0)
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 1))
    # seed 003: sigma'(z)(1 - sigma(z)), the derivative applied twice
    monkeypatch.setattr(Sigmoid, "derivative_from", lambda self, z, a: a * (1 - a) * (1 - a))
    assert gradcheck(net, X, Y) > 1e-2


def test_gradcheck_catches_a_missing_one_over_m(monkeypatch):
    rng = np.random.default_rng(2)
    net = Network([2, 3, 1], ["tanh", "sigmoid"], "binary_cross_entropy", dtype="float64", seed=0)
    X, Y = rng.standard_normal((4, 2)), rng.integers(0, 2, (4, 1)).astype(float)
    original = Network.gradients

    def summed(self, X, Y, **kw):
        dW, db = original(self, X, Y, **kw)
        return [4 * g for g in dW], [4 * g for g in db]  # sum over the batch instead of the mean

    monkeypatch.setattr(Network, "gradients", summed)
    assert gradcheck(net, X, Y) > 0.5


def test_gradcheck_leaves_the_network_unchanged_and_refuses_bad_eps():
    net = Network([2, 2], ["sigmoid"], "quadratic", seed=0)
    before = [p.copy() for p in net.weights + net.biases]
    gradcheck(net, [[0.1, 0.2]], [[0.0, 1.0]])
    assert all(np.array_equal(p, q) for p, q in zip(net.weights + net.biases, before))
    assert net.weights[0].dtype == np.float32
    with pytest.raises(ValueError, match="eps must be a positive number, got -1"):
        gradcheck(net, [[0.1, 0.2]], [[0.0, 1.0]], eps=-1)


def test_gradcheck_with_fortran_ordered_weights():
    rng = np.random.default_rng(3)
    net = Network([3, 4, 2], ["tanh", "softmax"], "cross_entropy", dtype="float64", seed=0)
    net.weights = [np.asfortranarray(W) for W in net.weights]  # e.g. set from a transposed view
    X, Y = rng.standard_normal((3, 3)), np.eye(2)[[0, 1, 0]]
    assert gradcheck(net, X, Y) < 1e-6
