r"""The exact answer key of one forward and backward pass, in the JSON shape ``check`` reads.

``answer_key(net, X, Y, notation="nielsen")`` returns the object documented in
``deltaprop.teach.check`` -- notation, delta convention, network, x, y and answers -- with every
quantity exact to float64: z^(l), a^(l) and delta^(l) (per sample), the cost C, dC/dW^(l),
dC/db^(l) and dc/dx. ``check(answer_key(...))`` agrees with itself; ``deltaprop explain
--format json`` prints it and ``deltaprop assignment`` writes one per student.

Examples
--------
>>> from deltaprop import Network
>>> net = Network([2, 1], ["identity"], "quadratic", dtype="float64")
>>> net.weights, net.biases = [[[2.0], [1.0]]], [[0.5]]
>>> key = answer_key(net, [[1.0, 3.0]], [[4.0]])
>>> key["answers"]["z"], key["answers"]["delta"], key["answers"]["cost"]
({'1': [5.5]}, {'1': [1.5]}, 1.125)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..network import Network
from .explain import as_float64
from .notation import Notation, get_notation

__all__ = ["KEY_KINDS", "answer_key", "network_json"]

KEY_KINDS = ("z", "a", "cost", "delta", "dW", "db", "dx")


def network_json(net: Network, nt: Notation) -> dict[str, Any]:
    """The network object of an answers file: sizes, activations, cost, weights (and biases) in ``nt``'s layout."""
    out: dict[str, Any] = {"sizes": list(net.sizes), "activations": list(net.activations), "cost": net.cost_name,
                           "weights": {str(nt.layer(l)): nt.weights(W, b).tolist()
                                       for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1)}}
    if not nt.bias_unit:
        out["biases"] = {str(nt.layer(l)): np.asarray(b).tolist() for l, b in enumerate(net.biases, start=1)}
    return out


def answer_key(net: Network, X: Any, Y: Any, notation: str | Notation = "seeds", *,
               kinds: tuple[str, ...] = KEY_KINDS) -> dict[str, Any]:
    r"""Every quantity of one pass, exact, as an answers object.

    Parameters
    ----------
    net : Network
        Computed on a float64 copy.
    X : array-like of shape (m, n_0)
    Y : array-like of shape (m, n_L), or (m,) class labels for classifiers
    notation : {"seeds", "cs189", "nielsen", "higham"}
    kinds : tuple of str, keyword-only
        Which of z, a, cost, delta, dW, db, dx to include (db is never included in cs189,
        where it is row 0 of dW).

    Returns
    -------
    dict
        {"notation", "delta": "per-sample", "network", "x", "y", "answers"}; vectors are lists
        for one sample and lists of lists (one per sample) for several.
    """
    nt = get_notation(notation)
    unknown = [k for k in kinds if k not in KEY_KINDS]
    if unknown:
        raise ValueError(f"unknown quantities {unknown}; known: {', '.join(KEY_KINDS)}")
    net = as_float64(net)
    t = net.trace(X, Y)
    X, Y = t.a[0], net._Y(Y, t.a[0].shape[0])
    m, L = X.shape[0], net.L

    def vec(v: np.ndarray) -> Any:
        return v[0].tolist() if m == 1 else v.tolist()

    layers = range(1, L + 1)
    every = {
        "z": lambda: {str(nt.layer(l)): vec(t.z[l]) for l in layers},
        "a": lambda: {str(nt.layer(l)): vec(t.a[l]) for l in layers},
        "cost": lambda: float(t.cost),
        "delta": lambda: {str(nt.layer(l)): vec(t.delta[l]) for l in layers},
        "dW": lambda: {str(nt.layer(l)): nt.weights(t.dW[l], t.db[l]).tolist() for l in layers},
        "db": lambda: {str(nt.layer(l)): t.db[l].tolist() for l in layers},
        "dx": lambda: vec(t.delta[1] @ net.weights[0].T),  # (m, n_0): dc/dx per sample
    }
    answers = {k: every[k]() for k in KEY_KINDS if k in kinds and not (k == "db" and nt.bias_unit)}
    return {"notation": nt.name, "delta": "per-sample", "network": network_json(net, nt), "x": vec(X), "y": vec(Y),
            "answers": answers}
