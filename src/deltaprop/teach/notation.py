r"""The four notations of backpropagation in the seeds, as one table.

deltaprop computes in one layout (the seeds', see ``network.py``): row vectors,
z^(l) = a^(l-1) W^(l) + b^(l) with W^(l) of shape (n_{l-1}, n_l), layers l = 1..L and
a^(0) = x. The other notations name and place the same numbers differently:

========  ==============================  =========  ================  ======================
name      forward pass                    layers     vectors           weight matrix
========  ==============================  =========  ================  ======================
seeds     z^(l) = a^(l-1) W^(l) + b^(l)   x = a^(0)  rows (m, n_l)     W^(l): (n_{l-1}, n_l)
cs189     s^(l) = W^(l)T x^(l-1)          x = x^(0)  columns           (n_{l-1} + 1, n_l), row
                                                                       0 is the bias (x_0 = 1)
nielsen   z^l = w^l a^{l-1} + b^l         x = a^1    columns (n_l, m)  w^l: (n_l, n_{l-1})
higham    z^[l] = W^[l] a^[l-1] + b^[l]   x = a^[1]  columns (n_l, m)  W^[l]: (n_l, n_{l-1})
========  ==============================  =========  ================  ======================

Nielsen's book and Higham & Higham (seed 004) number the input as layer 1, so our layer l is
their layer l + 1: our W^(1) (input to first hidden layer) is Nielsen's w^2 and Higham's W^[2],
both transposed. seeds 000-001 use the seeds' notation; seed 002 is CS189's; seed 003 is
Nielsen's; seed 004 is Higham's.

``read_network(obj, notation)`` builds a Network from matrices written in a notation's layout
(the JSON network object of ``deltaprop check`` and ``deltaprop explain --weights``).

Formulas are written once per notation in a small markup ("{delta} = ({delta+1} {W+1:T}) ...")
that :meth:`Notation.expand` turns into plain text or LaTeX.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..network import Network

__all__ = ["NOTATIONS", "Notation", "get_notation", "read_network"]

# How a layer label is attached to a symbol: (text, LaTeX).
_LABEL = {"paren": ("{s}^({l})", "{s}^{{({l})}}"), "plain": ("{s}^{l}", "{s}^{{{l}}}"),
          "square": ("{s}^[{l}]", "{s}^{{[{l}]}}")}
_GREEK = {"delta": ("δ", r"\delta")}
_TOKEN = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Notation:
    """One way of writing backpropagation: symbols, layer numbers, layout and formulas.

    Attributes
    ----------
    name, source : str
        The registry name, and where the notation comes from.
    offset : int
        Their layer number is our l + offset (1 where the input is layer 1).
    columns : bool
        Vectors are columns: a batch is shown (n_l, m) instead of (m, n_l).
    out_in : bool
        Weight matrices are stored (n_l, n_{l-1}), the transpose of ours.
    bias_unit : bool
        The bias is row 0 of the weight matrix, multiplying the unit x_0 = 1 (CS189).
    symbols : dict
        Our quantity name -> their letter ("z" -> "s" in CS189).
    label : str
        "paren" for W^(l), "plain" for w^l, "square" for W^[l].
    formulas : dict
        Formula templates for z, a, delta, dW, db, dx in the markup described in ``expand``.
    aliases : dict
        Extra keys accepted in answer files ("s" -> "z" in CS189).
    """

    name: str
    source: str
    offset: int
    columns: bool
    out_in: bool
    bias_unit: bool
    symbols: dict[str, str]
    label: str
    formulas: dict[str, str]
    aliases: dict[str, str] = field(default_factory=dict)
    cost_letter: str = "C"

    # ----- names ----------------------------------------------------------------------------
    def layer(self, l: int) -> int:
        """Their number for our layer l."""
        return l + self.offset

    def our_layer(self, label: Any, L: int, what: str) -> int:
        """Our l for their layer label (an int or a string of digits); ValueError if out of range."""
        try:
            l = int(label) - self.offset
        except (TypeError, ValueError):
            l = -1
        lo, hi = self.offset, L + self.offset
        if not 0 <= l <= L or str(label).strip() != str(l + self.offset):
            raise ValueError(f"{what}: layer keys in {self.name} notation are {lo}..{hi}, got {label!r}")
        return l

    def sym(self, kind: str, l: int | None, fmt: str = "text") -> str:
        """The symbol of quantity ``kind`` ("z", "a", "delta", "W", "b", "D") at our layer l."""
        letter = self.symbols.get(kind, kind)
        text, latex = _GREEK.get(letter, (letter, letter))
        s = latex if fmt == "latex" else text
        if l is None:
            return s
        template = _LABEL[self.label][fmt == "latex"]
        return template.format(s=s, l=self.layer(l))

    def expand(self, template: str, l: int, fmt: str = "text", *, g: str = "g", m: int = 1) -> str:
        r"""Expand a formula template at our layer l into text or LaTeX.

        Tokens: ``{K}``, ``{K+1}``, ``{K-1}`` (symbol K at layer l, l + 1, l - 1), any of them
        with ``:T`` (transposed); ``{g}``, ``{g'}`` (the activation of layer l and its
        derivative); ``{*}`` (elementwise product); ``{dW}``, ``{db}``, ``{dx}``, ``{C}``,
        ``{x}``, ``{y}``; ``{1/m}`` and ``{mean}`` (empty for one sample).

        Examples
        --------
        >>> get_notation("nielsen").expand("{z} = {W} {a-1} + {b}", 1)
        'z^2 = w^2 a^1 + b^2'
        >>> get_notation("seeds").expand("{delta} = {delta+1} {W+1:T}", 1, "latex")
        '\\delta^{(1)} = \\delta^{(2)} \\left(W^{(2)}\\right)^{\\top}'
        """
        latex = fmt == "latex"
        C = self.cost_letter

        def token(match: re.Match[str]) -> str:
            tok = match.group(1)
            fixed = {
                "*": r"\odot" if latex else "⊙",
                "g": rf"\operatorname{{{_tex(g)}}}" if latex else g,
                "g'": rf"\operatorname{{{_tex(g)}}}'" if latex else f"{g}'",
                "1/m": "" if m == 1 else (r"\tfrac{1}{m} " if latex else "(1/m) "),
                "mean": "" if m == 1 else (r"\tfrac{1}{m}\textstyle\sum_{i} " if latex else "(1/m) Σ_i "),
                "C": C, "x": "x", "y": "y",
                "dx": r"\frac{\partial c}{\partial x}" if latex else "∂c/∂x",
                "dc/da": (rf"\frac{{\partial c}}{{\partial {self.sym('a', l, fmt)}}}" if latex
                          else f"∂c/∂{self.sym('a', l, fmt)}"),
                "i>=1": r"\quad (i \geq 1)" if latex else "  (rows i ≥ 1)",
            }
            if tok in fixed:
                return fixed[tok]
            if tok in ("dW", "db"):
                s = self.sym(tok[1], l, fmt)
                return rf"\frac{{\partial {C}}}{{\partial {s}}}" if latex else f"∂{C}/∂{s}"
            base, _, t = tok.partition(":")
            kind, shift = (base[:-2], int(base[-2:])) if base[-2:] in ("+1", "-1") else (base, 0)
            s = self.sym(kind, l + shift, fmt)
            if t == "T":
                return rf"\left({s}\right)^{{\top}}" if latex else f"({s})ᵀ"
            return s

        return _TOKEN.sub(token, template)

    # ----- layout ---------------------------------------------------------------------------
    def weights(self, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Their weight matrix from our W (n_{l-1}, n_l) and b (n_l,); also for dW, db."""
        if self.bias_unit:
            return np.vstack([b[None, :], W])  # (n_{l-1} + 1, n_l): row 0 multiplies x_0 = 1
        return W.T if self.out_in else W  # (n_l, n_{l-1}) or (n_{l-1}, n_l)

    def vectors(self, kind: str, v: np.ndarray, l: int, L: int) -> np.ndarray:
        """A batch of vectors (m, n_l) in their layout: (m, n_l) rows or (n_l, m) columns.

        In CS189's notation x^(l) carries the bias unit x_0 = 1 for l < L.
        """
        if self.bias_unit and kind == "a" and l < L:
            v = np.hstack([np.ones((v.shape[0], 1), dtype=v.dtype), v])  # (m, n_l + 1)
        return v.T if self.columns else v

    def weight_gradient(self, a_prev: np.ndarray, delta: np.ndarray, *, per_sample: bool = False) -> np.ndarray:
        r"""Their dC/dW^(l) from our a^(l-1) (m, n_{l-1}) and per-sample delta^(l) (m, n_l).

        The mean (1/m) a^(l-1)T delta^(l) in their layout, or with ``per_sample`` the m matrices
        a_i^(l-1)T delta_i^(l), stacked: (m, *their weight shape) (CS189's per-sample SGD).
        """
        if per_sample:
            return np.stack([self.weights(np.outer(a_i, d_i), d_i) for a_i, d_i in zip(a_prev, delta)])
        return self.weights(a_prev.T @ delta / delta.shape[0], delta.mean(axis=0))

    def weight_shape(self, n_in: int, n_out: int) -> tuple[int, int]:
        """The shape of their weight matrix for a layer from n_in to n_out units."""
        if self.bias_unit:
            return (n_in + 1, n_out)
        return (n_out, n_in) if self.out_in else (n_in, n_out)

    def read_weights(self, value: Any, n_in: int, n_out: int, what: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Our (W, b) from their weight matrix; b is None unless the bias is folded in (CS189)."""
        M = _array(value, what)
        shape = self.weight_shape(n_in, n_out)
        if M.shape != shape:
            raise ValueError(f"{what} must have shape {shape} in {self.name} notation ({self.layout_note()}), "
                             f"got {M.shape}")
        if self.bias_unit:
            return M[1:], M[0]
        return (M.T if self.out_in else M), None

    def layout_note(self) -> str:
        """One phrase on how this notation lays out a weight matrix."""
        if self.bias_unit:
            return "rows: bias unit x_0 = 1, then the units of layer l-1; columns: units of layer l"
        if self.out_in:
            return "rows: units of layer l; columns: units of layer l-1"
        return "rows: units of layer l-1; columns: units of layer l"


def _tex(name: str) -> str:
    return name.replace("_", r"\_")


def _array(value: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a list of numbers (or of rows of numbers), got {value!r:.60}") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} must hold finite numbers")
    return arr


def _layers(obj: Any, nt: Notation, L: int, what: str, lo: int = 1) -> dict[int, Any]:
    """A per-layer object (keyed by their layer numbers) or a list (layers lo..L in order)."""
    if isinstance(obj, list):
        if len(obj) != L - lo + 1:
            raise ValueError(f"{what} as a list must have {L - lo + 1} entries (one per layer), got {len(obj)}")
        return {lo + i: v for i, v in enumerate(obj)}
    if not isinstance(obj, dict):
        raise TypeError(f"{what} must be an object keyed by layer ({nt.name} numbering) or a list, "
                         f"got {type(obj).__name__}")
    out = {nt.our_layer(k, L, what): v for k, v in obj.items()}
    if any(l < lo for l in out):
        raise ValueError(f"{what}: layer keys in {nt.name} notation start at {lo + nt.offset}")
    return out


def read_network(obj: Any, nt: Notation, where: str = "network") -> Network:
    """A float64 Network from a JSON network object written in notation ``nt`` (see module doc)."""
    if not isinstance(obj, dict):
        raise TypeError(f"{where} must be an object with sizes, activations, cost, weights, got {type(obj).__name__}")
    missing = [k for k in ("sizes", "activations", "cost", "weights") if k not in obj]
    if not nt.bias_unit and "biases" not in obj:
        missing.append("biases")
    if missing:
        raise ValueError(f"{where} is missing {', '.join(missing)}")
    try:
        net = Network(obj["sizes"], obj["activations"], obj["cost"], dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    n, L = net.sizes, net.L
    Ws = _layers(obj["weights"], nt, L, f"{where}.weights")
    bs = {} if nt.bias_unit else _layers(obj["biases"], nt, L, f"{where}.biases")
    if len(Ws) != L or (not nt.bias_unit and len(bs) != L):
        raise ValueError(f"{where}: weights and biases are needed for every layer ({nt.layer(1)}..{nt.layer(L)})")
    weights, biases = [], []
    for l in range(1, L + 1):
        W, b = nt.read_weights(Ws[l], n[l - 1], n[l], f"{where}.weights[{nt.layer(l)}]")
        if b is None:
            b = _array(bs[l], f"{where}.biases[{nt.layer(l)}]").reshape(-1)
            if b.shape != (n[l],):
                raise ValueError(f"{where}.biases[{nt.layer(l)}] must have {n[l]} entries, got {b.size}")
        weights.append(np.ascontiguousarray(W))  # C order, whatever the notation's layout
        biases.append(b)
    net.weights, net.biases = weights, biases
    return net


_ROWS = {"z": "{z} = {a-1} {W} + {b}", "a": "{a} = {g}({z})",
         "delta": "{delta} = ({delta+1} {W+1:T}) {*} {g'}({z})", "dW": "{dW} = {1/m}{a-1:T} {delta}",
         "db": "{db} = {mean}{delta}", "dx": "{dx} = {delta} {W:T}"}
_COLUMNS = {"z": "{z} = {W} {a-1} + {b}", "a": "{a} = {g}({z})",
            "delta": "{delta} = ({W+1:T} {delta+1}) {*} {g'}({z})", "dW": "{dW} = {1/m}{delta} {a-1:T}",
            "db": "{db} = {mean}{delta}", "dx": "{dx} = {W:T} {delta}"}

NOTATIONS: dict[str, Notation] = {n.name: n for n in (
    Notation("seeds", "seeds 000-002: z_j^(l) = sum_i a_i^(l-1) W_ij^(l) + b_j^(l)", 0, False, False, False,
             {}, "paren", _ROWS),
    Notation("cs189", "seed 002 (CS189 homework 4): s_j^(l) = sum_{i>=0} w_ij^(l) x_i^(l-1), x_0 = 1",
             0, True, False, True, {"z": "s", "a": "x"}, "paren",
             {"z": "{z} = {W:T} {a-1}", "a": "{a} = {g}({z})",
              "a_hidden": "{a} = (1, {g}({z}))", "delta": "{delta} = {g'}({z}) {*} ({W+1} {delta+1}){i>=1}",
              "dW": "{dW} = {1/m}{a-1} {delta:T}", "dx": "{dx} = {W} {delta}{i>=1}"},
             {"s": "z", "x": "a", "J": "cost"}, "J"),
    Notation("nielsen", "seed 003 (Nielsen's book): z^l = w^l a^{l-1} + b^l, input a^1 = x", 1, True, True, False,
             {"W": "w"}, "plain", _COLUMNS, {"w": "W"}),
    Notation("higham", "seed 004 (Higham & Higham 2019): z^[l] = W^[l] a^[l-1] + b^[l], input a^[1] = x",
             1, True, True, False, {}, "square",
             dict(_COLUMNS, delta="{delta} = {D} {W+1:T} {delta+1}")),
)}


def get_notation(name: str | Notation) -> Notation:
    """The notation for a name in ``NOTATIONS`` (or the object itself); ValueError lists the names."""
    if isinstance(name, Notation):
        return name
    if not isinstance(name, str):
        raise TypeError(f"a notation must be a name (str), got {type(name).__name__}")
    try:
        return NOTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown notation {name!r}; known: {', '.join(NOTATIONS)}") from None
