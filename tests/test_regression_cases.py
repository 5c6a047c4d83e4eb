"""Seed 003's one-layer special cases: linear and logistic regression."""

import numpy as np
import pytest

from deltaprop import Network


def test_linear_regression_gradients_vanish_at_least_squares():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(50)
    net = Network([3, 1], ["identity"], "quadratic", dtype="float64")
    A = np.hstack([X, np.ones((50, 1))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    net.weights, net.biases = [theta[:3, None]], [theta[3:]]
    dW, db = net.gradients(X, y[:, None])
    assert np.abs(dW[0]).max() < 1e-12 and np.abs(db[0]).max() < 1e-12
    # J = 1/(2m) sum (h - y)^2 is exactly the network's cost
    assert net.cost(X, y[:, None]) == pytest.approx(np.mean((A @ theta - y) ** 2) / 2, rel=1e-12)


def test_seed_003_J_of_0_1_is_one_half():
    # h(x) = theta_0 + theta_1 x with theta = (0, 1): four points with |x - y| = 1, J = 1/8 * 4 = 1/2
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    y = np.array([[2.0], [1.0], [4.0], [3.0]])
    net = Network([1, 1], ["identity"], "quadratic", dtype="float64")
    net.weights, net.biases = [np.array([[1.0]])], [np.array([0.0])]
    assert net.cost(x, y) == 0.5
    # and h(x) = -1 + 2x at x = 6 gives 11
    net.weights, net.biases = [np.array([[2.0]])], [np.array([-1.0])]
    assert net.forward([[6.0]])[0, 0] == 11.0


def test_logistic_regression_boundary_x1_le_5():
    # theta = (5, -1, 0): h(x) = sigmoid(5 - x1), class 1 exactly where x1 <= 5
    net = Network([2, 1], ["sigmoid"], "binary_cross_entropy", dtype="float64")
    net.weights, net.biases = [np.array([[-1.0], [0.0]])], [np.array([5.0])]
    X = np.array([[4.9, 7.0], [5.0, -3.0], [5.1, 0.0], [0.0, 100.0]])
    assert net.predict(X).tolist() == [1, 1, 0, 1]
    # the gradient is the familiar X^T (h - y) / m
    y = np.array([1.0, 0.0, 0.0, 1.0])
    h = 1 / (1 + np.exp(-(X @ np.array([-1.0, 0.0]) + 5)))
    dW, db = net.gradients(X, y)
    np.testing.assert_allclose(dW[0][:, 0], X.T @ (h - y) / 4, rtol=1e-12)
    np.testing.assert_allclose(db[0], [np.mean(h - y)], rtol=1e-12)
