r"""The feedforward network and its backward pass, written as in the seeds.

Layers l = 1..L; a^(0) = x; z^(l) = a^(l-1) W^(l) + b^(l); a^(l) = g_l(z^(l)).
Batches are row-major: X is (m, n_0), W^(l) is (n_{l-1}, n_l), b^(l) is (n_l,), and z^(l),
a^(l), delta^(l) are (m, n_l). Inside this module W, b, z, a, delta, g are dicts keyed by the
math index l, so that an off-by-one raises KeyError instead of giving a wrong gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from . import _checks
from .activations import Activation, FloatArray, get_activation
from .costs import batch_scale, get_cost, output_cost, output_delta

Init = str | float | Callable[[np.random.Generator, int, int, int], tuple[np.ndarray, np.ndarray]] | None


@dataclass(frozen=True)
class Trace:
    """Every quantity of one forward and backward pass over a batch, keyed by the layer index l.

    Attributes
    ----------
    z, a : dict
        z[l] and a[l] of shape (m, n_l); a[0] = X. With dropout, a[l] is the masked output.
    delta : dict
        delta[l] = dc/dz^(l) per sample, shape (m, n_l), l = 1..L.
    dW, db : dict
        dW[l] = dC/dW^(l), shape (n_{l-1}, n_l); db[l] = dC/db^(l), shape (n_l,) (batch means).
    cost : float
        C, the (weighted) mean of c over the batch.
    masks : dict
        masks[l] (m, n_l) for layers with dropout (already divided by 1 - p); empty otherwise.
    """

    z: dict[int, FloatArray]
    a: dict[int, FloatArray]
    delta: dict[int, FloatArray]
    dW: dict[int, FloatArray]
    db: dict[int, FloatArray]
    cost: float
    masks: dict[int, FloatArray] = field(default_factory=dict)

    @property
    def L(self) -> int:
        """The number of layers."""
        return len(self.delta)


def _init_params(rng: np.random.Generator, sizes: tuple[int, ...], g: dict[int, Activation],
                 init: Init, dt: np.dtype[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    Ws, bs = [], []
    for l in range(1, len(sizes)):
        n_in, n_out = sizes[l - 1], sizes[l]
        if callable(init):
            W, b = init(rng, l, n_in, n_out)
        elif isinstance(init, (int, float)) and not isinstance(init, bool):
            std = _checks.as_float(init, "init")
            W = std * rng.standard_normal((n_in, n_out))  # e.g. Higham & Higham: 0.5 * randn
            b = std * rng.standard_normal(n_out)
        else:
            scheme = init or ("he" if g[l].he_init else "glorot")
            if scheme not in ("he", "glorot"):
                raise ValueError(f"init must be 'he', 'glorot', a number (std) or a callable, got {init!r}")
            var = 2.0 / n_in if scheme == "he" else 2.0 / (n_in + n_out)
            W, b = np.sqrt(var) * rng.standard_normal((n_in, n_out)), np.zeros(n_out)
        Ws.append(W)
        bs.append(b)
    return Ws, bs


def _rowwise_product(A: np.ndarray, W: np.ndarray, rows: int = 1024) -> np.ndarray:
    r"""A W (m, n_l) for A (m, n_{l-1}) with each entry summed in the same order, j = 0..n_{l-1}-1, in
    every row: sum_j A[i, j] W[j, k] by elementwise (correctly rounded) operations on blocks of rows."""
    out = np.empty((A.shape[0], W.shape[1]), np.result_type(A, W))
    tmp = np.empty((min(rows, A.shape[0]), W.shape[1]), out.dtype)
    for s in range(0, A.shape[0], rows):
        block, t = out[s:s + rows], tmp[:min(rows, A.shape[0] - s)]
        np.multiply(A[s:s + rows, :1], W[0], out=block)  # (k, 1) * (n_l,) -> (k, n_l)
        for j in range(1, W.shape[0]):
            block += np.multiply(A[s:s + rows, j:j + 1], W[j], out=t)
    return out


class Network:
    r"""A feedforward network of L = len(sizes) - 1 layers.

    Parameters
    ----------
    sizes : list of int
        [n_0, ..., n_L]. ``sizes=[2, 3, 1]`` means L = 2, W^(1) is (2, 3), W^(2) is (3, 1).
    activations : list of L str
        g_1..g_L by name (see ``deltaprop.ACTIVATIONS``); softmax only for the output layer.
    cost : str
        "quadratic", "cross_entropy", "binary_cross_entropy", "mae", "huber", "poisson", or a
        registered name (see ``deltaprop.COSTS``).
    dtype : {"float32", "float64"}, keyword-only
    seed : int or None, keyword-only
        Seeds the network's own generator (``np.random.default_rng(seed)``).
    init : None, "he", "glorot", float or callable, keyword-only
        None: He (variance 2/n_{l-1}) for the ReLU family, Glorot (2/(n_{l-1} + n_l)) otherwise,
        biases 0. A float s draws every W and b as s * N(0, 1). A callable
        ``init(rng, l, n_in, n_out) -> (W, b)`` gives each layer's arrays.
    dropout : list of L - 1 floats or None, keyword-only
        Inverted-dropout rate p of each hidden layer, used only while training.

    Examples
    --------
    >>> net = Network([2, 3, 1], ["relu", "sigmoid"], "binary_cross_entropy", seed=0)
    >>> net.L, [W.shape for W in net.weights]
    (2, [(2, 3), (3, 1)])
    >>> net.forward([[0.5, -1.0]]).shape
    (1, 1)
    """

    def __init__(self, sizes: Sequence[int], activations: Sequence[str], cost: str, *,
                 dtype: Any = "float32", seed: int | None = None, init: Init = None,
                 dropout: Sequence[float] | None = None) -> None:
        n = _checks.sizes(sizes)
        L = len(n) - 1
        names = _checks.names(activations, L, "activations")
        g = {l: get_activation(name) for l, name in enumerate(names, start=1)}
        c = get_cost(cost)
        for l in range(1, L):
            if not g[l].elementwise:
                raise ValueError(
                    f"{g[l].name} is for the output layer only; hidden layer l = {l} needs an elementwise activation"
                )
        if c.probability and not g[L].probability:
            raise ValueError(
                f"cost {c.name!r} needs outputs in [0, 1] (sigmoid or softmax output); got {g[L].name!r}"
            )
        if getattr(c, "positive", False) and not getattr(g[L], "positive", False):
            raise ValueError(
                f"cost {c.name!r} needs positive outputs a > 0 (softplus, sigmoid or softmax output); got {g[L].name!r}"
            )
        dt = _checks.dtype(dtype)
        p = self._check_dropout(dropout, L)
        self.rng = np.random.default_rng(seed)
        Ws, bs = _init_params(self.rng, n, g, init, dt)
        self.sizes, self.L, self.g, self.c, self.dtype, self.dropout = n, L, g, c, dt, p
        self.seed = seed
        self._W = _checks.parameters(Ws, self._shapes("W"), dt, "weights")
        self._b = _checks.parameters(bs, self._shapes("b"), dt, "biases")
        self.scaling: Any = None  # input scaling attached by the data loaders and model files
        self.classes: tuple[Any, ...] | None = None  # class labels, when trained on labelled data
        self.target_scaling: Any = None  # regression: the target's standardisation, undone on prediction
        self.data: dict[str, Any] | None = None  # the training file: SHA-256, rows, held-out split

    @staticmethod
    def _check_dropout(dropout: Sequence[float] | None, L: int) -> tuple[float, ...]:
        if dropout is None:
            return (0.0,) * (L - 1)
        if isinstance(dropout, str) or not isinstance(dropout, Sequence) or len(dropout) != L - 1:
            raise ValueError(f"dropout must be a list of L - 1 = {L - 1} rates (one per hidden layer), got {dropout!r}")
        for p in dropout:
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
                raise ValueError(f"dropout rates must lie in [0, 1), got {p!r}")
        return tuple(float(p) for p in dropout)

    # ----- parameters -------------------------------------------------------------------
    def _shapes(self, kind: str) -> list[tuple[int, ...]]:
        n = self.sizes
        if kind == "W":
            return [(n[l - 1], n[l]) for l in range(1, self.L + 1)]
        return [(n[l],) for l in range(1, self.L + 1)]

    @property
    def weights(self) -> list[np.ndarray]:
        """The L live arrays W^(1)..W^(L); weights[l-1] has shape (n_{l-1}, n_l)."""
        return self._W

    @weights.setter
    def weights(self, values: Sequence[Any]) -> None:
        self._W = _checks.parameters(values, self._shapes("W"), self.dtype, "weights")

    @property
    def biases(self) -> list[np.ndarray]:
        """The L live arrays b^(1)..b^(L); biases[l-1] has shape (n_l,)."""
        return self._b

    @biases.setter
    def biases(self, values: Sequence[Any]) -> None:
        self._b = _checks.parameters(values, self._shapes("b"), self.dtype, "biases")

    @property
    def activations(self) -> tuple[str, ...]:
        """The names of g_1..g_L."""
        return tuple(self.g[l].name for l in range(1, self.L + 1))

    @property
    def cost_name(self) -> str:
        """The name of the cost c."""
        return self.c.name

    @property
    def n_params(self) -> int:
        """The number of trainable numbers, sum over l of n_{l-1} n_l + n_l."""
        return sum(W.size + b.size for W, b in zip(self._W, self._b))

    @property
    def is_classifier(self) -> bool:
        """True when the outputs are class probabilities (softmax, or sigmoid with a cross-entropy)."""
        return self.g[self.L].name == "softmax" or (self.g[self.L].probability and self.c.probability)

    def copy(self) -> "Network":
        """An independent copy: same architecture, copied parameters, scaling and classes."""
        new = object.__new__(Network)
        new.__dict__.update(self.__dict__)
        new._W = [W.copy() for W in self._W]
        new._b = [b.copy() for b in self._b]
        new.rng = np.random.default_rng()
        new.rng.bit_generator.state = self.rng.bit_generator.state
        return new

    def __repr__(self) -> str:
        return (f"Network(sizes={list(self.sizes)}, activations={list(self.activations)}, "
                f"cost={self.cost_name!r}, dtype={self.dtype.name!r})")

    # ----- validation at the boundary ----------------------------------------------------
    def _X(self, X: Any) -> np.ndarray:
        """X checked; and the parameters, which may have been changed in place (O(n_params): cheap beside a^(l))."""
        _checks.finite_parameters(self._W, self._b)
        return _checks.inputs(X, self.sizes[0], self.dtype)

    def _Y(self, Y: Any, m: int) -> np.ndarray:
        return _checks.targets(Y, m, self.sizes[-1], self.dtype, cost=self.c.name,
                               one_hot_ok=self.is_classifier)

    # ----- kernels (trust their inputs) ----------------------------------------------------
    def _forward(self, X: np.ndarray, masks: dict[int, np.ndarray] | None = None, *, rowwise: bool = False,
                 product: Callable[[np.ndarray, np.ndarray], np.ndarray] = _rowwise_product):
        # product: a^(l-1) W^(l) for rowwise=True; the engine hands its compiled form (the same bits)
        W = dict(enumerate(self._W, start=1))  # W[l] is W^(l)
        b = dict(enumerate(self._b, start=1))
        z: dict[int, np.ndarray] = {}
        a: dict[int, np.ndarray] = {0: X}
        h: dict[int, np.ndarray] = {}  # g_l(z^(l)) before a dropout mask
        for l in range(1, self.L + 1):
            z[l] = (product(a[l - 1], W[l]) if rowwise else a[l - 1] @ W[l]) + b[l]
            h[l] = self.g[l].value(z[l])
            a[l] = h[l] * masks[l] if masks and l in masks else h[l]
        return z, a, h

    def _backward(self, z, a, h, Y, w, masks):
        W = dict(enumerate(self._W, start=1))
        g, L, m = self.g, self.L, Y.shape[0]
        delta = {L: output_delta(g[L], self.c, z[L], a[L], Y)}
        for l in range(L - 1, 0, -1):
            grad_a = delta[l + 1] @ W[l + 1].T  # dc/da^(l), (m, n_l)
            if masks and l in masks:
                grad_a = grad_a * masks[l]
            delta[l] = g[l].backward(z[l], h[l], grad_a)
        coef = np.full(m, 1.0 / m, dtype=Y.dtype) if w is None else (w * batch_scale(m, w)).astype(Y.dtype)
        dW, db = {}, {}
        for l in range(1, L + 1):
            weighted = delta[l] * coef[:, None]  # (m, n_l): each sample's share of the mean
            dW[l] = a[l - 1].T @ weighted  # (n_{l-1}, n_l) = sum_i a_i^(l-1)T delta_i^(l) / m
            db[l] = weighted.sum(axis=0)
        return delta, dW, db

    def _cost(self, z, a, Y, w) -> float:
        c = output_cost(self.g[self.L], self.c, z[self.L], a[self.L], Y)
        return float(np.mean(c) if w is None else np.dot(w, c) / w.sum())

    # ----- public calls ----------------------------------------------------------------------
    def forward(self, X: Any, *, rowwise: bool = False) -> np.ndarray:
        """a^(L) for a batch: X (m, n_0) -> (m, n_L).

        With ``rowwise=True`` every output row depends on its input row alone, bit for bit: the
        same whatever the other rows, their number and order (BLAS rounds a row of a^(l-1) W^(l)
        differently depending on where it falls in its blocks). Slower: n_{l-1} vector
        operations per layer instead of one matrix product.
        """
        X = self._X(X)
        return self._forward(X, rowwise=rowwise)[1][self.L]

    @property
    def classifies(self) -> bool:
        """True when predictions are classes: class-probability outputs (``is_classifier``), or any network
        that carries class labels (e.g. sigmoid outputs with the quadratic cost, as in Nielsen's MNIST network)."""
        return self.is_classifier or self.classes is not None

    def predict(self, X: Any, *, labels: bool = False) -> np.ndarray:
        """The prediction for each row of X (m, n_0): ``prediction(forward(X))``; see ``Network.prediction``."""
        return self.prediction(self.forward(X), labels=labels)

    def prediction(self, aL: FloatArray, *, labels: bool = False) -> np.ndarray:
        """The prediction rule, from outputs a^(L) (m, n_L), e.g. ``net.forward(X)``, to what the network predicts.

        Returns
        -------
        ndarray of shape (m,) or (m, n_L)
            A classifier (``classifies``): each row's class index k, int64, by ``classes(aL)`` (argmax_j a_j,
            the first of tied outputs; a >= 1/2 for one output); ``labels=True``: ``self.classes[k]`` (object
            array) when labels are known. A regression: a^(L) in the target's units (``target_scaling`` undone).

        Examples
        --------
        >>> net = Network([2, 1], ["sigmoid"], "binary_cross_entropy")
        >>> net.classes = ("no", "yes")
        >>> net.prediction(np.array([[0.5], [0.2]]), labels=True)
        array(['yes', 'no'], dtype=object)
        """
        if not self.classifies:
            return self.target_scaling.invert(aL) if self.target_scaling is not None else aL
        k = classes(aL)  # (m,)
        if not labels or self.classes is None:
            return k
        names = np.empty(len(self.classes), dtype=object)
        names[:] = self.classes  # the labels themselves, not numpy scalars
        return names[k]

    def cost(self, X: Any, Y: Any, *, sample_weight: Any = None) -> float:
        r"""C = (1/m) sum_i c(x_i) (or sum w_i c_i / sum w_i with sample weights), a Python float."""
        X = self._X(X)
        Y, w = self._Y(Y, X.shape[0]), _checks.sample_weight(sample_weight, X.shape[0], self.dtype)
        z, a, _ = self._forward(X)
        return self._cost(z, a, Y, w)

    def trace(self, X: Any, Y: Any, *, sample_weight: Any = None,
              masks: dict[int, Any] | None = None) -> Trace:
        """Forward and backward pass with every intermediate kept: see ``Trace``.

        ``masks`` ({l: (m, n_l) array}) fixes dropout masks (already divided by 1 - p).
        """
        X = self._X(X)
        m = X.shape[0]
        Y, w = self._Y(Y, m), _checks.sample_weight(sample_weight, m, self.dtype)
        masks = self._check_masks(masks, m)
        z, a, h = self._forward(X, masks)
        delta, dW, db = self._backward(z, a, h, Y, w, masks)
        return Trace(z=z, a=a, delta=delta, dW=dW, db=db, cost=self._cost(z, a, Y, w), masks=masks or {})

    def _check_masks(self, masks: dict[int, Any] | None, m: int) -> dict[int, np.ndarray] | None:
        if not masks:
            return None
        if not isinstance(masks, dict):
            raise TypeError(f"masks must be a dict {{l: (m, n_l) array}}, got {type(masks).__name__}")
        return _checks.masks(masks, {l: (m, self.sizes[l]) for l in range(1, self.L)}, self.dtype)

    def gradients(self, X: Any, Y: Any, *, sample_weight: Any = None,
                  masks: dict[int, Any] | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
        r"""(dW, db): dW[l-1] = dC/dW^(l) of shape (n_{l-1}, n_l), db[l-1] = dC/db^(l) of shape (n_l,).

        Notes
        -----
        delta^(L) = dc/da^(L) * g_L'(z^(L)) (fused to a^(L) - y for softmax + cross_entropy and
        sigmoid + binary_cross_entropy); delta^(l) = (delta^(l+1) W^(l+1)T) * g_l'(z^(l));
        dC/dW^(l) = a^(l-1)T delta^(l) / m; dC/db^(l) = mean over the batch of delta^(l).
        """
        t = self.trace(X, Y, sample_weight=sample_weight, masks=masks)
        return [t.dW[l] for l in range(1, self.L + 1)], [t.db[l] for l in range(1, self.L + 1)]

    def input_gradient(self, X: Any, Y: Any) -> np.ndarray:
        r"""dc/dx per sample (not divided by m), shape (m, n_0): delta^(1) W^(1)T."""
        t = self.trace(X, Y)
        return t.delta[1] @ self._W[0].T  # (m, n_1) @ (n_1, n_0)

    def input_jacobian(self, X: Any) -> np.ndarray:
        r"""da^(L)/dx per sample, shape (m, n_L, n_0), by backpropagation through the layers.

        Notes
        -----
        Starting from J = da^(L)/dz^(L) (diag(g_L'(z^(L))), or softmax's full Jacobian), each
        layer applies J <- J W^(l)T and then diag(g_{l-1}'(z^(l-1))): the product
        D^[L] W^[L] ... D^[1] W^[1] of seed 004, whose W^[l] is our W^(l)T.
        """
        X = self._X(X)
        z, a, h = self._forward(X)
        J = self.g[self.L].jacobian(z[self.L])  # (m, n_L, n_L)
        for l in range(self.L, 0, -1):
            J = J @ self._W[l - 1].T  # (m, n_L, n_{l-1})
            if l > 1:
                J = J * self.g[l - 1].derivative_from(z[l - 1], h[l - 1])[:, None, :]
        return J

    def fit(self, X: Any, Y: Any, **options: Any) -> Any:
        """Train in place; see ``deltaprop.train`` for the options. Returns the History."""
        from .train import train  # a convenience forwarder: the training layer sits above the network

        return train(self, X, Y, **options)

    def save(self, path: Any) -> None:
        """Write the model as safetensors; see ``deltaprop.io.save``."""
        from .io import save  # a convenience forwarder: the model files sit above the network

        save(self, path)


def classes(a: FloatArray) -> np.ndarray:
    """The class of each row of a (m, n_L), as int64 (m,): argmax_j a_j, or a >= 1/2 for one output (n_L = 1).
    The one rule for predictions and for accuracy (targets y give their classes the same way)."""
    return (a[:, 0] >= 0.5).astype(np.int64) if a.shape[1] == 1 else a.argmax(axis=1)
