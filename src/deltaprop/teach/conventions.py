r"""The four conventions in which ``check --impl`` calls a student's backprop, and how it reads the answer.

Every convention receives the activations and the cost by name: activations from "sigmoid",
"tanh", "relu", "identity" and (last layer only) "softmax"; costs "quadratic" (c = 1/2 ||a - y||^2),
"cross_entropy" (c = -sum_j y_j ln a_j, after softmax) and "binary_cross_entropy". A skeleton of
each is in ``examples/impl/skeleton_<name>.py``.

=========  =========================================================================================
name       the function the grader calls
=========  =========================================================================================
rows       ``backprop(W, b, X, Y, activations, cost) -> (dW, db)``: the seeds' row layout, a batch.
           W[l-1] is W^(l) of shape (n_{l-1}, n_l), b[l-1] is b^(l) of shape (n_l,), X is (m, n_0),
           Y is (m, n_L); z^(l) = a^(l-1) W^(l) + b^(l). dW[l-1], db[l-1] are the means over the
           m samples, shaped like W[l-1], b[l-1]. (Alias: "seeds".)
nielsen    ``backprop(net, x, y) -> (nabla_b, nabla_w)``: Nielsen's network.py, one sample as a column.
           ``net`` has num_layers, sizes, weights (w^l of shape (n_l, n_{l-1})), biases ((n_l, 1)
           columns), activations and cost (names); x is (n_0, 1), y is (n_L, 1). A method
           ``Network.backprop`` works too: give ``student.py:Network.backprop``.
higham     ``backprop(W, b, x, y, activations, cost) -> (dW, db)``: Higham & Higham, one sample as a
           column. W[0] is W^[2] of shape (n_2, n_1), b[0] is b^[2] (n_2, 1); x is (n_0, 1);
           z^[l] = W^[l] a^[l-1] + b^[l] and delta^[l] = D^[l] (W^[l+1])T delta^[l+1].
cs189      ``backprop(W, x, y, activations, cost) -> dW``: CS189's bias-unit form, one sample.
           W[l-1] has shape (n_{l-1} + 1, n_l), row 0 the bias (it multiplies x_0 = 1, which the
           function prepends itself); x is (n_0,), y is (n_L,); s^(l) = W^(l)T x^(l-1).
=========  =========================================================================================

The per-sample conventions (nielsen, higham, cs189) are called once per sample and compared with
that sample's own gradients; ``rows`` is called once per batch and compared with the means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .notation import Notation, get_notation

__all__ = ["CONVENTIONS", "Convention", "get_convention", "read_result"]


@dataclass(frozen=True)
class Convention:
    """A calling convention: its name, the notation its quantities are named in, one call per sample or not."""

    name: str
    notation: str
    per_sample: bool
    signature: str
    aliases: tuple[str, ...] = ()

    @property
    def nt(self) -> Notation:
        """The notation the report names quantities in."""
        return get_notation(self.notation)


CONVENTIONS: dict[str, Convention] = {c.name: c for c in (
    Convention("rows", "seeds", False, "backprop(W, b, X, Y, activations, cost) -> (dW, db)", ("seeds",)),
    Convention("nielsen", "nielsen", True, "backprop(net, x, y) -> (nabla_b, nabla_w)"),
    Convention("higham", "higham", True, "backprop(W, b, x, y, activations, cost) -> (dW, db)"),
    Convention("cs189", "cs189", True, "backprop(W, x, y, activations, cost) -> dW"),
)}


def get_convention(name: str) -> Convention:
    """The convention for a name or alias; ValueError lists the names."""
    for c in CONVENTIONS.values():
        if name == c.name or name in c.aliases:
            return c
    raise ValueError(f"unknown convention {name!r}; known: {', '.join(CONVENTIONS)}")


Result = dict[tuple[str, int], np.ndarray]


def _arrays(raw: Any, L: int, what: str) -> list[np.ndarray]:
    if not isinstance(raw, list) or len(raw) != L:
        got = f"{len(raw)} entries" if isinstance(raw, list) else type(raw).__name__
        raise ValueError(f"{what} must be a list of {L} arrays (one per layer), got {got}")
    try:
        return [np.asarray(v, dtype=np.float64) for v in raw]
    except (TypeError, ValueError):
        raise ValueError(f"{what} must hold arrays of numbers (one per layer)") from None


def _pair(raw: Any, L: int, names: tuple[str, str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if not isinstance(raw, list) or len(raw) != 2:
        raise ValueError(f"the function must return a pair ({', '.join(names)}), got "
                         f"{f'{len(raw)} values' if isinstance(raw, list) else type(raw).__name__}")
    return _arrays(raw[0], L, names[0]), _arrays(raw[1], L, names[1])


def read_result(conv: Convention, raw: Any, L: int, m: int) -> list[Result]:
    """The student's return value as one {(kind, l): array} per call, in their layout.

    dW keeps its shape (it is compared as a matrix); db is flattened, so a column (n_l, 1) and a
    vector (n_l,) both count. Raises ValueError, in the student's terms, for a malformed value.
    """
    calls = raw if conv.per_sample else [raw]
    if conv.per_sample and (not isinstance(raw, list) or len(raw) != m):
        raise ValueError("internal: one result per sample expected")
    out = []
    for one in calls:
        if conv.name == "cs189":
            dW, db = _arrays(one, L, "dW"), None
        elif conv.name == "nielsen":
            db, dW = _pair(one, L, ("nabla_b", "nabla_w"))
        else:
            dW, db = _pair(one, L, ("dW", "db"))
        res: Result = {("dW", l): dW[l - 1] for l in range(1, L + 1)}
        if db is not None:
            res.update({("db", l): db[l - 1].reshape(-1) for l in range(1, L + 1)})
        out.append(res)
    return out
