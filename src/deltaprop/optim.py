r"""Optimisers that update parameter arrays in place (their learning-rate schedules: ``deltaprop.schedules``).

The trainer calls ``optimizer.step(params, grads)`` with ``params = weights + biases`` and
``grads = dW + db`` (same order, shapes and dtype) and ``optimizer.set_epoch(e)`` before epoch e, where e
counts on from ``next_epoch(optimizer)``: an optimiser's schedule continues over training calls.
``OPTIMIZERS`` and ``SCHEDULES`` map names to classes; ``make_optimizer(**opt.config())``
rebuilds an equal optimizer and ``load_state_dict(opt.state_dict())`` resumes it bit for bit.

Notes
-----
With ``weight_decay`` = lambda > 0, each 2-D array (a weight W^(l)) is updated with
g = dW + lambda * W (L2 decay, Adam included); 1-D arrays (biases b^(l)) are never decayed.
The caller's gradient arrays are never modified. After the first step, a step allocates no arrays.
This module is NumPy only; ``deltaprop.engine`` may hand ``SGD.step`` a compiled form of SGD's
rule (``apply=``), tested bit for bit against the ufuncs here.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .schedules import (SCHEDULES, Constant, Cosine, StepDecay, _as_schedule, _integer, _make, _real, make_schedule,
                        next_epoch)

FloatArray = npt.NDArray[np.floating[Any]]

__all__ = ["OPTIMIZERS", "SCHEDULES", "SGD", "Adam", "Constant", "Cosine", "Momentum", "Nesterov", "Optimizer",
           "StepDecay", "make_optimizer", "make_schedule", "next_epoch", "optimizer_from_config"]


class Optimizer(ABC):
    """Base class of the optimisers; subclasses list their hyperparameters and state and define ``_update``.

    Attributes
    ----------
    lr : float
        The base learning rate.
    eta : float
        The rate in use, ``lr * schedule(epoch)``.
    epoch, t : int
        The epoch last given to ``set_epoch`` (0 at first) and the number of steps taken.
    schedule : callable
        epoch -> factor.
    """

    name = "optimizer"
    _hyperparameter_names: tuple[str, ...] = ()
    _state_names: tuple[str, ...] = ()

    def __init__(self, lr: float, *, weight_decay: float, schedule: Any) -> None:
        self.lr = _real("lr", lr, 0.0, strict=True)
        self.weight_decay = _real("weight_decay", weight_decay, 0.0)
        self.schedule = _as_schedule(schedule)
        self.t = 0  # steps taken
        self._scratch: list[FloatArray] | None = None  # allocated on the first step
        self._decayed: list[FloatArray | None] = []  # g + weight_decay * W, for 2-D arrays only
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Set ``eta = lr * schedule(epoch)``, epoch counted from 0; ``lr`` stays the base rate."""
        epoch = _integer("epoch", epoch, 0)
        factor = _real(f"schedule factor at epoch {epoch}", self.schedule(epoch), 0.0)
        self.epoch, self.eta = epoch, self.lr * factor

    def step(self, params: list[FloatArray], grads: list[FloatArray]) -> None:
        """One update of every ``params[i]`` in place; ``grads`` are left untouched.

        Parameters
        ----------
        params : list of ndarrays
            ``weights + biases``: W^(l) of shape (n_{l-1}, n_l), then b^(l) of shape (n_l,).
        grads : list of ndarrays
            ``dW + db``, with the shapes and dtype (float32 or float64) of ``params``.

        Raises
        ------
        ValueError
            On the first call only, if the lengths, shapes or dtypes of params and grads differ.
        """
        self._update(params, self._gradients(params, grads))

    def _gradients(self, params: list[FloatArray], grads: list[FloatArray]) -> list[FloatArray]:
        """All of ``step`` but the update: checks and state (first call), weight decay, ``t += 1``.

        Returns the gradients the update uses: ``grads``, or g + lambda * W for the weights when
        weight_decay > 0 (in arrays of the optimiser).
        """
        if self._scratch is None:
            self._prepare(params, grads)
        if self.weight_decay:
            grads = [g if d is None else np.add(np.multiply(W, self.weight_decay, d), g, d)  # d = g + lambda * W
                     for W, g, d in zip(params, grads, self._decayed)]
        self.t += 1
        return grads

    @abstractmethod
    def _update(self, params: list[FloatArray], grads: list[FloatArray]) -> None:
        """Apply this rule's update to params in place, from the gradients _gradients returned."""

    def _uses_state(self) -> bool:
        return True

    def _prepare(self, params: list[FloatArray], grads: list[FloatArray]) -> None:
        """First step: check lengths, shapes and dtypes once; allocate state and scratch."""
        if len(params) != len(grads):
            raise ValueError(f"params and grads must have the same length, got {len(params)} and {len(grads)}.")
        for i, (W, g) in enumerate(zip(params, grads)):
            if not np.issubdtype(W.dtype, np.floating) or (g.shape, g.dtype) != (W.shape, W.dtype):
                raise ValueError(f"grads[{i}] must match params[{i}] (floating, shape {W.shape}, {W.dtype}), "
                                 f"got shape {g.shape}, {g.dtype}.")
        shapes = [W.shape for W in params]
        for key in self._state_names:
            state = getattr(self, key)
            if state and [a.shape for a in state] != shapes:
                raise ValueError(f"the loaded {key} has shapes {[a.shape for a in state]}; params have {shapes}.")
            if state:  # loaded from a checkpoint
                state[:] = [a.astype(W.dtype, copy=False) for a, W in zip(state, params)]
            elif self._uses_state():
                state[:] = [np.zeros_like(W) for W in params]
        self._decayed = [np.empty_like(W) if W.ndim == 2 else None for W in params]
        self._scratch = [np.empty_like(W) for W in params]

    def _hyperparameters(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self._hyperparameter_names}

    def config(self) -> dict[str, Any]:
        """JSON-serialisable ``name``, hyperparameters and ``schedule`` config, for ``make_optimizer(**config)``.

        TypeError if the schedule is a plain callable without ``config()``.
        """
        if not hasattr(self.schedule, "config"):
            raise TypeError(f"schedule {self.schedule!r} has no config(); use one of {', '.join(SCHEDULES)}.")
        return {"name": self.name, **self._hyperparameters(), "schedule": self.schedule.config()}

    def state_dict(self) -> dict[str, Any]:
        """Name, hyperparameters, ``eta``, ``epoch``, ``t``, and copies of the state arrays (empty before a step)."""
        counters = {"eta": self.eta, "epoch": self.epoch, "t": self.t}
        arrays = {key: [a.copy() for a in getattr(self, key)] for key in self._state_names}
        return {"name": self.name, **self._hyperparameters(), **counters, **arrays}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``state_dict()`` output exactly (arrays copied); nothing changes if it is refused."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict from state_dict(), got {type(state).__name__}.")
        expected = set(self.state_dict())
        if set(state) != expected:
            raise ValueError(f"state must have the keys {sorted(expected)}; missing "
                             f"{sorted(expected - set(state))}, unexpected {sorted(set(state) - expected)}.")
        if state["name"] != self.name:
            raise ValueError(f"state is for optimizer {state['name']!r}; this optimizer is {self.name!r}.")
        fresh = type(self)(**{key: state[key] for key in self._hyperparameter_names})  # validates them
        eta, epoch = _real("eta", state["eta"], 0.0), _integer("epoch", state["epoch"], 0)
        t = _integer("t", state["t"], 0)
        arrays = {key: _state_arrays(key, state[key]) for key in self._state_names}
        shapes = {key: [a.shape for a in value] for key, value in arrays.items() if value}
        if len({tuple(s) for s in shapes.values()}) > 1:
            raise ValueError(f"state arrays must all have the same shapes, got {shapes}.")
        live = None if self._scratch is None else [s.shape for s in self._scratch]
        if live is not None and any(s != live for s in shapes.values()):
            raise ValueError(f"state arrays have shapes {shapes}; this optimizer already updates arrays of shapes "
                             f"{live} (make a new optimizer for other parameters).")
        for key in self._hyperparameter_names:
            setattr(self, key, getattr(fresh, key))
        self.eta, self.epoch, self.t = eta, epoch, t
        self.__dict__.update(arrays)
        self._scratch = None  # the next step checks the loaded arrays against params

    def __repr__(self) -> str:
        options = ", ".join(f"{key}={value!r}" for key, value in self._hyperparameters().items())
        return f"{type(self).__name__}({options}, schedule={self.schedule!r})"


def _state_arrays(key: str, value: Any) -> list[FloatArray]:
    """Copies of a list of floating arrays."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"state {key} must be a list of arrays, got {type(value).__name__}.")
    for i, a in enumerate(value):
        if not isinstance(a, np.ndarray) or not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"state {key}[{i}] must be a floating ndarray, got {getattr(a, 'dtype', type(a))}.")
    return [a.copy() for a in value]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with heavy-ball or Nesterov momentum.

    Parameters
    ----------
    lr : float, default 0.1
        Base learning rate, > 0; epoch e uses ``eta = lr * schedule(e)``.
    momentum : float, default 0.0
        mu in [0, 1); 0 is seed 002's plain rule.
    nesterov : bool, default False
        Nesterov momentum instead of heavy ball (needs momentum > 0).
    weight_decay : float, default 0.0
        L2 coefficient lambda >= 0, for 2-D arrays (weights) only.
    schedule : None, str, dict or callable, default None
        Per-epoch factor: None is ``Constant()``; a name or config dict goes to ``make_schedule``.

    Raises
    ------
    ValueError, TypeError
        For a value out of range or of the wrong kind; for nesterov=True with momentum 0.

    Notes
    -----
    With g = dW (+ lambda * W for weights) and ``velocity`` v = 0 before the first step:

    - plain (mu = 0): W <- W - eta * g
    - heavy ball:     v <- mu * v - eta * g;  W <- W + v
    - Nesterov:       v <- mu * v - eta * g;  W <- W - eta * g + mu * v  (the new v)

    Nesterov uses the gradient at the current W, as PyTorch and scikit-learn do: it is
    Sutskever's look-ahead rule theta <- theta + v, v <- mu * v - eta * grad(theta + mu * v),
    followed in the variable W = theta + mu * v.

    Examples
    --------
    >>> W, dW = np.array([[1.0, 2.0]]), np.array([[0.5, -1.0]])
    >>> SGD(0.1).step([W], [dW])
    >>> W
    array([[0.95, 2.1 ]])
    """

    name = "sgd"
    _hyperparameter_names: tuple[str, ...] = ("lr", "momentum", "nesterov", "weight_decay")
    _state_names = ("velocity",)

    def __init__(self, lr: float = 0.1, *, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, schedule: Any = None) -> None:
        self.momentum = _real("momentum", momentum, 0.0, below_one=True)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}.")
        if nesterov and not self.momentum:
            raise ValueError(f"nesterov=True needs momentum > 0, got momentum={momentum}.")
        self.nesterov = bool(nesterov)
        self.velocity: list[FloatArray] = []
        super().__init__(lr, weight_decay=weight_decay, schedule=schedule)

    def _uses_state(self) -> bool:
        return self.momentum > 0

    @property
    def rule(self) -> str | None:
        """The name "sgd" while ``step`` is exactly SGD's rule (None for a subclass that changes it): the engine may
        then pass ``step`` a compiled form of the rule (``apply``)."""
        same = type(self).step is SGD.step and type(self)._update is SGD._update
        return "sgd" if same else None

    def step(self, params: list[FloatArray], grads: list[FloatArray], *,
             apply: Callable[..., None] | None = None) -> None:
        """One update of every ``params[i]`` in place; ``grads`` are left untouched (see ``Optimizer.step``).

        Parameters
        ----------
        params, grads : lists of ndarrays
            As for ``Optimizer.step``.
        apply : callable, optional, keyword-only
            ``apply(params, g, v, eta, mu, nesterov)`` applies the rule of the class notes in place, with g
            the gradients (weight decay added), v the velocities (``params`` itself when mu = 0), eta, mu
            as Python floats. Default: the NumPy ufuncs of ``_update``. ``deltaprop.engine`` passes a
            compiled form, tested bit for bit against them.
        """
        g = self._gradients(params, grads)
        if apply is None:
            self._update(params, g)
        else:
            apply(params, g, self.velocity if self.momentum else params, self.eta, self.momentum, self.nesterov)

    def _update(self, params: list[FloatArray], grads: list[FloatArray]) -> None:
        eta, mu, scratch = self.eta, self.momentum, self._scratch
        assert scratch is not None
        # The third argument of each ufunc is its out= array (passed by position: less overhead).
        if not mu:
            for W, g, s in zip(params, grads, scratch):
                np.subtract(W, np.multiply(g, eta, s), W)  # W = W - eta * g
            return
        for W, g, v, s in zip(params, grads, self.velocity, scratch):
            np.multiply(g, eta, s)  # s = eta * g
            np.subtract(np.multiply(v, mu, v), s, v)  # v = mu * v - eta * g
            if self.nesterov:
                np.add(np.subtract(W, s, W), np.multiply(v, mu, s), W)  # W = W - eta * g + mu * v
            else:
                np.add(W, v, W)  # W = W + v


class Momentum(SGD):
    """``SGD`` with heavy-ball momentum, mu = 0.9 by default (the rule is in ``SGD``)."""

    name = "momentum"
    _hyperparameter_names = ("lr", "momentum", "weight_decay")

    def __init__(self, lr: float = 0.1, *, momentum: float = 0.9, weight_decay: float = 0.0,
                 schedule: Any = None) -> None:
        super().__init__(lr, momentum=momentum, weight_decay=weight_decay, schedule=schedule)


class Nesterov(SGD):
    """``SGD`` with Nesterov momentum, mu = 0.9 by default (the rule is in ``SGD``)."""

    name = "nesterov"
    _hyperparameter_names = ("lr", "momentum", "weight_decay")

    def __init__(self, lr: float = 0.1, *, momentum: float = 0.9, weight_decay: float = 0.0,
                 schedule: Any = None) -> None:
        super().__init__(lr, momentum=momentum, nesterov=True, weight_decay=weight_decay, schedule=schedule)


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015) with bias correction.

    Parameters
    ----------
    lr : float, default 1e-3
        Base learning rate, > 0.
    beta1, beta2 : float, default 0.9, 0.999
        Decay rates of the first and second moment estimates, in [0, 1).
    eps : float, default 1e-8
        Added to the root of the corrected second moment, > 0.
    weight_decay : float, default 0.0
        L2 coefficient lambda >= 0 added to the gradient of 2-D arrays (coupled, not AdamW).
    schedule : None, str, dict or callable, default None
        As for ``SGD``.

    Raises
    ------
    ValueError, TypeError
        For a value out of range or of the wrong kind.

    Notes
    -----
    With g = dW (+ lambda * W), ``m`` = ``v`` = 0 before the first step and t = 1, 2, ...:

    - m <- beta1 * m + (1 - beta1) * g
    - v <- beta2 * v + (1 - beta2) * g * g
    - W <- W - (eta / (1 - beta1^t)) * (m / (sqrt(v) / sqrt(1 - beta2^t) + eps))

    that is W - eta * m_hat / (sqrt(v_hat) + eps). At t = 1, m_hat = g and v_hat = g * g, so
    each weight moves by ``eta * g / (|g| + eps)``, about eta * sign(g).

    Examples
    --------
    >>> W = np.array([[1.0, 2.0]])
    >>> Adam(0.1).step([W], [np.array([[0.5, -1.0]])])
    >>> W.round(6)
    array([[0.9, 2.1]])
    """

    name = "adam"
    _hyperparameter_names = ("lr", "beta1", "beta2", "eps", "weight_decay")
    _state_names = ("m", "v")

    def __init__(self, lr: float = 1e-3, *, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, schedule: Any = None) -> None:
        self.beta1 = _real("beta1", beta1, 0.0, below_one=True)
        self.beta2 = _real("beta2", beta2, 0.0, below_one=True)
        self.eps = _real("eps", eps, 0.0, strict=True)
        self.m: list[FloatArray] = []
        self.v: list[FloatArray] = []
        super().__init__(lr, weight_decay=weight_decay, schedule=schedule)

    def _update(self, params: list[FloatArray], grads: list[FloatArray]) -> None:
        beta1, beta2, eps, scratch = self.beta1, self.beta2, self.eps, self._scratch
        assert scratch is not None
        step_size = self.eta / (1.0 - beta1**self.t)
        root_correction = math.sqrt(1.0 - beta2**self.t)
        for W, g, m, v, s in zip(params, grads, self.m, self.v, scratch):
            # The third argument of each ufunc is its out= array (passed by position: less overhead).
            np.add(np.multiply(m, beta1, m), np.multiply(g, 1.0 - beta1, s), m)  # m = beta1 * m + (1 - beta1) * g
            np.multiply(np.multiply(g, 1.0 - beta2, s), g, s)  # s = (1 - beta2) * g * g
            np.add(np.multiply(v, beta2, v), s, v)  # v = beta2 * v + s
            np.add(np.divide(np.sqrt(v, s), root_correction, s), eps, s)  # s = sqrt(v) / root_correction + eps
            np.subtract(W, np.multiply(np.divide(m, s, s), step_size, s), W)  # W = W - step_size * (m / s)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam}


def make_optimizer(name: str, **options: Any) -> Optimizer:
    """``OPTIMIZERS[name](**options)``; ValueError listing the known names for an unknown one.

    Examples
    --------
    >>> make_optimizer("momentum", lr=0.05, schedule={"name": "cosine", "total_epochs": 10})
    Momentum(lr=0.05, momentum=0.9, weight_decay=0.0, schedule=Cosine(total_epochs=10, min_factor=0.0))
    """
    return _make("optimizer", OPTIMIZERS, name, options)  # type: ignore[no-any-return]


def optimizer_from_config(config: Mapping[str, Any]) -> Optimizer:
    """The optimizer described by ``optimizer.config()``; the dict is not modified."""
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict from optimizer.config(), got {type(config).__name__}.")
    return make_optimizer(**{"name": None, **config})

