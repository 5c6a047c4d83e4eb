r"""User activations and costs, registered by name and checked against finite differences on arrival.

Usage::

    import numpy as np
    import deltaprop as dp

    dp.register_activation("softsign", lambda z: z / (1 + np.abs(z)), lambda z: 1 / (1 + np.abs(z)) ** 2)
    net = dp.Network([4, 8, 3], ["softsign", "softmax"], "cross_entropy")

After registration the name works wherever a built-in name does: ``Network``, the command line's
``--activation`` and ``--cost`` choices, and model files, which store the name (loading such a
file in a new process needs the same registration first). The check (``verify_activation``,
``verify_cost``; see ``deltaprop._verify``) compares the supplied derivative with central
differences of the supplied value and refuses a wrong one, as seeds 002 and 003 would have
needed. A refused registration changes nothing; built-ins are replaced only with ``replace=True``.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable

from ._verify import verify_activation, verify_cost
from .activations import ACTIVATIONS, Activation
from .activations_extra import FunctionActivation
from .costs import COSTS, Cost, FunctionCost

__all__ = ["register_activation", "register_cost", "unregister_activation", "unregister_cost",
           "verify_activation", "verify_cost"]

_BUILTIN_ACTIVATIONS = dict(ACTIVATIONS)
_BUILTIN_COSTS = dict(COSTS)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


# ----- registration ------------------------------------------------------------------------------
def _check_name(name: Any, registry: dict[str, Any], builtins: dict[str, Any], family: str, replace: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"the {family} name must be a str, got {type(name).__name__}")
    if not _NAME.match(name):
        raise ValueError(f"the {family} name must start with a letter or _ and hold only letters, digits, "
                         f"_, . and -, got {name!r}")
    if not isinstance(replace, bool):
        raise TypeError(f"replace must be True or False, got {replace!r}")
    if name in registry and not replace:
        kind = "a built-in" if registry[name] is builtins.get(name) else "an already registered"
        raise ValueError(f"{name!r} is {kind} {family}; pass replace=True to replace it")
    return name


def _flag(value: Any, what: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{what} must be True, False or None, got {value!r}")
    return value


class _Prototype:
    """The registry entry of a registered instance: calling it gives a fresh deep copy."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __call__(self) -> Any:
        return copy.deepcopy(self._obj)

    def __getattr__(self, attr: str) -> Any:  # elementwise, probability, ... as a class would answer
        if attr == "_obj":
            raise AttributeError(attr)
        return getattr(self._obj, attr)


def _factory(name: str, base: type[Any], fn: Any, derivative: Any, wrapper: type[Any], fields: tuple[str, str],
             flags: dict[str, bool | None]) -> Callable[[], Any]:
    """The registry entry for a class, an instance, or a pair of functions; TypeError for anything else."""
    if isinstance(fn, type) and issubclass(fn, base) or isinstance(fn, base):
        if derivative is not None or any(v is not None for v in flags.values()):
            raise TypeError(f"when {fields[0]} is a class or instance of {base.__name__}, pass no {fields[1]} "
                            f"and no {'/'.join(flags)}: they belong to the object")
        if isinstance(fn, base):
            obj: Any = copy.deepcopy(fn)
            obj.name = name
            return _Prototype(obj)
        cls: Any = fn
        try:
            cls()
        except TypeError as exc:
            raise TypeError(f"{cls.__name__}() must take no arguments to be registered ({exc}); "
                            f"register an instance instead") from None
        return cls if cls.name == name else type(cls.__name__, (cls,), {"name": name, "__module__": cls.__module__})
    if not callable(fn):
        raise TypeError(f"{fields[0]} must be a function, or a subclass or instance of {base.__name__}; "
                        f"got {type(fn).__name__}")
    if not callable(derivative):
        raise TypeError(f"{fields[1]} must be a function of the same arguments as {fields[0]}, "
                        f"got {type(derivative).__name__}")
    attrs: dict[str, Any] = {"name": name, fields[0] + "_fn": staticmethod(fn),
                             fields[1] + "_fn": staticmethod(derivative)}
    attrs.update({k: bool(v) for k, v in flags.items()})
    return type(f"{wrapper.__name__}_{name}", (wrapper,), attrs)


def register_activation(name: str, value: Any, derivative: Any = None, *, check: bool = True,
                        replace: bool = False, probability: bool | None = None, positive: bool | None = None,
                        he_init: bool | None = None) -> None:
    r"""Add an activation g under ``name``, after checking its derivative against finite differences.

    Parameters
    ----------
    name : str
        The name to use in ``Network``, on the command line and in model files.
    value : callable, Activation subclass or Activation instance
        ``value(z) -> g(z)``: z of shape (m, n_l) in, the same shape out, elementwise. Or an
        Activation (class or object) that carries its own ``value`` and ``derivative``.
    derivative : callable
        ``derivative(z) -> g'(z)``, same shape as z (only with a function ``value``).
    check : bool, keyword-only
        Verify value and derivative first (how: ``deltaprop._verify``); False skips it, for a
        function whose kinks you accept.
    replace : bool, keyword-only
        Allow replacing an existing name (a built-in is never replaced silently).
    probability, positive, he_init : bool, keyword-only
        For functions: outputs lie in [0, 1] (so a cross-entropy may follow); outputs are > 0
        (so the Poisson deviance may follow); use He's initialisation (the ReLU family).
        probability and positive are checked on the same points as the derivative.

    Raises
    ------
    ValueError
        A wrong derivative (showing where, the expected and the given value), a function that
        raises, returns the wrong shape or NaN, a bad name, or a name that is taken. The
        registry is unchanged.
    TypeError
        Something that is not callable, or not an Activation.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> dp.register_activation("softsign", lambda z: z / (1 + np.abs(z)), lambda z: 1 / (1 + np.abs(z)) ** 2)
    >>> dp.Network([2, 3, 1], ["softsign", "identity"], "quadratic").activations
    ('softsign', 'identity')
    >>> dp.register_activation("my_relu", lambda z: np.maximum(z, 0), lambda z: np.maximum(z, 0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the derivative of activation 'my_relu' disagrees ... at z = 2 it should be 1 and was 2; ...
    >>> dp.unregister_activation("softsign")
    """
    _check_name(name, ACTIVATIONS, _BUILTIN_ACTIVATIONS, "activation", replace)
    flags = {"probability": _flag(probability, "probability"), "positive": _flag(positive, "positive"),
             "he_init": _flag(he_init, "he_init")}
    factory = _factory(name, Activation, value, derivative, FunctionActivation, ("value", "derivative"), flags)
    if not isinstance(check, bool):
        raise TypeError(f"check must be True or False, got {check!r}")
    if check:
        verify_activation(factory())
    ACTIVATIONS[name] = factory


def register_cost(name: str, value: Any, grad_a: Any = None, *, check: bool = True, replace: bool = False,
                  probability: bool | None = None, positive: bool | None = None) -> None:
    r"""Add a cost c(a, y) under ``name``, after checking ``grad_a`` against finite differences.

    Parameters
    ----------
    name : str
    value : callable, Cost subclass or Cost instance
        ``value(a, y) -> c``: a and y of shape (m, n_L) in, the cost of each sample, shape (m,),
        out (the network takes the mean). Or a Cost (class or object).
    grad_a : callable
        ``grad_a(a, y) -> dc/da``, shape (m, n_L) (only with a function ``value``).
    check, replace : bool, keyword-only
        As in ``register_activation``.
    probability : bool, keyword-only
        a must lie in [0, 1] (the network then needs a sigmoid-like or softmax output); the
        check uses probabilities a and rows of y summing to 1.
    positive : bool, keyword-only
        a must be > 0; the check uses a > 0 and y >= 0.

    Raises
    ------
    ValueError, TypeError
        As ``register_activation``; the registry is unchanged.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> dp.register_cost("log_cosh", lambda a, y: np.log(np.cosh(a - y)).sum(axis=1), lambda a, y: np.tanh(a - y))
    >>> dp.Network([2, 1], ["identity"], "log_cosh").cost_name
    'log_cosh'
    >>> dp.unregister_cost("log_cosh")
    """
    _check_name(name, COSTS, _BUILTIN_COSTS, "cost", replace)
    flags = {"probability": _flag(probability, "probability"), "positive": _flag(positive, "positive")}
    factory = _factory(name, Cost, value, grad_a, FunctionCost, ("value", "grad_a"), flags)
    if not isinstance(check, bool):
        raise TypeError(f"check must be True or False, got {check!r}")
    if check:
        verify_cost(factory())
    COSTS[name] = factory


def _unregister(name: Any, registry: dict[str, Any], builtins: dict[str, Any], family: str) -> None:
    if name not in registry:
        raise ValueError(f"no {family} named {name!r} is registered")
    if name in builtins:
        if registry[name] is builtins[name]:
            raise ValueError(f"{name!r} is a built-in {family} and cannot be unregistered")
        registry[name] = builtins[name]  # the built-in comes back
    else:
        del registry[name]


def unregister_activation(name: str) -> None:
    """Remove a registered activation (a replaced built-in gets its original back); networks built keep theirs."""
    _unregister(name, ACTIVATIONS, _BUILTIN_ACTIVATIONS, "activation")


def unregister_cost(name: str) -> None:
    """Remove a registered cost (a replaced built-in gets its original back)."""
    _unregister(name, COSTS, _BUILTIN_COSTS, "cost")
