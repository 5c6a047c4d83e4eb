"""Seed 003: linear and logistic regression as one-layer networks, and Nielsen's delta^L.
======================================================================================

1. Linear regression h(x) = theta_0 + theta_1 x with J = 1/(2m) sum (h(x) - y)^2 is a 1-1 network
   with the identity and the quadratic cost. For the four points (3, 2), (1, 2), (0, 1), (4, 3),
   each ``|x - y| = 1``, so J(0, 1) = 1/8 (1 + 1 + 1 + 1) = 1/2, as the seed computes. With
   theta = (-1, 2), h(6) = -1 + 2 * 6 = 11.
2. Logistic regression h(x) = sigma(theta^T x) with theta = (5, -1, 0) predicts class 1 exactly
   where theta^T x = 5 - x1 >= 0, that is x1 <= 5: the seed's decision boundary.
3. Nielsen's delta^L = (a^L - y) * sigma'(z^L) for the quadratic cost, against the seed's slip
   sigma'(z)(1 - sigma(z)).

Usage: python examples/seed_003_regression.py
"""

from __future__ import annotations

import sys

import numpy as np

from deltaprop import Network


def main() -> int:
    ok = True
    x = np.array([[3.0], [1.0], [0.0], [4.0]])
    y = np.array([[2.0], [2.0], [1.0], [3.0]])
    lin = Network([1, 1], ["identity"], "quadratic", dtype="float64")
    lin.weights, lin.biases = [[[1.0]]], [[0.0]]  # theta_1 = 1, theta_0 = 0
    J = lin.cost(x, y)
    print(f"1. linear regression: J(0, 1) = {J:g}   (seed: 1/8 (1 + 1 + 1 + 1) = 1/2)")
    ok &= J == 0.5
    lin.weights, lin.biases = [[[2.0]]], [[-1.0]]
    h6 = float(lin.forward([[6.0]])[0, 0])
    print(f"   h(x) = -1 + 2x: h(6) = {h6:g}")
    ok &= h6 == 11.0
    dW, db = lin.gradients(x, y)
    A = np.hstack([np.ones((4, 1)), x])  # rows (1, x^(i))
    normal = A.T @ (A @ np.array([-1.0, 2.0]) - y[:, 0]) / 4  # the familiar (1/m) X^T (X theta - y)
    print(f"   dJ/dtheta at (-1, 2): network ({db[0][0]:g}, {dW[0][0, 0]:g}), (1/m) X^T (X theta - y) ({normal[0]:g}, {normal[1]:g})")
    ok &= np.allclose([db[0][0], dW[0][0, 0]], normal, rtol=1e-12, atol=0)

    logit = Network([2, 1], ["sigmoid"], "binary_cross_entropy", dtype="float64")
    logit.weights, logit.biases = [[[-1.0], [0.0]]], [[5.0]]  # theta = (5, -1, 0)
    g1, g2 = np.meshgrid(np.linspace(0, 10, 101), np.linspace(-5, 5, 11))
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    predicted = logit.predict(grid)
    boundary = (grid[:, 0] <= 5).astype(int)
    agree = int(np.sum(predicted == boundary))
    print(f"2. logistic regression, theta = (5, -1, 0): class 1 exactly where x1 <= 5 on "
          f"{agree}/{len(grid)} grid points")
    ok &= agree == len(grid)

    net = Network([2, 2, 1], ["sigmoid", "sigmoid"], "quadratic", dtype="float64")
    net.weights = [[[0.2, 0.5], [-0.4, 0.1]], [[0.7], [-0.6]]]
    net.biases = [[0.1, -0.2], [0.05]]
    t = net.trace([[0.8, 0.3]], [[1.0]])
    a, z = t.a[2][0, 0], t.z[2][0, 0]
    s = 1 / (1 + np.exp(-z))
    right = (a - 1.0) * s * (1 - s)
    slip = (a - 1.0) * s * (1 - s) * (1 - s)
    print(f"3. delta^L = (a^L - y) sigma'(z^L) = {right:.4f}; net.trace gives {t.delta[2][0, 0]:.4f}; "
          f"with sigma'(z)(1 - sigma(z)): {slip:.4f}")
    ok &= abs(right - t.delta[2][0, 0]) < 1e-15 and abs(slip - right) > 1e-3
    print("all checks passed" if ok else "A CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__" and (status := main()) != 0:
    sys.exit(status)  # exit 0 by falling off the end, so that the docs gallery can run the script too
