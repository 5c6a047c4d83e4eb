r"""The check behind ``deltaprop.register_activation`` and ``register_cost``: derivatives against finite differences.

Seed 002 gives ReLU the derivative max(0, z) and seed 003 gives the sigmoid
sigma'(z)(1 - sigma(z)): derivatives that are simply wrong, and backpropagation trusts them.
So a supplied derivative is compared with central differences of the supplied value,
(g(z + h) - g(z - h)) / 2h with h = 1e-5 max(1, |z|), at z = +-2, +-0.5, +-1, +-0.1, +-1e-3,
+-5, +-30 and +-1e3 in float64, and refused where |given - central| > 1e-7 + 1e-5 |central|.
A point where the one-sided differences from the left and from the right disagree (a kink, like
ReLU's at 0) is skipped, so a correct derivative of a kinked function passes. Costs are checked
the same way, unit by unit, at (a, y) pairs: probabilities in (0, 1) with rows of y summing to 1
when the cost declares ``probability``, a > 0 with counts y >= 0 when it declares ``positive``,
and reals of both signs otherwise. A function that raises, returns the wrong shape or a NaN,
changes its input in place, or mixes rows (or, for an activation, units) is refused too, in
float64 and float32 alike. ``verify_activation`` and ``verify_cost`` (public through
``deltaprop.registry``) raise ValueError naming the function, the input and the disagreement.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .activations import Activation
from .costs import Cost

# z at which activations are checked, everyday values first: an error message shows the first few.
_Z = np.array([2.0, -2.0, 0.5, -0.5, 1.0, -1.0, 0.1, -0.1, 1e-3, -1e-3, 5.0, -5.0, 30.0, -30.0, 1e3, -1e3])
# (a, y) pairs at which costs are checked, rows of shape (m, n_L) = (6, 3); no a_j - y_j is 0 or +-1.
_PAIRS = {
    "real": (np.array([[2.0, -2.0, 0.5], [-0.5, 1.0, -1.0], [0.1, -0.1, 5.0],
                       [-5.0, 30.0, -30.0], [1e3, -1e3, 0.3], [1.7, -0.8, 3.0]]),
             np.array([[0.5, 0.25, -1.0], [0.25, 2.5, 0.5], [0.7, 1.5, -3.0],
                       [2.0, 31.5, -28.0], [990.0, -995.0, 0.0], [0.0, 0.0, 1.5]])),
    "probability": (np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05], [0.01, 0.98, 0.4],
                              [0.6, 0.7, 0.1], [0.33, 0.33, 0.34], [0.5, 0.25, 0.999]]),
                    np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0],
                              [0.2, 0.3, 0.5], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])),
    "positive": (np.array([[0.05, 1.5, 3.0], [0.5, 7.0, 30.0], [2.0, 0.2, 1e3],
                           [1.5, 4.0, 0.01], [0.3, 2.5, 12.0], [9.0, 0.7, 0.1]]),
                 np.array([[0.0, 1.0, 2.0], [1.0, 5.0, 28.0], [3.0, 0.0, 990.0],
                           [0.0, 2.0, 1.0], [1.0, 0.0, 15.0], [7.0, 3.0, 0.0]])),
}

for _array in (_Z, *(x for pair in _PAIRS.values() for x in pair)):
    _array.setflags(write=False)


def _fmt(x: Any) -> str:
    """A number as 2 or 0.104994, a row as [2, -2, 0.5]."""
    if np.ndim(x):
        return "[" + ", ".join(f"{float(v):.6g}" for v in np.ravel(x)) + "]"
    return f"{float(x):.6g}"


Labels = Callable[[int], str]


def _points(Z: np.ndarray) -> tuple[Sequence[tuple[np.ndarray, ...]], Labels]:
    """Single-point inputs (1, 1) of an activation's check array, and the label of a flat index."""
    return [(np.array([[z]]),) for z in Z.flat], lambda i: f"z = {_fmt(Z.flat[i])}"


def _at(label: Labels, i: int) -> Labels:
    """The label of point i, whatever index it is asked for (for a call on point i alone)."""
    return lambda _: label(i)


def _unit(label: Labels, letter: str, j: int) -> Labels:
    """The label of a row, with the unit j (or k) named."""
    return lambda i: f"{label(i)} (unit {letter} = {j})"


def _run(fn: Callable[..., Any], args: tuple[np.ndarray, ...], shape: tuple[int, ...], what: str,
         singles: Sequence[tuple[np.ndarray, ...]], label: Labels, out_label: Labels | None = None) -> np.ndarray:
    """fn(*args) as a float64 array of ``shape``, or a ValueError naming the input that failed.

    ``singles[i]`` is the i-th check point alone and ``label(i)`` its description: used to find
    which point made fn raise. ``out_label(i)`` describes flat index i of the output (NaN).
    """
    given = [x.copy() for x in args]  # the function gets copies: an in-place change cannot reach our points
    try:
        with np.errstate(all="ignore"):
            out = fn(*given)
    except Exception as exc:
        where = f"for inputs of shape {args[0].shape}"
        for i, sub in enumerate(singles):
            try:
                with np.errstate(all="ignore"):
                    fn(*[x.copy() for x in sub])
            except Exception:
                where = f"at {label(i)}"
                break
        raise ValueError(f"{what} raised {type(exc).__name__} ({exc}) {where}") from None
    if any(not np.array_equal(x, b, equal_nan=True) for x, b in zip(given, args)):
        raise ValueError(f"{what} changed its input in place; it must return a new array")
    try:
        out = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must return a numeric array, got {type(out).__name__}") from None
    if out.shape != shape:
        raise ValueError(f"{what} must return an array of shape {shape} for inputs of shape "
                         f"{args[0].shape}, got shape {out.shape}")
    if np.isnan(out).any():
        raise ValueError(f"{what} returned NaN at {(out_label or label)(int(np.flatnonzero(np.isnan(out))[0]))}")
    return out


def _same(alone: np.ndarray, batch: np.ndarray, message: Labels) -> None:
    """Refuse a function whose result for one sample alone differs from its result within a batch."""
    differ = ~np.isclose(alone, batch, rtol=1e-9, atol=1e-12, equal_nan=True)
    if differ.any():
        raise ValueError(message(int(np.flatnonzero(differ)[0])))


def _compare(given: np.ndarray, v0: np.ndarray, vp: np.ndarray, vm: np.ndarray, h: np.ndarray,
             what: str, label: Callable[[int], str]) -> None:
    """Refuse ``given`` where it disagrees with the central difference (vp - vm) / 2h, kinks skipped."""
    with np.errstate(all="ignore"):
        central, fwd, bwd = (vp - vm) / (2 * h), (vp - v0) / h, (v0 - vm) / h
    smooth = np.isfinite(v0) & np.isfinite(vp) & np.isfinite(vm)
    smooth &= np.abs(fwd - bwd) <= 1e-3 * (1 + np.abs(central))  # left and right agree: no kink here
    if smooth.sum() * 2 < smooth.size:
        raise ValueError(f"{what}: the value has kinks or jumps at {smooth.size - smooth.sum()} of {smooth.size} "
                         f"check points, too many to check it; pass check=False to register it unchecked")
    bad = np.flatnonzero(smooth & ~(np.abs(given - central) <= 1e-7 + 1e-5 * np.abs(central)))
    if bad.size:
        shown = "; ".join(f"at {label(int(i))} it should be {_fmt(central.flat[i])} and was {_fmt(given.flat[i])}"
                          for i in bad[:3])
        raise ValueError(f"{what} disagrees with central differences of the value at {bad.size} of "
                         f"{int(smooth.sum())} points: {shown} (fix it, or pass check=False to register it unchecked)")


def verify_activation(g: Activation) -> None:
    r"""Check an activation's value and derivative (or, for softmax-like ones, backward and jacobian).

    Raises
    ------
    ValueError
        Naming the activation, the input and, for a wrong derivative, the expected (central
        difference) and the given value at up to three points (see the module docstring).
    """
    what = f"activation {g.name!r}"
    Z = _Z.reshape(2, 8)
    singles, label = _points(Z)
    a = _run(g.value, (Z,), Z.shape, f"{what}: value(z)", singles, label)
    _run(g.value, (Z.astype(np.float32),), Z.shape, f"{what}: value(z) in float32", singles, label)
    if g.probability and not ((a >= 0) & (a <= 1)).all():
        i = int(np.flatnonzero((a < 0) | (a > 1))[0])
        raise ValueError(f"{what} declares probability (outputs in [0, 1]) but gives {_fmt(a.flat[i])} at {label(i)}")
    if g.positive and (a < 0).any():
        i = int(np.flatnonzero(a < 0)[0])
        raise ValueError(f"{what} declares positive outputs but gives {_fmt(a.flat[i])} at {label(i)}")
    if not g.elementwise:
        _verify_rowwise(g, what)
        return
    alone = np.array([_run(g.value, s, (1, 1), f"{what}: value(z)", [s], _at(label, i))[0, 0]
                      for i, s in enumerate(singles)])
    _same(alone, a.reshape(-1), lambda i: f"{what} is not elementwise: at {label(i)} it gives {_fmt(alone[i])} alone "
          f"but {_fmt(a.flat[i])} within a batch (a row-wise function like softmax must be an Activation subclass "
          f"with elementwise = False)")
    d = _run(g.derivative, (Z,), Z.shape, f"{what}: derivative(z)", singles, label)
    _run(g.derivative, (Z.astype(np.float32),), Z.shape, f"{what}: derivative(z) in float32", singles, label)
    h = 1e-5 * np.maximum(1, np.abs(Z))
    vp = _run(g.value, (Z + h,), Z.shape, f"{what}: value(z)", *_points(Z + h))
    vm = _run(g.value, (Z - h,), Z.shape, f"{what}: value(z)", *_points(Z - h))
    _compare(d, a, vp, vm, h, f"the derivative of {what}", label)
    V = np.linspace(-1.5, 2.0, Z.size).reshape(Z.shape)
    for call, fn, want in (("derivative_from(z, a)", lambda z: g.derivative_from(z, a.copy()), d),
                           ("backward(z, a, v)", lambda z: g.backward(z, a.copy(), V.copy()), V * d)):
        got = _run(fn, (Z,), Z.shape, f"{what}: {call}", singles, label)
        ok = np.isfinite(want)
        if not np.allclose(got[ok], want[ok], rtol=1e-9, atol=1e-12):
            i = int(np.flatnonzero(ok & ~np.isclose(got, want, rtol=1e-9, atol=1e-12))[0])
            raise ValueError(f"{what}: {call} gives {_fmt(got.flat[i])} at {label(i)}, where derivative(z) "
                             f"{'times v ' if 'backward' in call else ''}gives {_fmt(want.flat[i])}")


def _verify_rowwise(g: Activation, what: str) -> None:
    """backward (the vector-Jacobian product) and jacobian of a non-elementwise g against central differences."""
    Z = np.array([[2.0, -2.0, 0.5, -0.5], [1.0, -1.0, 0.1, 3.0], [30.0, -30.0, 5.0, -5.0]])
    V = np.array([[1.0, -0.5, 2.0, 0.25], [-1.0, 0.5, 1.5, -2.0], [0.3, 0.9, -0.7, 1.1]])
    m, n = Z.shape
    rows = [(Z[i:i + 1],) for i in range(m)]

    def label(i: int) -> str:
        return f"z = {_fmt(Z[i])}"

    def cell(i: int) -> str:
        return label(i // n)

    a = _run(g.value, (Z,), Z.shape, f"{what}: value(z)", rows, label, cell)
    alone = np.vstack([_run(g.value, r, (1, n), f"{what}: value(z)", [r], _at(label, i))
                       for i, r in enumerate(rows)])
    _same(alone, a, lambda i: f"{what} mixes samples: at {label(i // n)} value(z) differs alone and within a batch")
    back = _run(lambda z: g.backward(z, a.copy(), V.copy()), (Z,), Z.shape, f"{what}: backward(z, a, v)",
                rows, label, cell)
    J = _run(g.jacobian, (Z,), (m, n, n), f"{what}: jacobian(z)", rows, label, lambda i: label(i // (n * n)))
    h = 1e-5 * np.maximum(1, np.abs(Z))
    for k in range(n):
        e = np.zeros_like(Z)
        e[:, k] = h[:, k]
        vp = _run(g.value, (Z + e,), Z.shape, f"{what}: value(z)", rows, label, cell)
        vm = _run(g.value, (Z - e,), Z.shape, f"{what}: value(z)", rows, label, cell)
        where = _unit(label, "k", k)
        _compare(back[:, k], (V * a).sum(axis=1), (V * vp).sum(axis=1), (V * vm).sum(axis=1), h[:, k],
                 f"backward(z, a, v) of {what}", where)
        for j in range(n):
            _compare(J[:, j, k], a[:, j], vp[:, j], vm[:, j], h[:, k], f"jacobian(z)[:, {j}, {k}] of {what}", where)


def verify_cost(c: Cost) -> None:
    r"""Check a cost's value (per sample) and grad_a against central differences, unit by unit.

    Raises
    ------
    ValueError
        Naming the cost, the (a, y) pair and unit, the expected and the given derivative.
    """
    what = f"cost {c.name!r}"
    A, Y = _PAIRS["probability" if c.probability else "positive" if c.positive else "real"]
    m, n = A.shape
    rows = [(A[i:i + 1], Y[i:i + 1]) for i in range(m)]

    def label(i: int) -> str:
        return f"a = {_fmt(A[i])}, y = {_fmt(Y[i])}"

    def unit(i: int) -> str:
        return f"{label(i // n)} (unit j = {i % n})"

    v0 = _run(c.value, (A, Y), (m,), f"{what}: value(a, y)", rows, label)
    A32, Y32 = A.astype(np.float32), Y.astype(np.float32)
    _run(c.value, (A32, Y32), (m,), f"{what}: value(a, y) in float32", rows, label)
    alone = np.array([_run(c.value, r, (1,), f"{what}: value(a, y)", [r], _at(label, i))[0]
                      for i, r in enumerate(rows)])
    _same(alone, v0, lambda i: f"{what} mixes samples: at {label(i)} value(a, y) gives {_fmt(alone[i])} alone but "
          f"{_fmt(v0[i])} within a batch (it must give each sample's cost from its own row)")
    grad = _run(c.grad_a, (A, Y), (m, n), f"{what}: grad_a(a, y)", rows, label, unit)
    _run(c.grad_a, (A32, Y32), (m, n), f"{what}: grad_a(a, y) in float32", rows, label, unit)
    for j in range(n):
        e = np.zeros_like(A)
        e[:, j] = 1e-5 * np.maximum(1, np.abs(A[:, j]))
        vp = _run(c.value, (A + e, Y), (m,), f"{what}: value(a, y)", rows, label)
        vm = _run(c.value, (A - e, Y), (m,), f"{what}: value(a, y)", rows, label)
        _compare(grad[:, j], v0, vp, vm, e[:, j], f"grad_a of {what}", _unit(label, "j", j))
