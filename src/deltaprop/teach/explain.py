r"""Every number of one backward pass, in the reader's notation, each gradient checked.

``explain(net, X, Y, notation="higham")`` runs ``net.trace`` in float64 and returns an
:class:`Explanation`: the parameters, the forward pass (every z^(l), a^(l)), the cost, the
backward pass (dc/da^(L), the Jacobian da^(L)/dz^(L) and delta^(L) as their product, then
each delta^(l) = (delta^(l+1) W^(l+1)T) * g_l'(z^(l)) with the factors written out, Higham's
D^[l] = diag(sigma'(z^[l])) as a matrix), every dC/dW^(l) and dC/db^(l), and the input
gradient dc/dx. Each gradient carries its relative error against central finite differences.
``render(explanation, "text" | "markdown" | "latex")`` writes it out (see ``deltaprop.teach.render``).

Examples
--------
>>> from deltaprop import Network
>>> net = Network([2, 2, 1], ["sigmoid", "sigmoid"], "quadratic", seed=0)
>>> e = explain(net, [[0.1, 0.1]], [[1.0]], notation="nielsen")
>>> [s.symbol["text"] for s in e.section("Backward pass")][:4]
['∂c/∂a^3', 'δ^3', '∂C/∂w^3', '∂C/∂b^3']
>>> e.worst_error < 1e-6
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..costs import output_cost
from ..gradcheck import numerical_gradients
from ..network import Network
from .derive import descent_steps, hidden_delta_steps, output_steps, per_sample_steps
from .notation import Notation, get_notation

__all__ = ["Explanation", "Step", "as_float64", "explain", "relative_error"]

FORMATS = ("text", "latex")

_COST = {  # (text, LaTeX) templates of c per sample; see Notation.expand for the tokens
    "quadratic": ("{C} = {mean}½ ‖{a} - {y}‖²", r"{C} = {mean}\tfrac12 \lVert {a} - {y} \rVert^2"),
    "cross_entropy": ("{C} = {mean}-Σ_j {y}_j ln {a}_j", r"{C} = {mean}-\sum_j {y}_j \ln {a}_j"),
    "binary_cross_entropy": ("{C} = {mean}-Σ_j [{y}_j ln {a}_j + (1 - {y}_j) ln(1 - {a}_j)]",
                             r"{C} = {mean}-\sum_j \left[{y}_j \ln {a}_j + (1 - {y}_j) \ln(1 - {a}_j)\right]"),
}


@dataclass(frozen=True)
class Step:
    """One quantity: its symbol and formula, the numbers put in, its value, and its check.

    Attributes
    ----------
    kind : str
        "W", "b", "x", "z", "a", "cost", "delta", "dW", "db" or "dx".
    l : int
        Our layer index (0 for x, cost and dx).
    symbol, formula : dict
        {"text": ..., "latex": ...}; the formula includes the left-hand side.
    terms : tuple of ndarray
        The factors of the formula with numbers, in the notation's layout (joined by the
        elementwise product), or () when the value follows directly.
    value : ndarray or float
        The quantity in the notation's layout: (m, n_l) rows or (n_l, m) columns for vectors.
    error : float or None
        For gradients, the relative error against central finite differences.
    op : str
        How the terms combine: "*" elementwise (⊙), "@" as matrix products (juxtaposed).
    """

    kind: str
    l: int
    symbol: dict[str, str]
    formula: dict[str, str]
    terms: tuple[np.ndarray, ...]
    value: Any
    error: float | None = None
    op: str = "*"


@dataclass(frozen=True)
class Explanation:
    """The steps of ``explain``, grouped in sections (title, steps), with a summary line."""

    notation: Notation
    summary: str
    m: int
    sections: tuple[tuple[str, tuple[Step, ...]], ...]
    tolerance: float
    summary_latex: str = ""

    def section(self, title: str) -> tuple[Step, ...]:
        """The steps of one section by its title."""
        for name, steps in self.sections:
            if name == title:
                return steps
        raise KeyError(f"no section {title!r}; sections: {[s for s, _ in self.sections]}")

    def steps(self) -> list[Step]:
        """All steps in order."""
        return [s for _, steps in self.sections for s in steps]

    @property
    def worst_error(self) -> float:
        """The largest relative error of any checked gradient."""
        return max((s.error for s in self.steps() if s.error is not None), default=0.0)


def as_float64(net: Network) -> Network:
    """A float64 copy of ``net`` built through the public constructor and setters."""
    new = Network(net.sizes, net.activations, net.cost_name, dtype="float64")
    # C order: the finite differences write into each array through a flat view
    new.weights = [np.ascontiguousarray(W) for W in net.weights]
    new.biases = [np.ascontiguousarray(b) for b in net.biases]
    return new


def relative_error(bp: np.ndarray, fd: np.ndarray, floor: float) -> float:
    """||bp - fd|| / max(||bp|| + ||fd||, floor), as in ``gradcheck``."""
    scale = float(np.linalg.norm(bp)) + float(np.linalg.norm(fd))
    return float(np.linalg.norm(bp - fd)) / max(scale, floor)


def _input_fd(net: Network, X: np.ndarray, Y: np.ndarray, eps: float) -> np.ndarray:
    """dc_i/dx_i by central differences, one column of x at a time for all samples: (m, n_0)."""
    L, out = net.L, np.empty_like(X)
    for k in range(X.shape[1]):
        cs = []
        for sign in (1, -1):
            Xk = X.copy()
            Xk[:, k] += sign * eps
            z, a, _ = net._forward(Xk)
            cs.append(output_cost(net.g[L], net.c, z[L], a[L], Y))
        out[:, k] = (cs[0] - cs[1]) / (2 * eps)
    return out


def explain(net: Network, X: Any, Y: Any, *, notation: str | Notation = "seeds", eps: float = 1e-6,
            tolerance: float = 1e-6, lr: float | None = None, per_sample: bool = False) -> Explanation:
    r"""Every quantity of one forward and backward pass, in a notation, each gradient checked.

    Parameters
    ----------
    net : Network
        Computed on a float64 copy; ``net`` is not changed.
    X : array-like of shape (m, n_0)
    Y : array-like of shape (m, n_L), or (m,) class labels for classifiers
    notation : {"seeds", "cs189", "nielsen", "higham"}, keyword-only
    eps : float, keyword-only
        The step of the central differences (C(p + eps) - C(p - eps)) / (2 eps).
    tolerance : float, keyword-only
        A gradient whose relative error exceeds this is marked as disagreeing.
    lr : float, keyword-only, optional
        eta: add the section "Gradient-descent step" with W - eta dC/dW and b - eta dC/db.
    per_sample : bool, keyword-only
        With m > 1, show each sample's dc_i/dW^(l) before their mean.

    Returns
    -------
    Explanation
        Sections "Network", "Forward pass", "Cost", "Backward pass", "Input gradient" (and
        "Gradient-descent step" with ``lr``). The deltas are per sample, delta_i = dc_i/dz_i (the
        batch-mean convention's delta = dC/dz is 1/m of it); the summary says so. See
        ``deltaprop.teach.derive`` for the steps of delta^(L), Higham's D^[l] and the SGD step.
    """
    nt = get_notation(notation)
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < float("inf")):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    net = as_float64(net)
    t = net.trace(X, Y)
    X, Y = t.a[0], net._Y(Y, t.a[0].shape[0])
    m, L, g = X.shape[0], net.L, net.g
    W = dict(enumerate(net.weights, start=1))  # W[l] is W^(l)
    b = dict(enumerate(net.biases, start=1))
    fW, fb = numerical_gradients(net, X, Y, eps=eps)
    floor = 1e-6 * (1 + abs(t.cost))

    def vec(kind: str, v: np.ndarray, l: int) -> np.ndarray:
        return nt.vectors(kind, v, l, L)

    def expand(template: str | tuple[str, str] | dict[str, str], l: int, gname: str) -> dict[str, str]:
        if isinstance(template, dict):  # already written out in both formats
            return template
        texts = template if isinstance(template, tuple) else (template, template)
        return {f: nt.expand(tpl, l, f, g=gname, m=m) for f, tpl in zip(FORMATS, texts)}

    def step(kind: str, l: int, template: Any, value: Any, terms: tuple[np.ndarray, ...] = (),
             error: float | None = None, gname: str = "g", symbol: Any = None, op: str = "*") -> Step:
        return Step(kind, l, expand(symbol or "{" + kind + "}", l, gname), expand(template, l, gname), terms, value,
                    error, op)

    params = []
    for l in range(1, L + 1):
        if nt.bias_unit:
            params.append(step("W", l, "{W}", nt.weights(W[l], b[l])))
        else:
            params += [step("W", l, "{W}", nt.weights(W[l], b[l])), step("b", l, "{b}", vec("b", b[l][None, :], l))]

    forward = [step("a", 0, "{a} = {x}", vec("a", X, 0))]
    for l in range(1, L + 1):
        name = g[l].name
        forward.append(step("z", l, nt.formulas["z"], vec("z", t.z[l], l), gname=name))
        a_tpl = nt.formulas.get("a_hidden", nt.formulas["a"]) if l < L else nt.formulas["a"]
        forward.append(step("a", l, a_tpl, vec("a", t.a[l], l), gname=name))

    cost = [step("cost", L, _COST[net.cost_name], t.cost, symbol="{C}")]

    backward = []
    for l in range(L, 0, -1):
        if l == L:
            backward += output_steps(step, net, nt, t, Y, vec)
        else:
            backward += hidden_delta_steps(step, net, nt, t, l, vec)
        if per_sample and m > 1:
            backward += per_sample_steps(step, nt, t, l)
        eW = relative_error(t.dW[l], fW[l - 1], floor)
        eb = relative_error(t.db[l], fb[l - 1], floor)
        if nt.bias_unit:
            backward.append(step("dW", l, nt.formulas["dW"], nt.weights(t.dW[l], t.db[l]), error=max(eW, eb)))
        else:
            backward.append(step("dW", l, nt.formulas["dW"], nt.weights(t.dW[l], t.db[l]), error=eW))
            backward.append(step("db", l, nt.formulas["db"], vec("delta", t.db[l][None, :], l), error=eb))

    dx = t.delta[1] @ W[1].T  # (m, n_0): dc/dx per sample
    ex = relative_error(dx, _input_fd(net, X, Y, eps), floor)
    inputs = [step("dx", 1, nt.formulas["dx"], vec("dx", dx, 0), error=ex, symbol="{dx}")]

    head = (f"network {'-'.join(map(str, net.sizes))} ({', '.join(net.activations)}; {net.cost_name} cost), "
            f"{m} sample{'s' if m > 1 else ''}, {nt.name} notation")
    convention = "δ per sample: δ_i = ∂c_i/∂z_i (the batch-mean convention's δ = ∂C/∂z is 1/m of it)"
    summary = f"{head}: {nt.source}; {convention}"
    summary_latex = (f"{_tex_words(head)}: ${nt.expand(nt.formulas['z'], 1, 'latex')}$; "
                     r"$\delta$ per sample: $\delta_i = \partial c_i / \partial z_i$ (the batch-mean convention's "
                     r"$\delta = \partial C / \partial z$ is $1/m$ of it)")
    sections = [("Network", tuple(params)), ("Forward pass", tuple(forward)), ("Cost", tuple(cost)),
                ("Backward pass", tuple(backward)), ("Input gradient", tuple(inputs))]
    if lr is not None:
        sections.append(("Gradient-descent step", tuple(descent_steps(step, net, nt, t, float(lr), vec))))
    return Explanation(nt, summary, m, tuple(sections), tolerance, summary_latex)


def _tex_words(text: str) -> str:
    """Plain words for LaTeX text mode (names like cross_entropy)."""
    return text.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")
