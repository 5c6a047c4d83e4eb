r"""Check a hand computation of backpropagation: the first wrong number, its slip, what follows.

A student writes the network, the sample and any of their numbers in a JSON file, in one of
the notations of ``deltaprop.teach.notation``::

    {
      "notation": "nielsen",
      "network": {"sizes": [2, 2, 1], "activations": ["sigmoid", "sigmoid"], "cost": "quadratic",
                  "weights": {"2": [[0.1, 0.2], [0.3, 0.4]], "3": [[0.5, 0.6]]},
                  "biases": {"2": [0.1, 0.1], "3": [0.2]}},
      "x": [0.5, 0.2],
      "y": [1.0],
      "answers": {"z": {"2": [0.19, 0.33]}, "a": {"2": [0.5474, 0.5818]},
                  "delta": {"3": [-0.0535]}, "dW": {"3": [[-0.0293, -0.0311]]}, "cost": 0.0571}
    }

- ``notation``: "seeds" (default), "cs189", "nielsen" or "higham"; ``--notation`` may say it
  instead. Layer keys are the notation's own layer numbers: Nielsen and Higham number the input
  as layer 1, so their first weight matrix is "2".
- ``network.weights``: one matrix per layer (an object keyed by layer, or a list in order), a
  list of rows in the notation's layout: (n_{l-1}, n_l) for seeds, (n_l, n_{l-1}) for nielsen
  and higham, (n_{l-1} + 1, n_l) for cs189 with the bias in row 0 (then there are no biases).
- ``x``, ``y``: one sample as a list, or several as a list of lists (one per sample).
- ``answers``: any of ``z``, ``a``, ``delta``, ``dW``, ``db`` (objects keyed by layer),
  ``cost`` (a number: C, the mean of c over the samples) and ``dx`` (dc/dx per sample). Vectors
  are lists, one per sample when there are several; dW is a matrix in the weights' layout (in
  cs189 its row 0 is dJ/db), or a list of m matrices a_i^(l-1)T delta_i^(l), one per sample (then
  db is a list of m vectors too). CS189's names ``s`` (for z), ``x`` (for a) and ``J`` (for the
  cost) are accepted too; its x^(l) may include the bias unit x_0 = 1.
- ``delta`` (optional): "per-sample" (delta_i^(l) = dc_i/dz_i^(l), the default) or "batch-mean"
  (delta^(l) = dC/dz^(l) with C the mean over the batch: 1/m of the per-sample one). Without it
  the convention is detected from the first delta given.

A number is right when it agrees within ``rtol``/``atol`` or when the exact value rounds to it at
the digits written (0.123 stands for anything in [0.1225, 0.1235]; see ``deltaprop.teach.written``).
One that misses only in its last digit is reported as a rounding slip, not as an unknown one.

``check`` compares the quantities in the order a hand computation makes them (z, a layer by
layer, the cost, then delta, dC/dW, dC/db from the last layer down, then dc/dx), reports the
first that is wrong with the value it should have, names the slip from ``deltaprop.teach.slips``
whose recomputation matches the student's number, and sorts the later wrong quantities into
those that follow from the student's own earlier values and those wrong on their own.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..costs import output_delta
from ..network import Network
from .notation import Notation, _array, _layers, get_notation, read_network
from .report import CONVENTIONS, CheckReport, Finding
from .slips import Context, disambiguate, matching_slips
from .written import Written, half_units, rounded

__all__ = ["MAX_PARAMS", "CheckReport", "Finding", "check", "declared_size", "load_answers", "quantity",
           "read_network"]  # read_network: from notation

KINDS = ("z", "a", "cost", "delta", "dW", "db", "dx")
MAX_PARAMS = 10**7  # the largest network check and explain build unless told otherwise (--max-params)
_CHEAP = 10**5  # parameters below which building a network first costs under a megabyte


def _finite(text: str, path: str | Path, kind: Any) -> Any:
    """``kind(text)`` for a JSON number that float64 can hold; ValueError for NaN, Infinity or beyond 1.8e308."""
    if not math.isfinite(float(text)):
        shown = text if len(text) < 30 else f"{text[:12]}... ({len(text)} characters)"
        raise ValueError(f"{path}: the number {shown} is not a finite float64 (expected |x| < 1.8e308)")
    return kind(text)


def load_answers(path: str | Path) -> dict[str, Any]:
    """The JSON object of an answers file; ValueError (one line) if it is not valid JSON.

    Numbers must be finite float64 values: NaN, Infinity and numbers beyond 1.8e308 are refused.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:  # Written: the digits, for the tolerance
        data = json.loads(text, parse_float=lambda t: _finite(t, path, Written),
                          parse_int=lambda t: _finite(t, path, int), parse_constant=lambda t: _finite(t, path, float))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ValueError(f"{path}: not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise TypeError(f"{path}: expected a JSON object with network, x, y and answers, got {type(data).__name__}")
    return data


def declared_size(obj: Any, where: str, *, max_params: int = MAX_PARAMS, present: bool = True) -> None:
    """Refuse, before anything is built, a network object whose sizes declare too much.

    ValueError when ``sizes`` (n_0, ..., n_L) need more than ``max_params`` parameters
    sum_l (n_{l-1} + 1) n_l, or (with ``present``, above 10^5 parameters) more than the numbers its
    weights and biases hold. Smaller and malformed objects are left to ``read_network``, whose
    messages name the layer.
    """
    sizes = obj.get("sizes") if isinstance(obj, dict) else obj
    if not isinstance(sizes, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes):
        return
    declared = sum((sizes[l - 1] + 1) * sizes[l] for l in range(1, len(sizes)))
    shown = sizes if len(str(sizes)) < 80 else f"{str(sizes)[:60]}..."
    count = f"{declared:,}" if declared < 10**15 else f"about 10^{len(str(declared)) - 1}"
    if declared > max_params:
        raise ValueError(f"{where}: sizes {shown} declare {count} parameters, more than the limit of {max_params:,} "
                         "(--max-params N raises it)")
    if present and isinstance(obj, dict) and declared > _CHEAP:
        given = _count_numbers([obj.get("weights"), obj.get("biases")], declared)
        if given < declared:
            raise ValueError(f"{where}: sizes {shown} declare {count} parameters, but its weights and biases hold "
                             f"only {given} numbers")


def _count_numbers(value: Any, enough: int) -> int:
    """How many numbers (leaves) value holds, counting no further than ``enough``."""
    stack, n = [value], 0
    while stack and n < enough:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif v is not None:
            n += 1
    return n


def _samples(value: Any, n: int, what: str, m: int | None = None, unit: bool = False) -> np.ndarray:
    """One sample (a list) or several (a list of lists) as (m, n); a leading bias unit 1 is dropped."""
    arr = _array(value, what)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{what} must be a list of numbers or a list of such lists, got {arr.ndim} levels of nesting")
    if unit and arr.shape[1] == n + 1 and np.all(arr[:, 0] == 1):
        arr = arr[:, 1:]  # CS189's bias unit x_0 = 1
    if m is not None and arr.shape[0] != m:
        raise ValueError(f"{what} has {arr.shape[0]} samples; x has {m}")
    return arr


def check(data: dict[str, Any], *, notation: str | None = None, delta: str | None = None, rtol: float = 1e-2,
          atol: float = 1e-4, where: str = "answers", max_params: int = MAX_PARAMS) -> CheckReport:
    """Compare a student's numbers (the JSON object described above) with the right ones.

    Parameters
    ----------
    data : dict
        The answers object (network, x, y, answers; optionally notation, delta).
    notation : {"seeds", "cs189", "nielsen", "higham"}, optional
        Overrides nothing: it must agree with ``data["notation"]`` when both are given.
    delta : {"per-sample", "batch-mean"}, optional
        The student's delta convention; default ``data["delta"]``, else detected.
    rtol, atol : float
        A number is right when ``|given - right| <= atol + rtol |right|``, or when ``right`` rounds
        to it at the digits written.

    Returns
    -------
    CheckReport
        ``report.ok`` is True when every given quantity agrees.
    """
    for name, v in (("rtol", rtol), ("atol", atol)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {v!r}")
    stated = data.get("notation")
    if notation is not None and stated is not None and notation != stated:
        raise ValueError(f"{where} is written in {stated!r} notation, but --notation says {notation!r}")
    nt = get_notation(notation or stated or "seeds")
    convention = _convention(delta, data.get("delta"), where)
    for key in ("network", "x", "y", "answers"):
        if key not in data:
            raise ValueError(f"{where} has no {key!r}; expected keys network, x, y, answers (and optionally notation)")
    declared_size(data["network"], f"{where}: network", max_params=max_params)
    net = read_network(data["network"], nt, f"{where}: network")
    n, L = net.sizes, net.L
    X = _samples(data["x"], n[0], f"{where}: x", unit=nt.bias_unit)
    m = X.shape[0]
    try:
        Y = net._Y(_samples(data["y"], n[L], f"{where}: y", m), m)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: y: {exc}") from None
    given, tols = _read_given(data["answers"], nt, net, m, where)

    def compute(kind: str, l: int, V: dict[tuple[str, int], Any], per_sample: bool) -> Any:
        return quantity(net, nt, Y, kind, l, V, per_sample=per_sample)

    def close(u: Any, v: Any, tol: Any = 0.0) -> bool:
        """Equal shapes, and each entry within rtol/atol or within the half-unit of its digits."""
        if np.shape(u) != np.shape(v):
            return False
        err = np.abs(np.asarray(u, dtype=np.float64) - np.asarray(v, dtype=np.float64))
        return bool(np.all(err <= np.maximum(atol + rtol * np.abs(v), np.asarray(tol) * (1 + 1e-9) + 1e-15)))

    t = net.trace(X, Y)  # the right values
    truth: dict[tuple[str, int], Any] = {("a", 0): X}
    for l in range(1, L + 1):
        truth.update({("z", l): t.z[l], ("a", l): t.a[l], ("delta", l): t.delta[l]})
    chain: dict[tuple[str, int], Any] = {("a", 0): X}  # the student's values where given, else computed
    findings: list[Finding] = []
    for kind, l in _order(nt, L):
        value = given.get((kind, l))
        per_sample = value is not None and _per_sample(kind, value, m)
        right, expected = compute(kind, l, truth, per_sample), compute(kind, l, chain, per_sample)
        chain[kind, l] = expected
        if value is None:
            continue
        value, tol = _as_matrix(value, right) if kind == "dW" else value, tols[kind, l]
        if np.shape(tol) != np.shape(value):
            tol = np.zeros(np.shape(value))
        if kind == "delta" and convention is None:
            convention = "per-sample"
            if m > 1 and not (close(value, right, tol) or close(value, expected, tol)) and (
                    close(value * m, right, tol * m) or close(value * m, expected, tol * m)):
                convention = "batch-mean"
        scale = 1.0 / m if kind == "delta" and convention == "batch-mean" else 1.0
        value_ps, tol_ps = value / scale, tol / scale  # per-sample units
        if close(value_ps, right, tol_ps):
            status = "ok"
        elif all(f.status == "ok" for f in findings):
            status = "wrong"
        else:
            status = "follows" if close(value_ps, expected, tol_ps) else "also wrong"
        target = right if status in ("ok", "wrong") else expected
        slips: tuple[str, ...] = ()
        note = ""
        if status in ("wrong", "also wrong"):
            ctx = Context(net, nt, kind, l, chain, Y, expected, per_sample)
            slips = tuple(s.name for s in matching_slips(ctx, value_ps, lambda u, v: close(u, v, tol_ps)))
            if not slips:
                note = _note(value, target * scale, tol, kind, _symbol(nt, kind, l))
        findings.append(Finding(kind, l, _symbol(nt, kind, l), status, value, target * scale, slips, note))
        if kind in ("z", "a", "delta") and np.shape(value) == np.shape(expected):
            chain[kind, l] = value_ps
    named = disambiguate({(f.kind, f.l): f.slips for f in findings})
    findings = [replace(f, slips=named[f.kind, f.l]) for f in findings]
    summary = (f"{nt.name} notation, network {'-'.join(map(str, n))} ({', '.join(net.activations)}; "
               f"{net.cost_name}), {m} sample{'s' if m > 1 else ''}")
    return CheckReport(nt, summary, tuple(findings), float(rtol), float(atol), convention or "per-sample")


def quantity(net: Network, nt: Notation, Y: np.ndarray, kind: str, l: int, V: dict[tuple[str, int], Any], *,
             per_sample: bool = False) -> Any:
    r"""One quantity computed right from the values V before it (our layout), dW in the notation's.

    ``V`` maps ("a", 0) to X (m, n_0) and ("z", l), ("a", l), ("delta", l) to (m, n_l) arrays
    (per-sample deltas); ``kind`` is one of ``KINDS``. The rule of each quantity, written once:
    z^(l) = a^(l-1) W^(l) + b^(l), a^(l) = g_l(z^(l)), C = mean_i c(a_i^(L), y_i), delta^(L)
    from ``costs.output_delta``, delta^(l) = (delta^(l+1) W^(l+1)T) * g_l'(z^(l)), dW and db the
    means over the samples (or, with ``per_sample``, one per sample), dc/dx = delta^(1) W^(1)T.
    """
    W, g, L = net.weights, net.g, net.L
    if kind == "z":
        return V["a", l - 1] @ W[l - 1] + net.biases[l - 1]
    if kind == "a":
        return g[l].value(V["z", l])
    if kind == "cost":
        return float(np.mean(net.c.value(V["a", L], Y)))
    if kind == "delta":
        if l == L:
            return output_delta(g[L], net.c, V["z", L], V["a", L], Y)
        return g[l].backward(V["z", l], V["a", l], V["delta", l + 1] @ W[l].T)  # W[l] is W^(l+1)
    if kind == "dW":
        return nt.weight_gradient(V["a", l - 1], V["delta", l], per_sample=per_sample)
    if kind == "db":
        return V["delta", l] if per_sample else V["delta", l].mean(axis=0)
    return V["delta", 1] @ W[0].T  # dx: dc/dx per sample, (m, n_0)


def _convention(flag: str | None, stated: Any, where: str) -> str | None:
    """The delta convention from the argument or the file (they must agree), or None to detect it."""
    for v, what in ((flag, "delta"), (stated, f"{where}: delta")):
        if v is not None and v not in CONVENTIONS:
            raise ValueError(f"{what} must be one of {', '.join(CONVENTIONS)}, got {v!r}")
    if flag is not None and stated is not None and flag != stated:
        raise ValueError(f"{where} says delta is {stated!r}, but --delta says {flag!r}")
    return flag or stated


def _per_sample(kind: str, value: np.ndarray, m: int) -> bool:
    """dW as a list of m matrices, db as m vectors (m > 1): one gradient per sample."""
    return (kind == "dW" and value.ndim == 3 and value.shape[0] == m) or (
        kind == "db" and m > 1 and value.ndim == 2 and value.shape[0] == m)


def _as_matrix(value: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A one-row or one-column dW written as a flat list, as the matrix it stands for."""
    if value.ndim == 1 and np.ndim(right) == 2 and 1 in np.shape(right) and value.size == np.size(right):
        return value.reshape(np.shape(right))
    return value


def _shape(v: Any, kind: str) -> str:
    shape = np.shape(v)
    if kind in ("z", "a", "delta", "dx") and len(shape) == 2 and shape[0] == 1:
        shape = shape[1:]  # one sample, written as a plain list
    return "x".join(map(str, shape)) or "a number"


def _note(value: Any, target: Any, tol: np.ndarray, kind: str, symbol: str) -> str:
    """Why a number that no slip reproduces is wrong: its shape, or only its last digit."""
    if np.shape(value) != np.shape(target):
        return f"shape: {_shape(value, kind)} given where {symbol} is {_shape(target, kind)}"
    err = np.abs(np.asarray(value, dtype=np.float64) - np.asarray(target, dtype=np.float64))
    if tol.size and np.all(tol > 0) and np.all(err <= 2 * tol * (1 + 1e-9) + 1e-15):
        i = int(np.argmax(err / tol))
        half = float(tol.flat[i])
        return (f"rounding only: within one unit of the last digit written; at that many digits the value "
                f"reads {rounded(float(np.ravel(target)[i]), half)} (did you round an earlier value?)")
    return ""


def _order(nt: Notation, L: int) -> list[tuple[str, int]]:
    order = [(k, l) for l in range(1, L + 1) for k in ("z", "a")] + [("cost", 0)]
    for l in range(L, 0, -1):
        order += [("delta", l), ("dW", l)] + ([] if nt.bias_unit else [("db", l)])
    return order + [("dx", 0)]


def _symbol(nt: Notation, kind: str, l: int) -> str:
    if kind == "cost":
        return nt.cost_letter
    if kind == "dx":
        return "∂c/∂x"
    return nt.expand("{" + kind + "}", l)


Given = dict[tuple[str, int], Any]


def _read_given(answers: Any, nt: Notation, net: Network, m: int, where: str) -> tuple[Given, Given]:
    """The student's values by (kind, l), and the half-unit of each number's last digit (see ``written``)."""
    out, tols = _read_values(answers, nt, net, m, where)
    return out, {key: _tol_like(tols[key], np.shape(v)) for key, v in out.items()}


def _tol_like(tol: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The half-units in the shape the reader gave the values (one sample as a row, bias unit dropped)."""
    if tol.ndim and len(shape) == 2 and tol.shape[-1] == shape[-1] + 1:
        tol = tol[..., 1:]  # CS189's bias unit x_0 = 1, dropped by the reader
    return tol.reshape(shape) if tol.size == int(np.prod(shape)) else np.zeros(shape)


def _read_values(answers: Any, nt: Notation, net: Network, m: int, where: str) -> tuple[Given, Given]:
    if not isinstance(answers, dict) or not answers:
        raise ValueError(f"{where}: answers must be a non-empty object with any of {', '.join(KINDS)}")
    n, L = net.sizes, net.L
    out: dict[tuple[str, int], Any] = {}
    tols: dict[tuple[str, int], Any] = {}
    for key, value in answers.items():
        kind = nt.aliases.get(key, key)
        if kind not in KINDS:
            known = ", ".join(list(KINDS) + list(nt.aliases))
            raise ValueError(f"{where}: unknown answer {key!r}; known in {nt.name} notation: {known}")
        what = f"{where}: answers.{key}"
        if kind == "cost":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{what} must be a number, got {value!r}")
            out["cost", 0], tols["cost", 0] = float(value), half_units(value)
        elif kind == "dx":
            out["dx", 0], tols["dx", 0] = _samples(value, n[0], what, m), half_units(value)
        elif kind == "db" and nt.bias_unit:
            raise ValueError(f"{what}: in cs189 notation the bias gradient is row 0 of dW; give dW only")
        else:
            for l, v in _layers(value, nt, L, what).items():
                tols[kind, l] = half_units(v)
                if kind == "dW":
                    out["dW", l] = _array(v, f"{what}[{nt.layer(l)}]")
                elif kind == "db":
                    db = _array(v, f"{what}[{nt.layer(l)}]")
                    out["db", l] = db if m > 1 and db.ndim == 2 and db.shape[0] == m else db.reshape(-1)
                else:
                    out[kind, l] = _samples(v, n[l], f"{what}[{nt.layer(l)}]", m,
                                            unit=nt.bias_unit and kind == "a" and l < L)
    return out, tols
