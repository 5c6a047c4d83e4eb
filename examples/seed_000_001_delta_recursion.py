"""Seeds 000 and 001: the delta recursion, written with the seeds' own sums, checked three ways.
=============================================================================================

The homework derives, for a network z_j^(l) = sum_i a_i^(l-1) W_ij^(l) + b_j^(l), a^(l) = g_l(z^(l))
and ``C = (1/|D|) sum_x c(x)``::

    delta_j^(L) = dc/da_j^(L) g_L'(z_j^(L))
    delta_j^(l) = sum_k delta_k^(l+1) W_jk^(l+1) g_l'(z_j^(l))        (l < L)
    dC/dW_ij^(l) = a_i^(l-1) delta_j^(l),   dC/db_j^(l) = delta_j^(l)  (averaged over D)

This script evaluates those sums index by index, in plain Python loops, and compares them with
deltaprop's vectorised backward pass (``net.trace``) and with central finite differences. It then
repeats the recursion without the factor g_l'(z_j^(l)), as seed 001's last line writes it, and
shows that finite differences reject it. Exit code 0 when every check passes.

Usage: python examples/seed_000_001_delta_recursion.py
"""

from __future__ import annotations

import sys

import numpy as np

from deltaprop import Network, numerical_gradients


def recursion_by_index(net: Network, X: np.ndarray, Y: np.ndarray, *, with_derivative: bool = True):
    """delta, dW, db from the seeds' sums over i, j, k, one sample x of D at a time."""
    L, g, n = net.L, net.g, net.sizes
    W = dict(enumerate(net.weights, start=1))  # W[l][i, j] is W_ij^(l)
    dW = {l: np.zeros_like(W[l]) for l in W}
    db = {l: np.zeros(n[l]) for l in W}
    deltas = []
    for x, y in zip(X, Y):
        t = net.trace(x[None, :], y[None, :])  # z^(l), a^(l) of this sample
        z = {l: t.z[l][0] for l in range(1, L + 1)}
        a = {l: t.a[l][0] for l in range(L + 1)}
        gp = {l: g[l].derivative(z[l][None, :])[0] for l in range(1, L + 1)}
        dc_da = net.c.grad_a(a[L][None, :], y[None, :])[0]
        delta = {L: [dc_da[j] * gp[L][j] for j in range(n[L])]}
        for l in range(L - 1, 0, -1):
            delta[l] = [sum(delta[l + 1][k] * W[l + 1][j, k] for k in range(n[l + 1]))
                        * (gp[l][j] if with_derivative else 1.0) for j in range(n[l])]
        for l in range(1, L + 1):
            for j in range(n[l]):
                db[l][j] += delta[l][j] / len(X)
                for i in range(n[l - 1]):
                    dW[l][i, j] += a[l - 1][i] * delta[l][j] / len(X)
        deltas.append(delta)
    return deltas, dW, db


def rel(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.linalg.norm(u - v) / max(np.linalg.norm(u) + np.linalg.norm(v), 1e-300))


def main() -> int:
    rng = np.random.default_rng(0)
    net = Network([3, 4, 3, 2], ["tanh", "sigmoid", "identity"], "quadratic", dtype="float64", seed=1)
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))  # |D| = 5 samples
    deltas, dW, db = recursion_by_index(net, X, Y)
    t = net.trace(X, Y)
    fW, fb = numerical_gradients(net, X, Y)
    print("Seeds 000-001: delta_j^(l) = sum_k delta_k^(l+1) W_jk^(l+1) g_l'(z_j^(l)), network 3-4-3-2, |D| = 5")
    print(f"{'quantity':<12}{'sums vs net.trace':>20}{'vs finite differences':>24}")
    ok = True
    for l in range(net.L, 0, -1):
        d = np.array([s[l] for s in deltas])  # (m, n_l)
        e_delta = float(np.abs(d - t.delta[l]).max())
        e_W, e_Wfd = float(np.abs(dW[l] - t.dW[l]).max()), rel(dW[l], fW[l - 1])
        e_b, e_bfd = float(np.abs(db[l] - t.db[l]).max()), rel(db[l], fb[l - 1])
        print(f"{f'delta^({l})':<12}{e_delta:>20.1e}{'':>24}")
        print(f"{f'dC/dW^({l})':<12}{e_W:>20.1e}{e_Wfd:>24.1e}")
        print(f"{f'dC/db^({l})':<12}{e_b:>20.1e}{e_bfd:>24.1e}")
        ok &= max(e_delta, e_W, e_b) < 1e-12 and max(e_Wfd, e_bfd) < 1e-6
    _, sW, _ = recursion_by_index(net, X, Y, with_derivative=False)
    slip = rel(sW[1], fW[0])
    print(f"without g_l'(z_j^(l)) (seed 001's last line): dC/dW^(1) is off by a relative {slip:.2f}")
    ok &= slip > 0.1
    print("all checks passed" if ok else "A CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__" and (status := main()) != 0:
    sys.exit(status)  # exit 0 by falling off the end, so that the docs gallery can run the script too
