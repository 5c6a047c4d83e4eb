"""A correct backprop in Higham & Higham's convention: D^[l] = diag(sigma'(z^[l])), one sample as a column.

    deltaprop check --impl examples/impl/reference_higham.py:backprop --convention higham

W[0] is W^[2] of shape (n_2, n_1): Higham numbers the input as layer 1. x is (n_1, 1).
"""

import numpy as np

G = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(0, z),
     "identity": lambda z: z, "softmax": lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()}
G_PRIME = {"sigmoid": lambda z: G["sigmoid"](z) * (1 - G["sigmoid"](z)), "tanh": lambda z: 1 - np.tanh(z) ** 2,
           "relu": lambda z: (z > 0) * 1.0, "identity": lambda z: np.ones_like(z)}


def backprop(W, b, x, y, activations, cost):
    L = len(W) + 1  # layers 1..L, layer 1 the input
    Wl = {l: W[l - 2] for l in range(2, L + 1)}  # Wl[l] is W^[l]
    bl = {l: b[l - 2] for l in range(2, L + 1)}
    g = {l: activations[l - 2] for l in range(2, L + 1)}
    a, z = {1: x}, {}
    for l in range(2, L + 1):
        z[l] = Wl[l] @ a[l - 1] + bl[l]
        a[l] = G[g[l]](z[l])
    delta = {}
    if cost == "quadratic":
        D = np.diag(G_PRIME[g[L]](z[L]).ravel())  # D^[L]
        delta[L] = D @ (a[L] - y)
    else:  # softmax + cross-entropy
        delta[L] = a[L] - y
    for l in range(L - 1, 1, -1):
        D = np.diag(G_PRIME[g[l]](z[l]).ravel())  # D^[l] = diag(sigma'(z^[l]))
        delta[l] = D @ Wl[l + 1].T @ delta[l + 1]
    dW = [delta[l] @ a[l - 1].T for l in range(2, L + 1)]
    db = [delta[l] for l in range(2, L + 1)]
    return dW, db
