"""Skeleton: backprop in the rows convention (the seeds' layout). Fill in the TODOs, then run

    deltaprop check --impl skeleton_rows.py:backprop --convention rows

W[l-1] is W^(l), shape (n_{l-1}, n_l); b[l-1] is b^(l), shape (n_l,); X is (m, n_0); Y is (m, n_L).
activations[l-1] names g_l ("sigmoid", "tanh", "relu", "identity", "softmax" last only);
cost is "quadratic" (c = 1/2 ||a - y||^2) or "cross_entropy" (after softmax).
Return (dW, db): lists of L arrays shaped like W and b, the means over the m samples.
"""

import numpy as np


def g(name, z):
    raise NotImplementedError("TODO: the activation g(z) for each name")


def g_prime(name, z):
    raise NotImplementedError("TODO: its derivative g'(z)")


def backprop(W, b, X, Y, activations, cost):
    L, m = len(W), X.shape[0]
    # TODO forward: z^(l) = a^(l-1) W^(l) + b^(l), a^(l) = g_l(z^(l)), a^(0) = X
    # TODO delta^(L): (a^(L) - y) * g_L'(z^(L)) for the quadratic cost; a^(L) - y for softmax + cross_entropy
    # TODO delta^(l) = (delta^(l+1) W^(l+1)T) * g_l'(z^(l)) for l = L-1, ..., 1
    # TODO dW^(l) = (1/m) a^(l-1)T delta^(l), db^(l) = (1/m) sum over samples of delta^(l)
    dW = [np.zeros_like(w) for w in W]
    db = [np.zeros_like(v) for v in b]
    return dW, db
