r"""Central finite differences: the independent check of every backpropagated gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from .network import Network


def numerical_gradients(net: Network, X: Any, Y: Any, *, eps: float = 1e-6,
                        sample_weight: Any = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""dC/dW^(l) and dC/db^(l) by central differences, (C(p + eps) - C(p - eps)) / (2 eps).

    The network is copied to float64 first; ``net`` itself is not changed. Returns lists shaped
    like ``net.weights`` and ``net.biases``. Costs O(n_params) forward passes: for small networks.
    """
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    net64 = _as_float64(net)
    out = []
    for P in net64.weights + net64.biases:
        G = np.empty_like(P)
        flat, gflat = P.reshape(-1), G.reshape(-1)  # views: writes go into the network
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + eps
            up = net64.cost(X, Y, sample_weight=sample_weight)
            flat[i] = keep - eps
            down = net64.cost(X, Y, sample_weight=sample_weight)
            flat[i] = keep
            gflat[i] = (up - down) / (2 * eps)
        out.append(G)
    return out[: net.L], out[net.L:]


def _as_float64(net: Network) -> Network:
    new = net.copy()
    new.dtype = np.dtype("float64")
    new._W = [np.ascontiguousarray(W, dtype=np.float64) for W in net.weights]
    new._b = [np.ascontiguousarray(b, dtype=np.float64) for b in net.biases]
    return new


def gradcheck(net: Network, X: Any, Y: Any, eps: float = 1e-6, *, sample_weight: Any = None) -> float:
    r"""The largest relative error between backpropagated and finite-difference gradients.

    Both are computed in float64 on a copy of ``net``. For each parameter array P (every W^(l)
    and b^(l)) the error is ||g_bp - g_fd|| / max(||g_bp|| + ||g_fd||, 1e7 r), and the largest over
    all arrays is returned. Here ``r = sqrt(size) u (1 + |C|) / eps`` is the round-off that central
    differences themselves carry (u = 2.2e-16, the float64 unit), so an array whose gradient is
    too small for differences to resolve is compared absolutely, at the differences' precision,
    instead of reading as a large relative error.

    Examples
    --------
    >>> from deltaprop import Network
    >>> net = Network([2, 3, 2], ["tanh", "softmax"], "cross_entropy", seed=0, dtype="float64")
    >>> gradcheck(net, [[0.1, 0.2], [0.3, -0.4]], [0, 1]) < 1e-6
    True
    """
    net64 = _as_float64(net)
    dW, db = net64.gradients(X, Y, sample_weight=sample_weight)
    fW, fb = numerical_gradients(net64, X, Y, eps=eps, sample_weight=sample_weight)
    unit = np.finfo(np.float64).eps * (1 + abs(net64.cost(X, Y, sample_weight=sample_weight))) / eps
    worst = 0.0
    for bp, fd in zip(dW + db, fW + fb):
        floor = 1e7 * np.sqrt(bp.size) * unit
        err = np.linalg.norm(bp - fd) / max(np.linalg.norm(bp) + np.linalg.norm(fd), floor)
        worst = max(worst, float(err))
    return worst
