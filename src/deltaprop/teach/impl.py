r"""``check --impl``: a student's own backprop against exact backpropagation, on many random networks.

``check_impl("student.py", "backprop", "rows")`` draws random small networks and samples (depths
1-4, widths 1-4, batch sizes 1-4, activations and costs from the pools), calls the student's
function on each in its convention (``deltaprop.teach.conventions``) in a child process with
time and memory limits (``deltaprop.teach.sandbox``), and compares every dC/dW^(l), dC/db^(l)
with ``net.trace`` in float64 (rtol 1e-6, atol 1e-9). A pass needs every case right.

On a failure the report gives the first wrong quantity and its layer (from the last layer down,
the order backpropagation makes them), the slip of ``deltaprop.teach.slips`` that reproduces the
student's numbers on that case, and the smallest failing case: the case shrunk, in the spirit of
hypothesis, by dropping layers, samples and units and rounding the numbers while it still fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..network import Network
from .check import quantity
from .conventions import Convention, Result, get_convention, read_result
from .sandbox import Limits, run_cases
from .slips import SLIPS, Context

__all__ = ["HIDDEN", "OUTPUTS", "ImplReport", "check_impl", "draw_case"]

HIDDEN = ("sigmoid", "tanh", "relu")
OUTPUTS = ("sigmoid+quadratic", "identity+quadratic", "softmax+cross_entropy")
RTOL, ATOL = 1e-6, 1e-9

Case = dict[str, Any]


def draw_case(rng: np.random.Generator, hidden: tuple[str, ...] = HIDDEN,
              outputs: tuple[str, ...] = OUTPUTS) -> Case:
    """A random network and batch in our layout: sizes, activations, cost, W, b, X, Y."""
    L = int(rng.choice([1, 2, 2, 3, 3, 4]))
    out_act, cost = str(rng.choice(list(outputs))).split("+")
    sizes = [int(v) for v in rng.choice([1, 2, 2, 3, 3, 4], size=L + 1)]
    if out_act == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    m = int(rng.choice([1, 2, 3, 4]))
    acts = [str(rng.choice(list(hidden))) for _ in range(L - 1)] + [out_act]
    W = [rng.normal(0, 0.9, (sizes[l - 1], sizes[l])) for l in range(1, L + 1)]  # (n_{l-1}, n_l)
    b = [rng.normal(0, 0.5, sizes[l]) for l in range(1, L + 1)]  # (n_l,)
    X = rng.normal(0, 1, (m, sizes[0]))  # (m, n_0)
    if cost == "cross_entropy":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)]
    elif out_act == "sigmoid":
        Y = rng.uniform(0, 1, (m, sizes[-1]))
    else:
        Y = rng.normal(0, 1, (m, sizes[-1]))
    return {"sizes": sizes, "activations": acts, "cost": cost, "W": [w.tolist() for w in W],
            "b": [v.tolist() for v in b], "X": X.tolist(), "Y": Y.tolist()}


def _network(case: Case) -> tuple[Network, np.ndarray, np.ndarray]:
    net = Network(case["sizes"], case["activations"], case["cost"], dtype="float64")
    net.weights = [np.array(w, dtype=np.float64).reshape(a, b)
                   for w, a, b in zip(case["W"], case["sizes"][:-1], case["sizes"][1:])]
    net.biases = [np.array(v, dtype=np.float64) for v in case["b"]]
    return net, np.array(case["X"], dtype=np.float64), np.array(case["Y"], dtype=np.float64)


Only = Callable[[str, int], bool]


def _pass(net: Network, conv: Convention, X: np.ndarray, Y: np.ndarray, slip: Any = None,
          only: Only = lambda kind, l: False) -> Result:
    """dW, db (their layout) of one call, computed right, or with ``slip`` wherever ``only`` says."""
    nt, L = conv.nt, net.L
    V: dict[tuple[str, int], Any] = {("a", 0): X}
    order = [(k, l) for l in range(1, L + 1) for k in ("z", "a")]
    order += [(k, l) for l in range(L, 0, -1) for k in ("delta", "dW", "db")]
    for kind, l in order:
        value = quantity(net, nt, Y, kind, l, V)
        if slip is not None and only(kind, l):
            wrong = slip.recompute(Context(net, nt, kind, l, V, Y, value))
            value = value if wrong is None else wrong
        V[kind, l] = value
    keys = [("dW", l) for l in range(1, L + 1)] + ([] if nt.bias_unit else [("db", l) for l in range(1, L + 1)])
    return {k: np.asarray(V[k]).reshape(-1) if k[0] == "db" else np.asarray(V[k]) for k in keys}


def _calls(case: Case, conv: Convention) -> list[tuple[Network, np.ndarray, np.ndarray]]:
    net, X, Y = _network(case)
    return [(net, X[i:i + 1], Y[i:i + 1]) for i in range(len(X))] if conv.per_sample else [(net, X, Y)]


def _close(u: np.ndarray, v: np.ndarray) -> bool:
    return u.shape == v.shape and bool(np.allclose(u, v, rtol=RTOL, atol=ATOL))


@dataclass(frozen=True)
class Wrong:
    """The first wrong quantity of one case: (kind, l), which call (sample), given and right values."""

    kind: str
    l: int
    call: int
    given: Any
    right: Any
    error: str = ""


def _first_wrong(case: Case, conv: Convention, result: dict[str, Any]) -> Wrong | None:
    """None if the student's result is right on this case, else the first wrong quantity."""
    calls = _calls(case, conv)
    if "error" in result:
        return Wrong("call", 0, 0, None, None, result["error"])
    try:
        given = read_result(conv, result["out"], calls[0][0].L, len(calls))
    except ValueError as exc:
        return Wrong("call", 0, 0, None, None, str(exc))
    truth = [_pass(net, conv, X, Y) for net, X, Y in calls]
    L = calls[0][0].L
    for l in range(L, 0, -1):  # the order backpropagation makes them: the last layer first
        for kind in ("dW", "db"):
            for i, (t, g) in enumerate(zip(truth, given)):
                if (kind, l) in t and not _close(g[kind, l], t[kind, l]):
                    return Wrong(kind, l, i, g[kind, l], t[kind, l])
    return None


def _name_slip(case: Case, conv: Convention, result: dict[str, Any]) -> tuple[str, ...]:
    """The slips that reproduce the student's numbers on this case, everywhere or at one layer."""
    calls = _calls(case, conv)
    try:
        given = read_result(conv, result["out"], calls[0][0].L, len(calls))
    except (KeyError, ValueError):
        return ()
    L = calls[0][0].L
    truth = [_pass(net, conv, X, Y) for net, X, Y in calls]
    found = []
    for slip in SLIPS:
        wheres = [_where(None, None, L)] + [_where(kind, at, L) for kind in ("z", "delta", "dW", "db")
                                            for at in (None, "hidden", *range(L, 0, -1))]
        for only in wheres:
            sim = [_pass(net, conv, X, Y, slip, only) for net, X, Y in calls]
            if all(_same(s, t) for s, t in zip(sim, truth)):
                continue
            if all(_same(s, g) for s, g in zip(sim, given)):
                found.append(slip.name)
                break
    return tuple(found)


def _where(kind: str | None, at: int | str | None, L: int) -> Only:
    """Where a simulated slip applies: everywhere (kind None), or one kind at every layer, the hidden ones, or one."""
    return lambda k, l: (kind is None or k == kind) and (at is None or l == at or (at == "hidden" and l < L))


def _same(a: Result, b: Result) -> bool:
    return all(k in b and _close(np.asarray(b[k]), np.asarray(v)) for k, v in a.items())


def _size(case: Case) -> int:
    return len(case["X"]) + sum(case["sizes"]) + len(case["sizes"])


def _smaller(case: Case) -> list[Case]:
    """Cases one step smaller: a hidden layer, a sample or a unit dropped, or the numbers rounded."""
    net, X, Y = _network(case)
    W, b, sizes, acts, L = net.weights, net.biases, list(case["sizes"]), list(case["activations"]), net.L
    out = []

    def make(W: list[np.ndarray], b: list[np.ndarray], X: np.ndarray, Y: np.ndarray, sizes: list[int],
             acts: list[str]) -> Case:
        return {"sizes": sizes, "activations": acts, "cost": case["cost"], "W": [w.tolist() for w in W],
                "b": [v.tolist() for v in b], "X": X.tolist(), "Y": Y.tolist()}

    for l in range(1, L):  # drop hidden layer l: W^(l) W^(l+1) joins layers l-1 and l+1
        out.append(make(W[:l - 1] + [W[l - 1] @ W[l]] + W[l + 1:], b[:l - 1] + b[l:], X, Y,
                        sizes[:l] + sizes[l + 1:], acts[:l - 1] + acts[l:]))
    for i in range(len(X)):
        if len(X) > 1:
            out.append(make(W, b, np.delete(X, i, 0), np.delete(Y, i, 0), sizes, acts))
    for l in range(0, L):  # drop unit j of layer l (the input or a hidden layer)
        for j in range(sizes[l] if sizes[l] > 1 else 0):
            W2, b2 = list(W), list(b)
            W2[l] = np.delete(W[l], j, 0)  # W^(l+1): row j is unit j of layer l
            X2 = X
            if l == 0:
                X2 = np.delete(X, j, 1)
            else:
                W2[l - 1], b2[l - 1] = np.delete(W[l - 1], j, 1), np.delete(b[l - 1], j)
            out.append(make(W2, b2, X2, Y, sizes[:l] + [sizes[l] - 1] + sizes[l + 1:], acts))
    rounded = make([np.round(w, 1) for w in W], [np.round(v, 1) for v in b], np.round(X, 1), Y, sizes, acts)
    if rounded != case:
        out.append(rounded)
    return sorted(out, key=_size)


@dataclass(frozen=True)
class ImplReport:
    """The verdict on a student's backprop: cases run and failed, the first wrong, its slip, the shrunk case."""

    convention: Convention
    spec: str
    cases: int
    failed: int
    import_error: str | None = None
    first: Wrong | None = None
    case: Case | None = None
    slips: tuple[str, ...] = ()
    smallest: Case | None = None
    smallest_wrong: Wrong | None = None

    @property
    def ok(self) -> bool:
        """True when the function imported and every case was right."""
        return self.import_error is None and self.failed == 0

    def text(self) -> str:
        """The report as plain text."""
        from .impl_report import impl_text

        return impl_text(self)


def check_impl(student: str | Path, function: str, convention: str, *, cases: int = 200, seed: int = 0,
               hidden: tuple[str, ...] = HIDDEN, outputs: tuple[str, ...] = OUTPUTS,
               limits: Limits = Limits()) -> ImplReport:
    """Run a student's backprop on ``cases`` random networks; the report of ``check --impl``.

    Raises
    ------
    ValueError
        For an unknown convention, activation or output pair, or cases < 1; OSError for a
        missing file.
    """
    conv = get_convention(convention)
    path = Path(student)
    if not path.is_file():
        raise OSError(f"{student}: no such file (expected the student's Python file)")
    if isinstance(cases, bool) or not isinstance(cases, int) or cases < 1:
        raise ValueError(f"cases must be an integer >= 1, got {cases!r}")
    _check_pools(hidden, outputs)
    rng = np.random.default_rng(seed)
    drawn = [draw_case(rng, hidden, outputs) for _ in range(cases)]
    spec = f"{student}:{function}"
    error, results = run_cases(path, function, conv.name, drawn, limits)
    if error is not None:
        return ImplReport(conv, spec, cases, cases, import_error=error)
    verdicts = [_first_wrong(c, conv, r) for c, r in zip(drawn, results)]
    verdicts += [Wrong("call", 0, 0, None, None, "not run (an earlier case stopped the process)")] * (
        cases - len(verdicts))
    bad = [k for k, v in enumerate(verdicts) if v is not None]
    if not bad:
        return ImplReport(conv, spec, cases, 0)
    k = bad[0]
    slips = _name_slip(drawn[k], conv, results[k]) if k < len(results) else ()
    small, small_wrong = _shrink(path, function, conv, drawn[k], verdicts[k], limits)
    if not slips and small_wrong is not None and small_wrong.kind != "call":
        _, res = run_cases(path, function, conv.name, [small], limits)
        slips = _name_slip(small, conv, res[0]) if res else ()
    return ImplReport(conv, spec, cases, len(bad), None, verdicts[k], drawn[k], slips, small, small_wrong)


def _shrink(path: Path, function: str, conv: Convention, case: Case, wrong: Wrong | None,
            limits: Limits, rounds: int = 25) -> tuple[Case, Wrong | None]:
    """The smallest case found that still fails, greedily, one child process per round."""
    for _ in range(rounds):
        candidates = _smaller(case)
        if not candidates:
            break
        error, results = run_cases(path, function, conv.name, candidates, limits)
        failing = [(c, w) for c, r in zip(candidates, results) if (w := _first_wrong(c, conv, r)) is not None]
        if error is not None or not failing:
            break
        case, wrong = failing[0]
    return case, wrong


def _check_pools(hidden: tuple[str, ...], outputs: tuple[str, ...]) -> None:
    from ..activations import ACTIVATIONS
    from ..costs import COSTS

    for g in hidden:
        if g not in ACTIVATIONS or g == "softmax":
            raise ValueError(f"hidden activation {g!r} is not an elementwise activation; known: "
                             f"{', '.join(a for a in ACTIVATIONS if a != 'softmax')}")
    for pair in outputs:
        g, _, c = pair.partition("+")
        if g not in ACTIVATIONS or c not in COSTS:
            raise ValueError(f"an output must be ACTIVATION+COST, e.g. softmax+cross_entropy, got {pair!r}")
