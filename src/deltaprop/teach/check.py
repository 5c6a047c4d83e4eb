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
  cs189 its row 0 is dJ/db). CS189's names ``s`` (for z), ``x`` (for a) and ``J`` (for the cost)
  are accepted too; its x^(l) may include the bias unit x_0 = 1.

``check`` compares the quantities in the order a hand computation makes them (z, a layer by
layer, the cost, then delta, dC/dW, dC/db from the last layer down, then dc/dx), reports the
first that is wrong with the value it should have, names the slip from ``deltaprop.teach.slips``
whose recomputation matches the student's number, and sorts the later wrong quantities into
those that follow from the student's own earlier values and those wrong on their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..costs import output_delta
from ..network import Network
from .notation import Notation, _array, _layers, get_notation, read_network
from .render import format_matrix
from .slips import SLIPS, Context, matching_slips

__all__ = ["CheckReport", "Finding", "check", "load_answers", "read_network"]  # read_network: from notation

KINDS = ("z", "a", "cost", "delta", "dW", "db", "dx")


@dataclass(frozen=True)
class Finding:
    """The verdict on one quantity the student gave.

    ``status`` is "ok", "wrong" (the first wrong quantity), "follows" (wrong, but what the
    student's own earlier values give) or "also wrong" (wrong on its own).
    """

    kind: str
    l: int
    symbol: str
    status: str
    given: Any
    expected: Any
    slips: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckReport:
    """All findings in the order of a hand computation."""

    notation: Notation
    summary: str
    findings: tuple[Finding, ...]
    rtol: float
    atol: float

    @property
    def ok(self) -> bool:
        """True when every given quantity agrees within the tolerances."""
        return all(f.status == "ok" for f in self.findings)

    @property
    def first_wrong(self) -> Finding | None:
        """The first quantity that is wrong, or None."""
        return next((f for f in self.findings if f.status != "ok"), None)

    def text(self, precision: int = 4) -> str:
        """The report as plain text."""
        def show(v: Any, kind: str) -> str:
            v = np.asarray(v, dtype=np.float64)
            if v.ndim == 2 and v.shape[0] == 1 and kind in ("z", "a", "delta", "dx"):
                v = v[0]  # one sample: a plain list, as written
            if v.ndim == 0:
                return format_matrix([[v]], precision)[0][0]
            rows = ["[" + ", ".join(row) + "]" for row in format_matrix(np.atleast_2d(v), precision)]
            if v.ndim == 1:
                return rows[0]
            return "[" + (",\n" + " " * 21).join(rows) + "]"

        mark = {"ok": "✓", "wrong": "✗", "follows": "~", "also wrong": "✗"}
        note = {"ok": "", "wrong": "  <- first wrong", "follows": "  wrong, but follows from your earlier values",
                "also wrong": "  wrong on its own as well"}
        out = [f"deltaprop check: {self.summary}; rtol {self.rtol:g}, atol {self.atol:g}", ""]
        out += [f"  {mark[f.status]} {f.symbol}{note[f.status]}" for f in self.findings]
        first = self.first_wrong
        if first is None:
            out += ["", f"All {len(self.findings)} quantities agree."]
            return "\n".join(out) + "\n"
        out += ["", f"First wrong: {first.symbol}"]
        for f in [first] + [f for f in self.findings if f.status == "also wrong"]:
            if f is not first:
                out.append(f"Also wrong on its own: {f.symbol}")
            label = "it should be:    " if f is first else "from your values:"
            out += [f"  you wrote:        {show(f.given, f.kind)}", f"  {label} {show(f.expected, f.kind)}"]
            out += self._slip_lines(f)
        follows = [f.symbol for f in self.findings if f.status == "follows"]
        alone = [f for f in self.findings if f.status == "also wrong"]
        out.append(f"Wrong only because of an earlier error (consistent with your own values): "
                   f"{', '.join(follows) or 'none'}")
        n_ok = sum(f.status == "ok" for f in self.findings)
        out += ["", f"Result: {1 + len(alone)} wrong, {len(follows)} following from an earlier error, {n_ok} correct."]
        return "\n".join(out) + "\n"

    def _slip_lines(self, f: Finding) -> list[str]:
        if not f.slips:
            return ["  likely slip: none of the known slips reproduces this number"]
        by_name = {s.name: s for s in SLIPS}
        return [f"  likely slip: {name}: {by_name[name].description.format(layout=self.notation.layout_note())}"
                for name in f.slips]


def load_answers(path: str | Path) -> dict[str, Any]:
    """The JSON object of an answers file; ValueError (one line) if it is not valid JSON."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(data, dict):
        raise TypeError(f"{path}: expected a JSON object with network, x, y and answers, got {type(data).__name__}")
    return data


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


def check(data: dict[str, Any], *, notation: str | None = None, rtol: float = 1e-2, atol: float = 1e-4,
          where: str = "answers") -> CheckReport:
    """Compare a student's numbers (the JSON object described above) with the right ones.

    Returns
    -------
    CheckReport
        ``report.ok`` is True when every given quantity agrees: |given - right| <= atol + rtol |right|.
    """
    for name, v in (("rtol", rtol), ("atol", atol)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {v!r}")
    stated = data.get("notation")
    if notation is not None and stated is not None and notation != stated:
        raise ValueError(f"{where} is written in {stated!r} notation, but --notation says {notation!r}")
    nt = get_notation(notation or stated or "seeds")
    for key in ("network", "x", "y", "answers"):
        if key not in data:
            raise ValueError(f"{where} has no {key!r}; expected keys network, x, y, answers (and optionally notation)")
    net = read_network(data["network"], nt, f"{where}: network")
    n, L = net.sizes, net.L
    X = _samples(data["x"], n[0], f"{where}: x", unit=nt.bias_unit)
    m = X.shape[0]
    try:
        Y = net._Y(_samples(data["y"], n[L], f"{where}: y", m), m)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: y: {exc}") from None
    given = _read_given(data["answers"], nt, net, m, where)
    W = dict(enumerate(net.weights, start=1))
    g, c = net.g, net.c

    def compute(kind: str, l: int, V: dict[tuple[str, int], Any]) -> Any:
        """A quantity computed right from the values V before it, in the student's form."""
        if kind == "z":
            return V["a", l - 1] @ W[l] + net.biases[l - 1]
        if kind == "a":
            return g[l].value(V["z", l])
        if kind == "cost":
            return float(np.mean(c.value(V["a", L], Y)))
        if kind == "delta":
            if l == L:
                return output_delta(g[L], c, V["z", L], V["a", L], Y)
            return g[l].backward(V["z", l], V["a", l], V["delta", l + 1] @ W[l + 1].T)
        if kind == "dW":
            return nt.weights(V["a", l - 1].T @ V["delta", l] / m, V["delta", l].mean(axis=0))
        if kind == "db":
            return V["delta", l].mean(axis=0)
        return V["delta", 1] @ W[1].T  # dx

    def close(u: Any, v: Any) -> bool:
        return np.shape(u) == np.shape(v) and bool(np.allclose(u, v, rtol=rtol, atol=atol))

    t = net.trace(X, Y)  # the right values
    truth: dict[tuple[str, int], Any] = {("cost", 0): t.cost, ("dx", 0): t.delta[1] @ W[1].T}
    for l in range(1, L + 1):
        truth.update({("z", l): t.z[l], ("a", l): t.a[l], ("delta", l): t.delta[l], ("db", l): t.db[l],
                      ("dW", l): nt.weights(t.dW[l], t.db[l])})
    chain: dict[tuple[str, int], Any] = {("a", 0): X}  # the student's values where given, else computed
    findings: list[Finding] = []
    for kind, l in _order(nt, L):
        right, expected = truth[kind, l], compute(kind, l, chain)
        chain[kind, l] = expected
        if (kind, l) not in given:
            continue
        value = given[kind, l]
        symbol = _symbol(nt, kind, l)
        if close(value, right):
            status = "ok"
        elif all(f.status == "ok" for f in findings):
            status = "wrong"
        else:
            status = "follows" if close(value, expected) else "also wrong"
        slips: tuple[str, ...] = ()
        if status in ("wrong", "also wrong"):
            ctx = Context(net, nt, kind, l, chain, Y, expected)
            slips = tuple(s.name for s in matching_slips(ctx, value, close))
        findings.append(Finding(kind, l, symbol, status, value, right if status == "wrong" else expected, slips))
        if kind in ("z", "a", "delta") and np.shape(value) == np.shape(expected):
            chain[kind, l] = value
    summary = (f"{nt.name} notation, network {'-'.join(map(str, n))} ({', '.join(net.activations)}; "
               f"{net.cost_name}), {m} sample{'s' if m > 1 else ''}")
    return CheckReport(nt, summary, tuple(findings), float(rtol), float(atol))


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


def _read_given(answers: Any, nt: Notation, net: Network, m: int, where: str) -> dict[tuple[str, int], Any]:
    if not isinstance(answers, dict) or not answers:
        raise ValueError(f"{where}: answers must be a non-empty object with any of {', '.join(KINDS)}")
    n, L = net.sizes, net.L
    out: dict[tuple[str, int], Any] = {}
    for key, value in answers.items():
        kind = nt.aliases.get(key, key)
        if kind not in KINDS:
            known = ", ".join(list(KINDS) + list(nt.aliases))
            raise ValueError(f"{where}: unknown answer {key!r}; known in {nt.name} notation: {known}")
        what = f"{where}: answers.{key}"
        if kind == "cost":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{what} must be a number, got {value!r}")
            out["cost", 0] = float(value)
        elif kind == "dx":
            out["dx", 0] = _samples(value, n[0], what, m)
        elif kind == "db" and nt.bias_unit:
            raise ValueError(f"{what}: in cs189 notation the bias gradient is row 0 of dW; give dW only")
        else:
            for l, v in _layers(value, nt, L, what).items():
                if kind == "dW":
                    out["dW", l] = _array(v, f"{what}[{nt.layer(l)}]")
                elif kind == "db":
                    out["db", l] = _array(v, f"{what}[{nt.layer(l)}]").reshape(-1)
                else:
                    out[kind, l] = _samples(v, n[l], f"{what}[{nt.layer(l)}]", m,
                                            unit=nt.bias_unit and kind == "a" and l < L)
    return out
