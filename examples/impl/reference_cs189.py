"""A correct backprop in CS189's bias-unit convention: s^(l) = W^(l)T x^(l-1), x_0 = 1, one sample.

    deltaprop check --impl examples/impl/reference_cs189.py:backprop --convention cs189

W[l-1] has shape (n_{l-1} + 1, n_l); row 0 is the bias. x is (n_0,), y is (n_L,).
"""

import numpy as np


def g(name, s):
    return {"sigmoid": lambda: 1 / (1 + np.exp(-s)), "tanh": lambda: np.tanh(s), "relu": lambda: np.maximum(0, s),
            "identity": lambda: s, "softmax": lambda: np.exp(s - s.max()) / np.exp(s - s.max()).sum()}[name]()


def g_prime(name, s):
    return {"sigmoid": lambda: g("sigmoid", s) * (1 - g("sigmoid", s)), "tanh": lambda: 1 - np.tanh(s) ** 2,
            "relu": lambda: (s > 0).astype(float), "identity": lambda: np.ones_like(s)}[name]()


def backprop(W, x, y, activations, cost):
    L = len(W)
    xs = [np.concatenate([[1.0], x])]  # x^(0) with its bias unit
    ss = [None]
    for l in range(1, L + 1):
        s = W[l - 1].T @ xs[l - 1]
        ss.append(s)
        out = g(activations[l - 1], s)
        xs.append(np.concatenate([[1.0], out]) if l < L else out)
    if cost == "quadratic":
        delta = (xs[L] - y) * g_prime(activations[L - 1], ss[L])
    else:  # softmax + cross-entropy
        delta = xs[L] - y
    dW = [None] * L
    for l in range(L, 0, -1):
        dW[l - 1] = np.outer(xs[l - 1], delta)
        if l > 1:
            delta = g_prime(activations[l - 2], ss[l - 1]) * (W[l - 1][1:] @ delta)  # rows i >= 1
    return dW
