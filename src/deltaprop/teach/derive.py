r"""The derivation steps of ``explain`` beyond the values: where delta^(L) comes from, D^[l], per-sample dW, the SGD step.

- **delta^(L)**: dc/da^(L) first, then the activation's Jacobian da/dz, then their product.
  For softmax the Jacobian is J = diag(a) - a aT (one per sample, its values printed); with
  cross-entropy, dc/da = -y / a and J^T dc/da = a (sum_j y_j) - y = a - y: the Jacobian cancels
  the division. For sigmoid with binary cross-entropy, dc/da = (a - y) / (a (1 - a)) and
  sigma'(z) = a (1 - a) cancel the same way. With an elementwise activation and any other cost,
  the Jacobian is diagonal: delta^(L) = dc/da * g'(z).
- **Higham's D^[l] = diag(sigma'(z^[l]))**: delta^[l] = D^[l] (W^[l+1])T delta^[l+1] shown as the
  three matrices the notation multiplies (for one sample; for several, D^[l] of each sample is
  the diagonal of its column of sigma'(z^[l]), and the product is shown elementwise).
- **Per sample** (``per_sample``, m > 1): dc_i/dW^(l) = a_i^(l-1)T delta_i^(l) before their mean.
- **Gradient descent** (``lr`` = eta): W^(l) <- W^(l) - eta dC/dW^(l), b^(l) <- b^(l) - eta dC/db^(l),
  with the updated numbers.

Each function returns :class:`~deltaprop.teach.explain.Step` objects made by the ``make``
callable of ``explain`` (which expands the templates in the notation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..costs import is_fused
from ..network import Network
from .notation import Notation

__all__ = ["descent_steps", "hidden_delta_steps", "output_steps", "per_sample_steps"]

Make = Callable[..., Any]
Vec = Callable[[str, np.ndarray, int], np.ndarray]

_DC_DA = {  # (text, LaTeX) of dc/da^(L) per cost
    "quadratic": ("{dc/da} = {a} - {y}", "{dc/da} = {a} - {y}"),
    "cross_entropy": ("{dc/da} = -{y} / {a}  (elementwise)", r"{dc/da} = -{y} \oslash {a}"),
    "binary_cross_entropy": ("{dc/da} = ({a} - {y}) / ({a} (1 - {a}))  (elementwise)",
                             r"{dc/da} = ({a} - {y}) \oslash \left({a} \odot (1 - {a})\right)"),
}


def output_steps(make: Make, net: Network, nt: Notation, t: Any, Y: np.ndarray, vec: Vec) -> list[Any]:
    """dc/da^(L), the Jacobian da^(L)/dz^(L) (softmax) and delta^(L) as their product."""
    L, g, c, m = net.L, net.g[net.L], net.c, Y.shape[0]
    z, a = t.z[L], t.a[L]
    dc_da = vec("delta", c.grad_a(a, Y), L)
    steps = [make("dc/da", L, _DC_DA.get(c.name, ("{dc/da}", "{dc/da}")), dc_da, symbol="{dc/da}")]
    delta = vec("delta", t.delta[L], L)
    if not g.elementwise:  # softmax: the full Jacobian, one per sample
        J = g.jacobian(z)  # (m, n_L, n_L): J[i, j, k] = da_j / dz_k of sample i
        for i in range(m):
            label = "J" if m == 1 else f"J_{i + 1}"
            steps.append(make("J", L, (label + " = ∂{a}/∂{z} = diag({a}) - {a} {a}ᵀ",
                                       label + r" = \frac{\partial {a}}{\partial {z}} = diag({a}) - {a} {a}^\top"),
                              J[i], symbol=label))
        text, latex = ("Jᵀ {dc/da}", r"J^\top {dc/da}") if nt.columns else ("{dc/da} J", "{dc/da} J")
        tail = " = {a} - {y}" if is_fused(g, c) else ""  # cross-entropy: -y/a times J gives a - y
        terms = ((J[0], dc_da) if nt.columns else (dc_da, J[0])) if m == 1 else ()
        tpl = ("{delta} = " + text + tail, "{delta} = " + latex + tail)
        steps.append(make("delta", L, tpl, delta, terms, gname=g.name, op="@"))
        return steps
    gp = vec("delta", g.derivative(z), L)
    if nt.name == "higham" and m == 1:
        D = np.diag(gp[:, 0])  # D^[L] = diag(sigma'(z^[L])), (n_L, n_L)
        steps.append(make("D", L, "{D} = diag({g'}({z}))", D, gname=g.name, symbol="{D}"))
        tail = " = {a} - {y}" if is_fused(g, c) else ""
        steps.append(make("delta", L, "{delta} = {D} {dc/da}" + tail, delta, (D, dc_da), gname=g.name, op="@"))
        return steps
    tail = " = {a} - {y}" if is_fused(g, c) else ""
    steps.append(make("delta", L, "{delta} = {dc/da} {*} {g'}({z})" + tail, delta, (dc_da, gp), gname=g.name))
    return steps


def hidden_delta_steps(make: Make, net: Network, nt: Notation, t: Any, l: int, vec: Vec) -> list[Any]:
    """delta^(l) for a hidden layer: in Higham's notation D^[l] first, then the product the notation writes."""
    g, m = net.g[l], t.z[l].shape[0]
    gp = vec("delta", g.derivative(t.z[l]), l)
    back = vec("delta", t.delta[l + 1] @ net.weights[l].T, l)  # (m, n_l): delta^(l+1) W^(l+1)T
    delta = vec("delta", t.delta[l], l)
    if nt.name != "higham":
        terms = (gp, back) if nt.name == "cs189" else (back, gp)
        return [make("delta", l, nt.formulas["delta"], delta, terms, gname=g.name)]
    if m == 1:
        D = np.diag(gp[:, 0])  # (n_l, n_l)
        WT = nt.weights(net.weights[l], net.biases[l]).T  # (W^[l+1])T: (n_l, n_{l+1})
        delta_next = vec("delta", t.delta[l + 1], l + 1)
        return [make("D", l, "{D} = diag({g'}({z}))", D, gname=g.name, symbol="{D}"),
                make("delta", l, nt.formulas["delta"], delta, (D, WT, delta_next), gname=g.name, op="@")]
    return [make("D", l, "{D} = diag({g'}({z})): the diagonal of one column per sample", gp, gname=g.name,
                 symbol="{D}"),
            make("delta", l, nt.formulas["delta"], delta, (gp, back), gname=g.name)]


def per_sample_steps(make: Make, nt: Notation, t: Any, l: int) -> list[Any]:
    """dc_i/dW^(l) = a_i^(l-1)T delta_i^(l) for each sample i, before the mean."""
    out = []
    A, D = t.a[l - 1], t.delta[l]
    C = nt.cost_letter
    rule = "{dW} = " + ("{a-1} {delta:T}" if nt.bias_unit else "{delta} {a-1:T}" if nt.columns else "{a-1:T} {delta}")
    for i in range(A.shape[0]):
        def one(text: str, fmt: str, i: int = i) -> str:  # dC/dW of the batch -> dc_i/dW of sample i
            text = text.replace(f"∂{C}/", f"∂c_{i + 1}/") if fmt == "text" else text.replace(
                rf"{{\partial {C}}}", rf"{{\partial c_{i + 1}}}")
            return text + (f"  (sample {i + 1})" if fmt == "text" and "=" in text else "")

        formula = {f: one(nt.expand(rule, l, f), f) for f in ("text", "latex")}
        symbol = {f: one(nt.expand("{dW}", l, f), f) for f in ("text", "latex")}
        out.append(make("dW_i", l, formula, nt.weight_gradient(A[i:i + 1], D[i:i + 1]), symbol=symbol))
    return out


def descent_steps(make: Make, net: Network, nt: Notation, t: Any, lr: float, vec: Vec) -> list[Any]:
    """One gradient-descent step with eta = lr: the updated W^(l) and b^(l)."""
    out = []
    for l in range(1, net.L + 1):
        W, b = net.weights[l - 1], net.biases[l - 1]
        W_new, b_new = W - lr * t.dW[l], b - lr * t.db[l]
        tpl = (f"{{W}} ← {{W}} - η {{dW}}  (η = {lr:g})", rf"{{W}} \leftarrow {{W}} - \eta {{dW}} \quad (\eta = {lr:g})")
        out.append(make("W_new", l, tpl, nt.weights(W_new, b_new), symbol="{W}"))
        if not nt.bias_unit:
            tpl = (f"{{b}} ← {{b}} - η {{db}}  (η = {lr:g})",
                   rf"{{b}} \leftarrow {{b}} - \eta {{db}} \quad (\eta = {lr:g})")
            out.append(make("b_new", l, tpl, vec("b", b_new[None, :], l), symbol="{b}"))
    return out
