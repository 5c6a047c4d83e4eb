"""A correct backprop in the rows convention (the seeds' layout), vectorised over the batch.

    deltaprop check --impl examples/impl/reference_rows.py:backprop --convention rows

W[l-1] is W^(l), (n_{l-1}, n_l); b[l-1] is b^(l), (n_l,); X is (m, n_0); Y is (m, n_L).
Outputs: sigmoid or identity with the quadratic cost, softmax with cross_entropy.
"""

import numpy as np


def value(name, z):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(0, z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z  # identity


def derivative(name, z):
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    return np.ones_like(z)  # identity


def backprop(W, b, X, Y, activations, cost):
    L, m = len(W), X.shape[0]
    W = dict(enumerate(W, start=1))  # W[l] is W^(l)
    b = dict(enumerate(b, start=1))
    z, a = {}, {0: X}
    for l in range(1, L + 1):
        z[l] = a[l - 1] @ W[l] + b[l]
        a[l] = value(activations[l - 1], z[l])
    gp = {l: derivative(activations[l - 1], z[l]) for l in z}
    delta = {}
    if cost == "quadratic":
        delta[L] = (a[L] - Y) * gp[L]
    else:  # softmax + cross_entropy: the softmax Jacobian cancels dc/da
        delta[L] = a[L] - Y
    for l in range(L - 1, 0, -1):
        delta[l] = (delta[l + 1] @ W[l + 1].T) * gp[l]
    dW = [a[l - 1].T @ delta[l] / m for l in range(1, L + 1)]
    db = [delta[l].mean(axis=0) for l in range(1, L + 1)]
    return dW, db
