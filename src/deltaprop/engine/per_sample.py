r"""Compiled training loops (numba, from the optional extra ``fast``) that skip exact zeros.

Two places lose most of their time in NumPy: the first layer of an image network, whose inputs are
mostly 0 (about 81 % of MNIST's pixels), and per-sample SGD, where every step is a few small
vector operations. Both are written as loops (in ``engine._loops``) and compiled by numba on
first use:

- ``engine.sparse.SparseKernel``, the mini-batch kernel that ``train`` picks for mostly-zero
  inputs: its first layer sums over the nonzero inputs only (see that module).
- here, ``sgd_steps(net, X, Y, steps, eta, rng)``: seed 002's rule W^(l) <- W^(l) - eta a^(l-1)T delta^(l),
  b^(l) <- b^(l) - eta delta^(l), one drawn sample per step. ``train(..., batch_size=1)`` with
  plain SGD runs the same loop (``SampleLoop``). Rows j with a_j^(l-1) = 0 (zero pixels, inactive
  ReLUs) are skipped in the forward pass and in the update, where their change is exactly 0.

numba is imported only when one of these runs. Without it ``available()`` is False, ``train``
keeps to NumPy, and ``sgd_steps`` takes the same steps through NumPy (much slower, same rule).

Examples
--------
>>> from deltaprop import Network
>>> from deltaprop.datasets import higham_points
>>> X, Y = higham_points()
>>> net = Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64", seed=1, init=0.5)
>>> before = net.cost(X, Y)
>>> mean_cost = sgd_steps(net, X, Y, 20_000, 0.05, np.random.default_rng(0))
>>> bool(net.cost(X, Y) < before)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _checks
from ..network import Network
from . import support
from .dense import DenseKernel
from .reference import BatchKernel, DivergenceError, all_finite


def sample_loop_supports(net: Network) -> bool:
    """True when the compiled per-sample loop knows every layer of ``net`` (and numba is installed)."""
    return not any(net.dropout) and support.supports(net) and support.available()


class SampleLoop:
    """Per-sample plain SGD on ``net``'s live arrays, compiled; ``run`` takes the steps of an index list."""

    def __init__(self, net: Network) -> None:
        n, L, dt = net.sizes, net.L, net.dtype
        self.net, self.loops = net, support.loops()
        self.Ws, self.bs = tuple(net.weights), tuple(net.biases)
        self.acts = np.array([support.hidden_code(net, l) for l in range(1, L)], np.int64)
        self.out = support.output_code(net)
        self.off = np.concatenate([[0, 0], np.cumsum(n[1:])]).astype(np.int64)  # a^(l) is A[off[l]:off[l+1]]
        self.A = np.empty(self.off[-1], dt)
        self.D = np.empty(self.off[-1], dt)
        self.zL = np.empty(n[L], dt)
        self.cols = np.empty(n[0], np.int32)
        self.vals = np.empty(n[0], dt)

    def run(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, eta: float) -> tuple[float, int, int]:
        """Steps on rows order[0], order[1], ...; returns (sum of c, number correct, steps done).

        Fewer steps than len(order) are done when a cost or delta^(L) is not finite; the weights
        then hold the update of the last finite step.
        """
        c, k, done = self.loops.sgd_run(X, Y, order, self.Ws, self.bs, self.acts, self.out,
                                        self.net.dtype.type(eta), self.off, self.A, self.D, self.zL,
                                        self.cols, self.vals)
        return float(c), int(k), int(done)


def sgd_steps(net: Network, X: Any, Y: Any, steps: int, eta: float, rng: Any = None, *,
              replacement: bool = True) -> float:
    r"""Take ``steps`` single-sample SGD steps on ``net`` in place; return the mean cost c of the steps.

    Each step draws a row x of X (with replacement by default, as Higham & Higham do; shuffled
    passes with ``replacement=False``) and applies W^(l) <- W^(l) - eta a^(l-1)T delta^(l),
    b^(l) <- b^(l) - eta delta^(l) for l = 1..L, all from the weights before the step.

    Parameters
    ----------
    net : Network
    X : array of shape (m, n_0)
    Y : array of shape (m, n_L), or class labels of shape (m,) for classifiers
    steps : int
        The number of steps, >= 1.
    eta : float
        The learning rate, > 0.
    rng : numpy.random.Generator, int or None
        Draws the rows (an int seeds a new generator).
    replacement : bool, keyword-only

    Returns
    -------
    float
        The mean over the steps of c(x), each taken before its step's update.

    Raises
    ------
    deltaprop.DivergenceError
        When a cost, delta^(L) or weight becomes NaN or Inf; ``net`` then holds its weights
        before the call.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a deltaprop.Network, got {type(net).__name__}")
    Xv = net._X(X)
    Yv = net._Y(Y, Xv.shape[0])
    steps = _checks.positive_int(steps, "steps")
    real = not isinstance(eta, bool) and isinstance(eta, (int, float, np.floating))
    if not real or not 0 < _checks.as_float(eta, "eta") < float("inf"):
        raise ValueError(f"eta must be a positive finite number, got {eta!r}")
    if not isinstance(replacement, bool):
        raise TypeError(f"replacement must be True or False, got {replacement!r}")
    if rng is None or isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        rng = np.random.default_rng(rng)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")
    m = Xv.shape[0]
    if replacement:
        order = rng.integers(0, m, steps)
    else:
        order = np.concatenate([rng.permutation(m) for _ in range(-(-steps // m))])[:steps]
    params = net.weights + net.biases
    start = [p.copy() for p in params]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked below instead
        if sample_loop_supports(net):
            c, _, done = SampleLoop(net).run(Xv, Yv, order, float(eta))
        else:
            c, done = _numpy_steps(net, Xv, Yv, order, float(eta))
    if done < steps or not all_finite(params):
        for p, keep in zip(params, start):
            p[...] = keep
        where = f"at step {done + 1}" if done < steps else "in its last steps (a weight overflowed)"
        raise DivergenceError(f"sgd_steps diverged {where}: the cost, delta^(L) or a weight became NaN or Inf "
                              f"(likely cause: eta = {eta:g} too high); the weights before the call were restored")
    return c / steps


def _numpy_steps(net: Network, X: np.ndarray, Y: np.ndarray, order: np.ndarray, eta: float) -> tuple[float, int]:
    """The same steps through NumPy (any activation and cost): returns (sum of c, steps done)."""
    kernel = DenseKernel(net, 1) if DenseKernel.supports(net) else BatchKernel(net, 1)
    params, grads = net.weights + net.biases, kernel.dW + kernel.db
    eta_t = net.dtype.type(eta)
    total = 0.0
    for s, r in enumerate(order):
        c, _ = kernel.gradients(X[r:r + 1], Y[r:r + 1])
        if not (np.isfinite(c) and all(np.isfinite(g).all() for g in grads)):
            return total, s
        total += c
        for p, g in zip(params, grads):
            p -= eta_t * g
    return total, len(order)
