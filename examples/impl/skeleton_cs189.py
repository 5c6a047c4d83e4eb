"""Skeleton: backprop in CS189's bias-unit form. Fill in the TODOs, then run

    deltaprop check --impl skeleton_cs189.py:backprop --convention cs189

W[l-1] is W^(l) of shape (n_{l-1} + 1, n_l): row 0 multiplies the bias unit x_0 = 1.
x is (n_0,) without the bias unit (prepend it), y is (n_L,), one sample (per-sample SGD).
s^(l) = W^(l)T x^(l-1), x^(l) = (1, g(s^(l))) for hidden layers.
Return dW: a list of L arrays, dW[l-1] = x^(l-1) delta^(l)T, shaped like W[l-1].
"""

import numpy as np


def backprop(W, x, y, activations, cost):
    # TODO
    return [np.zeros_like(w) for w in W]
