r"""The formulas shown when the pointer rests on a node or an edge, with the numbers plugged in.

Each tooltip starts with the layer's formula exactly as ``deltaprop explain`` writes it (the same
:class:`~deltaprop.explain.Explanation` step, so the two always agree), then the one entry under
the pointer written out with its numbers, taken from the same step. Units are numbered from 1,
and layers in the chosen notation (Higham's and Nielsen's input layer is layer 1).

Examples
--------
>>> from deltaprop import Network
>>> from deltaprop.teach.explain import explain
>>> net = Network([1, 1], ["identity"], "quadratic", dtype="float64")
>>> net.weights, net.biases = [[[2.0]]], [[-1.0]]
>>> e = explain(net, [[6.0]], [[10.0]], notation="seeds")
>>> unit_lines(e, net, [[10.0]], 1, 0)[:2]
['z^(1) = a^(0) W^(1) + b^(1)', 'z^(1)_1 = a^(0)_1 W^(1)_11 + b^(1)_1 = 6.0000·2.0000 + (-1.0000) = 11.0000']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..teach.explain import Explanation, Step
from ..network import Network
from ..teach.render import format_matrix

__all__ = ["edge_lines", "unit_lines"]

PRECISION = 4


def _num(v: float, factor: bool = False) -> str:
    """A number as ``render`` writes it (4 digits after the point); a negative factor in brackets."""
    s = format_matrix([[v]], PRECISION)[0][0]
    return f"({s})" if factor and s.startswith("-") else s


def _step(e: Explanation, kind: str, l: int) -> Step:
    for s in e.steps():
        if s.kind == kind and s.l == l:
            return s
    raise KeyError(f"no step {kind} at layer {l}")


def _vec(e: Explanation, value: Any, j: int, kind: str, l: int, L: int) -> float:
    """Entry j (our unit index) of a one-sample vector in the notation's layout."""
    nt = e.notation
    v = np.asarray(value)
    v = v[:, 0] if nt.columns else v[0]
    shift = 1 if nt.bias_unit and kind == "a" and l < L else 0  # CS189's x_0 = 1 comes first
    return float(v[j + shift])


def _mat(e: Explanation, M: Any, i: int, j: int) -> float:
    """Our (i, j) entry (unit i of layer l-1, unit j of layer l) of a weight-shaped matrix in the notation."""
    nt = e.notation
    M = np.asarray(M)
    if nt.bias_unit:
        return float(M[i + 1, j])
    return float(M[j, i] if nt.out_in else M[i, j])


def _sub(sym: str, *idx: int | str) -> str:
    return f"{sym}_{''.join(str(k) for k in idx)}"


def _w(e: Explanation, l: int, i: int | str, j: int | str) -> str:
    """The weight symbol with its subscripts in the notation's order."""
    nt = e.notation
    return _sub(nt.sym("W", l), *((j, i) if nt.out_in else (i, j)))


def unit_lines(e: Explanation, net: Network, y: Any, l: int, j: int) -> list[str]:
    """Tooltip lines for unit j (0-based) of our layer l: z, a, delta and dC/db with numbers.

    ``e`` is ``explain(net, x, y, notation=...)`` for one sample; ``y`` (1, n_L) is its target.
    For the input layer (l = 0), the one line a_j = x_j.
    """
    nt, L = e.notation, net.L
    a, z = nt.sym("a", l), nt.sym("z", l)
    J = j + 1
    if l == 0:
        return [f"{_sub(a, J)} = x_{J} = {_num(_vec(e, _step(e, 'a', 0).value, j, 'a', 0, L))}"]
    n_in = net.sizes[l - 1]
    a_prev, W = _step(e, "a", l - 1), _weights(e, l)
    zs, as_ = _step(e, "z", l), _step(e, "a", l)
    terms = [(_vec(e, a_prev.value, i, "a", l - 1, L), _mat(e, W, i, j)) for i in range(n_in)]
    bias = _mat_bias(e, W, _bias_step(e, l), j)
    first = nt.sym("a", l - 1)
    sym_terms = " + ".join(f"{_w(e, l, i + 1, J)} {_sub(first, i + 1)}" if nt.out_in
                           else f"{_sub(first, i + 1)} {_w(e, l, i + 1, J)}" for i in range(n_in))
    num_terms = " + ".join(f"{_num(wv, True)}·{_num(av, True)}" if nt.out_in else f"{_num(av, True)}·{_num(wv, True)}"
                           for av, wv in terms)
    b_sym = _w(e, l, 0, J) if nt.bias_unit else _sub(nt.sym("b", l), J)
    lines = [zs.formula["text"],
             f"{_sub(z, J)} = {sym_terms} + {b_sym} = {num_terms} + {_num(bias, True)} = "
             f"{_num(_vec(e, zs.value, j, 'z', l, L))}",
             as_.formula["text"],
             f"{_sub(a, J)} = {net.g[l].name}({_sub(z, J)}) = {net.g[l].name}({_num(_vec(e, zs.value, j, 'z', l, L))})"
             f" = {_num(_vec(e, as_.value, j, 'a', l, L))}"]
    d = _step(e, "delta", l)
    delta_j = _vec(e, d.value, j, "delta", l, L)
    if d.terms:
        factors = "·".join(_num(_vec(e, t, j, "delta", l, L), True) for t in d.terms)
    elif l == L:  # the fused output delta a - y
        factors = f"{_num(_vec(e, as_.value, j, 'a', l, L))} - {_num(float(np.asarray(y)[0, j]), True)}"
    else:
        factors = ""
    lines += [d.formula["text"], f"{_sub(nt.sym('delta', l), J)} = " + (f"{factors} = " if factors else "")
              + _num(delta_j)]
    db_sym = f"∂{nt.cost_letter}/∂{b_sym}"
    lines.append(f"{db_sym} = {_sub(nt.sym('delta', l), J)} = {_num(delta_j)}")
    return lines


def edge_lines(e: Explanation, net: Network, l: int, i: int, j: int) -> list[str]:
    """Tooltip lines for the weight from unit i of layer l-1 to unit j of layer l (0-based units)."""
    nt, L = e.notation, net.L
    w = _w(e, l, i + 1, j + 1)
    a_i = _vec(e, _step(e, "a", l - 1).value, i, "a", l - 1, L)
    d_j = _vec(e, _step(e, "delta", l).value, j, "delta", l, L)
    dW = _step(e, "dW", l)
    return [f"{w} = {_num(_mat(e, _weights(e, l), i, j))}", dW.formula["text"],
            f"∂{nt.cost_letter}/∂{w} = {_sub(nt.sym('a', l - 1), i + 1)} {_sub(nt.sym('delta', l), j + 1)} = "
            f"{_num(a_i, True)}·{_num(d_j, True)} = {_num(_mat(e, dW.value, i, j))}"]


def _weights(e: Explanation, l: int) -> Any:
    return _step(e, "W", l).value


def _bias_step(e: Explanation, l: int) -> Step | None:
    return None if e.notation.bias_unit else _step(e, "b", l)


def _mat_bias(e: Explanation, W: Any, b: Step | None, j: int) -> float:
    """b_j: row 0 of the weight matrix (CS189) or entry j of the bias vector."""
    if b is None:
        return float(np.asarray(W)[0, j])
    v = np.asarray(b.value)
    return float(v[j, 0] if e.notation.columns else v[0, j])
