r"""Per-epoch learning-rate schedules, and the option checks the optimisers share.

A schedule is a callable epoch -> factor on the base rate lr (epoch an int >= 0). ``SCHEDULES`` maps
names to classes and ``make_schedule(**schedule.config())`` rebuilds an equal schedule. An optimiser
goes on along its schedule over training calls: each call starts at ``next_epoch(optimizer)``.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._checks import as_float


def _real(name: str, value: Any, low: float, *, strict: bool = False, below_one: bool = False) -> float:
    """A finite real number >= low (> low when strict), and < 1 when below_one."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}.")
    x = as_float(value, name)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value}.")
    if (x <= low if strict else x < low) or (below_one and x >= 1):
        bound = f"in [{low:g}, 1)" if below_one else f"{'>' if strict else '>='} {low:g}"
        raise ValueError(f"{name} must be {bound}, got {value}.")
    return x


def _integer(name: str, value: Any, low: int) -> int:
    """An integer >= low."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}.")
    return int(value)


def _make(family: str, registry: Mapping[str, type], name: Any, options: dict[str, Any]) -> Any:
    """registry[name](**options); errors list the known names, or the options of that class."""
    if not isinstance(name, str) or name not in registry:
        raise ValueError(f"unknown {family} {name!r}; known names: {', '.join(registry)}.")
    parameters = inspect.signature(registry[name]).parameters
    accepted = list(parameters)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(f"{family} {name!r} has no option {', '.join(unknown)}; "
                        f"its options are {', '.join(accepted)}.")
    missing = [k for k, p in parameters.items() if p.default is p.empty and k not in options]
    if missing:
        raise TypeError(f"{family} {name!r} needs the option {', '.join(missing)}; give it as a config dict, "
                        f"e.g. {{'name': {name!r}, {missing[0]!r}: ...}}.")
    return registry[name](**options)


class _Schedule:
    """Base of the schedules: ``schedule(epoch)``, epoch an int >= 0, is the factor on the base rate lr."""

    name = "schedule"

    def config(self) -> dict[str, Any]:
        """``{"name": ..., **options}``, JSON-serialisable, for ``make_schedule(**config)``."""
        return {"name": self.name, **vars(self)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class Constant(_Schedule):
    """Factor 1 at every epoch."""

    name = "constant"

    def __call__(self, epoch: int) -> float:
        _integer("epoch", epoch, 0)
        return 1.0


class StepDecay(_Schedule):
    """Factor gamma ** (epoch // step_size).

    Parameters
    ----------
    step_size : int
        Epochs between decays, > 0.
    gamma : float, default 0.1
        Factor of each decay, in (0, 1].

    Examples
    --------
    >>> [StepDecay(2, gamma=0.5)(epoch) for epoch in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    name = "step"

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        if not 0 < _real("gamma", gamma, -math.inf) <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}.")
        self.step_size, self.gamma = _integer("step_size", step_size, 1), float(gamma)

    def __call__(self, epoch: int) -> float:
        return float(self.gamma ** (_integer("epoch", epoch, 0) // self.step_size))


class Cosine(_Schedule):
    """Factor min_factor + (1 - min_factor) * (1 + cos(pi * epoch / T)) / 2, then min_factor after epoch T.

    Parameters
    ----------
    total_epochs : int
        T > 0, the epoch at which the factor reaches ``min_factor``.
    min_factor : float, default 0.0
        The final factor, in [0, 1).

    Examples
    --------
    >>> [round(Cosine(4, min_factor=0.2)(epoch), 6) for epoch in (0, 2, 4, 9)]
    [1.0, 0.6, 0.2, 0.2]
    """

    name = "cosine"

    def __init__(self, total_epochs: int, min_factor: float = 0.0) -> None:
        min_factor = _real("min_factor", min_factor, 0.0, below_one=True)
        self.total_epochs, self.min_factor = _integer("total_epochs", total_epochs, 1), min_factor

    def __call__(self, epoch: int) -> float:
        fraction = min(_integer("epoch", epoch, 0), self.total_epochs) / self.total_epochs
        return self.min_factor + (1.0 - self.min_factor) * (1.0 + math.cos(math.pi * fraction)) / 2.0


SCHEDULES: dict[str, type[_Schedule]] = {"constant": Constant, "step": StepDecay, "cosine": Cosine}


def make_schedule(name: str, **options: Any) -> Callable[[int], float]:
    """``SCHEDULES[name](**options)``; ValueError listing the known names for an unknown one.

    Examples
    --------
    >>> make_schedule("step", step_size=10)
    StepDecay(step_size=10, gamma=0.1)
    """
    return _make("schedule", SCHEDULES, name, options)  # type: ignore[no-any-return]


def _as_schedule(schedule: Any) -> Callable[[int], float]:
    """None (constant), a registry name, a config dict, or any callable epoch -> factor."""
    if schedule is None or isinstance(schedule, str):
        return make_schedule("constant" if schedule is None else schedule)
    if isinstance(schedule, Mapping):
        return make_schedule(**{"name": None, **schedule})
    if not callable(schedule):
        raise TypeError(f"schedule must be None, a name, a config dict or a callable, got {schedule!r}.")
    return schedule  # type: ignore[no-any-return]


def next_epoch(optimizer: Any) -> int:
    """The schedule's epoch at which a new training call with ``optimizer`` starts.

    0 before the optimiser's first step; after it, the epoch after the last one given to
    ``set_epoch``. Repeated ``train`` calls with one optimiser object (and ``partial_fit``)
    therefore continue its schedule instead of restarting it. An object without ``t`` starts at 0.

    Examples
    --------
    >>> from deltaprop.optim import SGD
    >>> opt = SGD(schedule={"name": "step", "step_size": 1, "gamma": 0.5})
    >>> next_epoch(opt)
    0
    >>> opt.set_epoch(3); opt.t = 40  # as after a call of 4 epochs that took 40 steps
    >>> next_epoch(opt)
    4
    """
    return int(getattr(optimizer, "epoch", -1)) + 1 if getattr(optimizer, "t", 0) else 0
