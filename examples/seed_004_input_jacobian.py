"""Seed 004: the input Jacobian as the product (D^[L] W^[L]) ... (D^[2] W^[2]), Higham & Higham's notation.
========================================================================================================

In Higham & Higham (2019) the input is layer 1, z^[l] = W^[l] a^[l-1] + b^[l] with W^[l] of shape
(n_l, n_{l-1}), a^[l] = sigma(z^[l]) and D^[l] = diag(sigma'(z^[l])). The chain rule gives

    da^[L]/dx = D^[L] W^[L] D^[L-1] W^[L-1] ... D^[2] W^[2],

which the seed writes out. This script builds that product for the 2-2-3-2 network of
examples/higham_weights.json, compares it with ``Network.input_jacobian`` (which backpropagates
it, with deltaprop's W^(l) = (W^[l+1])^T) and with central differences, then does the seed's
"HW 3/1": the gradient of H: R^{n_1} -> R for a network with one output.

Usage: python examples/seed_004_input_jacobian.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from deltaprop import Network
from deltaprop.teach.check import read_network
from deltaprop.datasets import higham_points
from deltaprop.teach.notation import get_notation


def product_of_D_W(net: Network, x: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """(D^[L] W^[L]) ... (D^[2] W^[2]) at x, with the factors (D^[l], W^[l]) for l = 2..L (Higham's numbers)."""
    a, J, factors = x, np.eye(len(x)), []
    for W, b in zip(net.weights, net.biases):
        WH = W.T  # Higham's W^[l] is deltaprop's W^(l-1) transposed: (n_l, n_{l-1})
        z = WH @ a + b
        a = 1 / (1 + np.exp(-z))
        D = np.diag(a * (1 - a))  # D^[l] = diag(sigma'(z^[l]))
        J = D @ WH @ J
        factors.append((D, WH))
    return J, factors


def central(net: Network, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    cols = []
    for k in range(len(x)):
        e = np.zeros_like(x)
        e[k] = eps
        cols.append((net.forward([x + e])[0] - net.forward([x - e])[0]) / (2 * eps))
    return np.column_stack(cols)  # (n_L, n_1)


def main() -> int:
    data = json.loads((Path(sys.argv[0]).parent / "higham_weights.json").read_text())
    net = read_network(data["network"], get_notation("higham"))
    X, _ = higham_points()
    ok = True
    J, factors = product_of_D_W(net, X[0])
    np.set_printoptions(precision=4, suppress=True)
    print("Seed 004: da^[4]/dx = D^[4] W^[4] D^[3] W^[3] D^[2] W^[2] at x = (0.1, 0.1)")
    for l, (D, WH) in enumerate(factors, start=2):
        print(f"  D^[{l}] = diag({np.diag(D)})   W^[{l}] = {WH.tolist()}")
    print(f"  product = {np.array2string(J, separator=', ')}")
    worst_bp = worst_fd = 0.0
    for x in X:
        J, _ = product_of_D_W(net, x)
        worst_bp = max(worst_bp, float(np.abs(J - net.input_jacobian([x])[0]).max()))
        worst_fd = max(worst_fd, float(np.abs(J - central(net, x)).max()))
    print(f"over the ten points: max |product - input_jacobian| = {worst_bp:.1e}, "
          f"max |product - central differences| = {worst_fd:.1e}")
    ok &= worst_bp < 1e-14 and worst_fd < 1e-8

    h = Network([2, 3, 1], ["sigmoid", "sigmoid"], "quadratic", dtype="float64", seed=4, init=0.5)
    x = np.array([0.3, 0.7])
    J, _ = product_of_D_W(h, x)  # (1, 2): the row dH/dx
    grad = J[0]
    fd = central(h, x)[0]
    print(f"HW 3/1: H: R^2 -> R, grad H(0.3, 0.7) = {grad}; central differences {fd}")
    ok &= bool(np.allclose(grad, fd, rtol=1e-7, atol=1e-10))
    print("all checks passed" if ok else "A CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__" and (status := main()) != 0:
    sys.exit(status)  # exit 0 by falling off the end, so that the docs gallery can run the script too
