r"""The catalogue of known slips in hand computations of backpropagation.

Each slip recomputes one quantity the wrong way, from the same inputs as the right way
(``Context``), and returns what a student who made that slip would have written. ``check``
names a slip when the student's number matches its recomputation and not the right value.

=========================  ================================================================
name                       the slip
=========================  ================================================================
relu-derivative-as-relu    g'(z) = max(0, z) for ReLU, which is ReLU itself (seed 002)
sigmoid-derivative-twice   sigma'(z)(1 - sigma(z)) for sigma'(z): the derivative applied
                           twice (seed 003); the derivative is sigma(z)(1 - sigma(z))
derivative-at-a            g'(a) instead of g'(z): the derivative taken at the activation
missing-derivative         the factor g'(z) left out of delta (seed 001's last line)
fused-delta-times-a(1-a)   delta^(L) = a(1 - a)(a - y) for softmax + cross-entropy (or
                           sigmoid + binary cross-entropy), whose delta^(L) is a - y
tanh-derivative-1-tanh     tanh'(z) written as 1 - tanh(z); it is 1 - tanh(z)^2
transposed-W               W used untransposed where its transpose belongs (square W only)
W-of-this-layer            W^(l) instead of W^(l+1) in the delta recursion (when the shapes
                           let it through)
bias-forgotten             z^(l) = a^(l-1) W^(l) without + b^(l)
a-for-a-prev-in-dW         dC/dW^(l) from a^(l) instead of a^(l-1) (any shape: a non-square
                           layer gives a matrix of the wrong shape)
transposed-dW              dC/dW written transposed: the other notation's layout
missing-1/m                dC/dW, dC/db as the batch sum instead of the mean: m times too large
cost-summed                C as the sum of the per-sample costs instead of their mean
missing-1/2                the quadratic cost without its 1/2: twice too large
sign                       the sign flipped, e.g. delta^(L) = y - a
=========================  ================================================================

With m = 2 samples and the quadratic cost, cost-summed and missing-1/2 give the same number;
``check`` then looks at the student's other quantities to tell them apart (see
``disambiguate``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import _sigmoid
from ..costs import is_fused
from ..network import Network
from .notation import Notation

__all__ = ["SLIPS", "Context", "Slip", "disambiguate", "matching_slips"]


@dataclass(frozen=True)
class Context:
    """The inputs of one quantity: kind, layer l, and the values V computed so far (our layout).

    V maps ("z", l), ("a", l), ("delta", l), ("dW", l), ("db", l) to (m, n_l) or matrix arrays;
    ("a", 0) is X. ``expected`` is the right value from these inputs, in the form the student
    writes it (``theirs``).
    """

    net: Network
    notation: Notation
    kind: str
    l: int
    V: dict[tuple[str, int], Any]
    Y: np.ndarray
    expected: Any
    per_sample: bool = False

    @property
    def m(self) -> int:
        """The number of samples."""
        return int(self.Y.shape[0])

    def grad_a(self) -> np.ndarray:
        """dc/da^(l) (m, n_l): from the cost at l = L, else delta^(l+1) W^(l+1)T."""
        net, l = self.net, self.l
        if l == net.L:
            return net.c.grad_a(self.V["a", l], self.Y)
        return self.V["delta", l + 1] @ net.weights[l].T  # (m, n_{l+1}) @ (n_{l+1}, n_l)


def _delta_with(factor: Callable[[Context], np.ndarray | None]) -> Callable[[Context], Any]:
    def recompute(ctx: Context) -> Any:
        if ctx.kind != "delta":
            return None
        f = factor(ctx)
        return None if f is None else ctx.grad_a() * f

    return recompute


def _relu_as_derivative(ctx: Context) -> np.ndarray | None:
    return np.maximum(ctx.V["z", ctx.l], 0) if ctx.net.g[ctx.l].name == "relu" else None


def _sigmoid_twice(ctx: Context) -> np.ndarray | None:
    if ctx.net.g[ctx.l].name != "sigmoid":
        return None
    s = _sigmoid(ctx.V["z", ctx.l])
    return s * (1 - s) * (1 - s)  # sigma'(z) (1 - sigma(z))


def _at_a(ctx: Context) -> np.ndarray | None:
    g = ctx.net.g[ctx.l]
    if not g.elementwise or g.name == "identity":
        return None
    return g.derivative(ctx.V["a", ctx.l])


def _tanh_one_minus(ctx: Context) -> np.ndarray | None:
    return 1 - np.tanh(ctx.V["z", ctx.l]) if ctx.net.g[ctx.l].name == "tanh" else None


def _no_factor(ctx: Context) -> np.ndarray | None:
    g = ctx.net.g[ctx.l]
    if not g.elementwise or g.name == "identity":
        return None
    return np.ones_like(ctx.V["z", ctx.l])


def _missing_derivative(ctx: Context) -> Any:
    if ctx.kind != "delta":
        return None
    g, L = ctx.net.g[ctx.l], ctx.net.L
    if ctx.l == L and (is_fused(g, ctx.net.c) or not g.elementwise):
        return None
    f = _no_factor(ctx)
    return None if f is None else ctx.grad_a() * f


def _fused_times_a(ctx: Context) -> Any:
    net, l = ctx.net, ctx.l
    if ctx.kind != "delta" or l != net.L or not is_fused(net.g[l], net.c):
        return None
    a = ctx.V["a", l]
    return a * (1 - a) * (a - ctx.Y)


def _square(W: np.ndarray) -> bool:
    return W.shape[0] == W.shape[1]


def _transposed_W(ctx: Context) -> Any:
    net, l, V = ctx.net, ctx.l, ctx.V
    if ctx.kind == "z" and _square(net.weights[l - 1]):
        return V["a", l - 1] @ net.weights[l - 1].T + net.biases[l - 1]
    if ctx.kind == "delta" and l < net.L and _square(net.weights[l]) and net.g[l].elementwise:
        return net.g[l].backward(V["z", l], V["a", l], V["delta", l + 1] @ net.weights[l])
    if ctx.kind == "dx" and _square(net.weights[0]):
        return V["delta", 1] @ net.weights[0]
    return None


def _transposed_dW(ctx: Context) -> Any:
    return np.swapaxes(ctx.expected, -1, -2) if ctx.kind == "dW" else None


def _W_of_this_layer(ctx: Context) -> Any:
    """delta^(l) from delta^(l+1) and W^(l) (transposed or not, whichever shape fits) instead of W^(l+1)."""
    net, l, V = ctx.net, ctx.l, ctx.V
    if ctx.kind != "delta" or l == net.L or not net.g[l].elementwise:
        return None
    d_next, W_l, z = V["delta", l + 1], net.weights[l - 1], V["z", l]  # W_l is W^(l): (n_{l-1}, n_l)
    for M in (W_l.T, W_l):
        if M.shape[0] == d_next.shape[1] and M.shape[1] == z.shape[1]:
            return net.g[l].backward(z, V["a", l], d_next @ M)
    return None


def _bias_forgotten(ctx: Context) -> Any:
    return ctx.V["a", ctx.l - 1] @ ctx.net.weights[ctx.l - 1] if ctx.kind == "z" else None


def _a_for_a_prev(ctx: Context) -> Any:
    if ctx.kind != "dW":
        return None
    return ctx.notation.weight_gradient(ctx.V["a", ctx.l], ctx.V["delta", ctx.l], per_sample=ctx.per_sample)


def _times(factor: Callable[[Context], float | None], kinds: tuple[str, ...]) -> Callable[[Context], Any]:
    def recompute(ctx: Context) -> Any:
        f = factor(ctx) if ctx.kind in kinds else None
        return None if f is None else f * ctx.expected

    return recompute


@dataclass(frozen=True)
class Slip:
    """A named slip: ``recompute(ctx)`` is the quantity computed with the slip, or None if it cannot apply."""

    name: str
    description: str
    recompute: Callable[[Context], Any]


SLIPS: tuple[Slip, ...] = (
    Slip("relu-derivative-as-relu",
         "ReLU's derivative taken as max(0, z), which is ReLU itself (seed 002); g'(z) = 1 if z > 0 else 0",
         _delta_with(_relu_as_derivative)),
    Slip("sigmoid-derivative-twice",
         "sigma'(z)(1 - sigma(z)) used for sigma'(z): the derivative applied twice (seed 003); "
         "sigma'(z) = sigma(z)(1 - sigma(z))", _delta_with(_sigmoid_twice)),
    Slip("derivative-at-a", "g' evaluated at a = g(z) instead of at z", _delta_with(_at_a)),
    Slip("missing-derivative", "the factor g'(z) left out of delta (seed 001's last line drops it)",
         _missing_derivative),
    Slip("fused-delta-times-a(1-a)",
         "delta^(L) written as a(1 - a)(a - y); for softmax + cross-entropy (and sigmoid + binary "
         "cross-entropy) the derivative of the activation cancels and delta^(L) = a - y", _fused_times_a),
    Slip("tanh-derivative-1-tanh", "tanh'(z) written as 1 - tanh(z); it is 1 - tanh(z)^2",
         _delta_with(_tanh_one_minus)),
    Slip("transposed-W", "W used where its transpose belongs (or the other way round)", _transposed_W),
    Slip("W-of-this-layer", "W^(l) used in the delta recursion where W^(l+1) belongs: delta^(l) comes from "
         "delta^(l+1) and the weights that connect layer l to layer l+1", _W_of_this_layer),
    Slip("bias-forgotten", "the bias left out of z: z^(l) = a^(l-1) W^(l) + b^(l)", _bias_forgotten),
    Slip("a-for-a-prev-in-dW", "a^(l) used in dC/dW^(l) where a^(l-1) belongs: dC/dW^(l) pairs the inputs "
         "of layer l, a^(l-1), with its delta^(l)", _a_for_a_prev),
    Slip("transposed-dW", "dC/dW written transposed, in the other layout (this notation's layout: {layout})",
         _transposed_dW),
    Slip("missing-1/m", "the sum over the m samples instead of the mean (the 1/m left out)",
         _times(lambda ctx: float(ctx.m) if ctx.m > 1 and not ctx.per_sample else None, ("dW", "db"))),
    Slip("cost-summed", "C written as the sum of the m per-sample costs c_i; C is their mean (1/m) sum_i c_i",
         _times(lambda ctx: float(ctx.m) if ctx.m > 1 else None, ("cost",))),
    Slip("missing-1/2", "the quadratic cost's 1/2 left out (c = ||a - y||^2 instead of 1/2 ||a - y||^2)",
         _times(lambda ctx: 2.0 if ctx.net.cost_name == "quadratic" and (ctx.kind == "cost" or (
             ctx.kind == "delta" and ctx.l == ctx.net.L)) else None, ("cost", "delta"))),
    Slip("sign", "the sign flipped (for instance delta^(L) = y - a instead of a - y)",
         _times(lambda ctx: -1.0, ("z", "a", "cost", "delta", "dW", "db", "dx"))),
)


def disambiguate(found: dict[tuple[str, int], tuple[str, ...]]) -> dict[tuple[str, int], tuple[str, ...]]:
    """Settle cost-summed against missing-1/2 (the same number when m = 2) from the other findings.

    ``found`` maps (kind, l) to the slips named for it. A sum over the samples elsewhere
    (missing-1/m in dC/dW or dC/db) points to cost-summed; a doubled delta^(L) to missing-1/2.
    """
    both = {"cost-summed", "missing-1/2"}
    if not both <= set(found.get(("cost", 0), ())):
        return found
    others = {name for key, names in found.items() if key != ("cost", 0) for name in names}
    drop = {"missing-1/2"} if "missing-1/m" in others else {"cost-summed"} if "missing-1/2" in others else set()
    out = dict(found)
    out["cost", 0] = tuple(n for n in found["cost", 0] if n not in drop)
    return out


def matching_slips(ctx: Context, given: Any, close: Callable[[Any, Any], bool]) -> list[Slip]:
    """The slips whose recomputation matches ``given`` (and differs from the expected value)."""
    found = []
    for slip in SLIPS:
        candidate = slip.recompute(ctx)
        if candidate is None or np.shape(candidate) != np.shape(given) or close(candidate, ctx.expected):
            continue
        if close(given, candidate):
            found.append(slip)
    return found
