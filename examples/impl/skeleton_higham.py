"""Skeleton: backprop in Higham & Higham's notation. Fill in the TODOs, then run

    deltaprop check --impl skeleton_higham.py:backprop --convention higham

Layer 1 is the input. W[0] is W^[2] of shape (n_2, n_1), b[0] is b^[2] of shape (n_2, 1), and so on;
x is (n_1, 1), y is (n_L, 1), one sample. activations[0] names the activation of layer 2.
z^[l] = W^[l] a^[l-1] + b^[l], a^[l] = sigma(z^[l]), D^[l] = diag(sigma'(z^[l])),
delta^[L] = D^[L] (a^[L] - y), delta^[l] = D^[l] (W^[l+1])T delta^[l+1].
Return (dW, db): dW[0] = delta^[2] (a^[1])T, db[0] = delta^[2], and so on.
"""

import numpy as np


def backprop(W, b, x, y, activations, cost):
    # TODO
    return [np.zeros_like(w) for w in W], [np.zeros_like(v) for v in b]
