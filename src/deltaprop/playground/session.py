r"""The playground's state and every number it shows, computed by deltaprop's engine.

A :class:`Session` holds one network, its data, the initial parameters (for rewind), the SGD
generator and the cost history. The browser only draws what :meth:`Session.state` returns:

* ``graph``: for the selected sample x, every z^(l), a^(l) and delta^(l) and every dC/dW^(l),
  dC/db^(l) from ``net.trace(x, y)``, with W^(l) and b^(l);
* ``regions``: a^(L) on a G x G grid over the plot (the decision regions, or the surface of a
  single non-probability output), and each hidden unit's a_j^(l) on the same grid, as bytes;
* ``history``: the train and test cost C and the training accuracy after each update.

Training is single-sample SGD with replacement, as in Higham & Higham (2019):
W^(l) <- W^(l) - eta a^(l-1)T delta^(l), b^(l) <- b^(l) - eta delta^(l) (``deltaprop.sgd_steps``).
A run of n steps (:meth:`Session.run`) is taken in chunks of about CHUNK_SECONDS each, so that the
server can answer other requests between them; the chunks draw the same rows and give the same
numbers, bit for bit, as one call of n steps.
"""

from __future__ import annotations

import base64
import math
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..activations import ACTIVATIONS
from ..costs import COSTS
from ..engine import sgd_steps
from ..io import json_ready
from ..network import Network
from ..network import classes as classes_of  # the one prediction rule
from ..teach.notation import NOTATIONS
from .data import DATASETS, Points, add_point, make_data, targets

__all__ = ["Config", "Session", "config_from", "warm_up"]

GRID = 100  # the region grid is GRID x GRID points
PHASES = ("none", "forward", "backward")
MAX_HISTORY = 600
MAX_STEPS = 1_000_000  # steps one message may ask for (seconds of work: it runs in chunks)
CHUNK_SECONDS = 0.02  # the time a chunk of a run aims at: how long other requests may wait


@dataclass(frozen=True)
class Config:
    """What the browser chooses: the network, its initialisation, SGD and the data.

    ``sizes=(2, 2, 3, 2)`` means L = 3: W^(1) is (2, 2), W^(2) is (2, 3), W^(3) is (3, 2).
    ``init`` is the standard deviation s of W, b ~ s N(0, 1) (Higham & Higham: 0.5), or 0 for
    deltaprop's default (He or Glorot, biases 0).
    """

    sizes: tuple[int, ...] = (2, 2, 3, 2)
    activations: tuple[str, ...] = ("sigmoid", "sigmoid", "sigmoid")
    cost: str = "quadratic"
    seed: int = 0
    init: float = 0.5
    eta: float = 0.05
    steps: int = 500
    dataset: str = "higham"
    notation: str = "higham"


def _int(value: Any, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{what} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def _float(value: Any, what: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise ValueError(f"{what} must be a number in [{lo:g}, {hi:g}], got {value!r}")
    return float(value)


def _choice(value: Any, what: str, known: Any) -> str:
    if value not in known:
        raise ValueError(f"{what} must be one of {', '.join(known)}, got {value!r}")
    return str(value)


def config_from(obj: Any, base: Config) -> Config:
    """A checked Config from the browser's JSON object; missing keys keep ``base``'s values.

    Raises ValueError (a bad value) or TypeError (not an object) naming the field.
    """
    if not isinstance(obj, dict):
        raise TypeError(f"the configuration must be an object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(Config.__dataclass_fields__))
    if unknown:
        raise ValueError(f"unknown configuration field(s) {', '.join(unknown)}")
    new: dict[str, Any] = {}
    if "sizes" in obj:
        sizes = obj["sizes"]
        if not isinstance(sizes, list) or not 2 <= len(sizes) <= 7:
            raise ValueError(f"sizes must be a list of 2..7 layer widths, got {sizes!r}")
        new["sizes"] = tuple(_int(n, "each width", 1, 16) for n in sizes)
        if new["sizes"][0] != 2:
            raise ValueError(f"the playground's inputs are points in the plane: n_0 must be 2, got {new['sizes'][0]}")
    if "activations" in obj:
        acts = obj["activations"]
        if not isinstance(acts, list):
            raise ValueError(f"activations must be a list of names, got {acts!r}")
        new["activations"] = tuple(_choice(a, "each activation", ACTIVATIONS) for a in acts)
    if "cost" in obj:
        new["cost"] = _choice(obj["cost"], "cost", COSTS)
    if "seed" in obj:
        new["seed"] = _int(obj["seed"], "seed", 0, 2**32 - 1)
    if "init" in obj:
        new["init"] = _float(obj["init"], "init", 0.0, 10.0)
    if "eta" in obj:
        new["eta"] = _float(obj["eta"], "eta", 1e-6, 100.0)
        if new["eta"] <= 0:
            raise ValueError("eta must be > 0")
    if "steps" in obj:
        new["steps"] = _int(obj["steps"], "steps", 1, 100_000)
    if "dataset" in obj:
        new["dataset"] = _choice(obj["dataset"], "dataset", DATASETS)
    if "notation" in obj:
        new["notation"] = _choice(obj["notation"], "notation", NOTATIONS)
    return replace(base, **new)


def _bytes(values: np.ndarray, lo: float, hi: float) -> str:
    """Values in [lo, hi] as base64 of one byte each (0 at lo, 255 at hi)."""
    q = np.clip((values - lo) / (hi - lo), 0.0, 1.0) * 255.0
    return base64.b64encode(np.rint(q).astype(np.uint8).tobytes()).decode("ascii")


def _range(v: np.ndarray) -> tuple[float, float]:
    lo, hi = float(v.min()), float(v.max())
    return (lo, hi) if hi - lo > 1e-12 else (lo - 0.5, hi + 0.5)


class Session:
    """One network with its data, initial parameters and training history.

    Parameters
    ----------
    config : Config, optional
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.data = make_data(self.config.dataset)
        self.sample = 0
        self.build(self.config)

    # ----- building ------------------------------------------------------------------------
    def build(self, config: Config, data: Points | None = None) -> None:
        """A new network from ``config`` (and data); nothing changes when it is refused."""
        if data is None:
            data = self.data if config.dataset == self.data.name else make_data(config.dataset)
        L = len(config.sizes) - 1
        if len(config.activations) != L:
            raise ValueError(f"{L} layers need {L} activations (one per layer), got {len(config.activations)}")
        Y = targets(data.y, config.sizes[-1], data.k)
        Y_test = targets(data.y_test, config.sizes[-1], data.k)
        net = Network(config.sizes, config.activations, config.cost, dtype="float64", seed=config.seed,
                      init=config.init or None)
        if len(data.X):
            net.trace(data.X, Y)  # the cost refuses targets it cannot take (e.g. labels for a softmax)
        self.config, self.data, self.net, self.Y, self.Y_test = config, data, net, Y, Y_test
        self.W0 = [W.copy() for W in net.weights]
        self.b0 = [b.copy() for b in net.biases]
        self.sample = min(self.sample, max(len(data.X) - 1, 0))
        self.rewind()

    def tune(self, obj: Any) -> None:
        """Change eta, the steps per update or the notation, keeping the network and its training."""
        if not isinstance(obj, dict) or not set(obj) <= {"eta", "steps", "notation"}:
            raise ValueError(f"tune changes eta, steps and notation only, got {obj!r:.80}")
        self.config = config_from(obj, self.config)

    def rewind(self) -> None:
        """Back to the initial parameters of the seed, step 0, and the same SGD draws."""
        self.net.weights = [W.copy() for W in self.W0]
        self.net.biases = [b.copy() for b in self.b0]
        self.rng = np.random.default_rng(self.config.seed)
        self.t = 0
        self.phase = "none"
        self.history: list[list[Any]] = []  # rows [t, C train, C test, accuracy], None for NaN
        self._record()

    def add_point(self, x1: Any, x2: Any, label: Any) -> None:
        """Add a clicked point (the data set becomes "clicked") and rebuild the network."""
        data = add_point(self.data, _float(x1, "x1", -1e6, 1e6), _float(x2, "x2", -1e6, 1e6),
                         _int(label, "class", 0, self.data.k - 1))
        self.build(replace(self.config, dataset="clicked"), data)

    def use_data(self, data: Points) -> None:
        """Train on an uploaded data set (the network is rebuilt for it)."""
        self.build(self.config, data)

    # ----- stepping ---------------------------------------------------------------------------
    def set_phase(self, phase: str) -> None:
        """Show the forward pass ("forward") or the forward and backward passes ("backward")."""
        self.phase = _choice(phase, "phase", PHASES)

    def select(self, i: Any) -> None:
        """Select training sample i, whose pass the graph shows."""
        self.sample = _int(i, "sample", 0, max(len(self.data.X) - 1, 0))

    def step(self, n: int | None = None) -> None:
        """n single-sample SGD steps with rate eta (default: the configured steps per update), all at once."""
        for _ in self.run(n):
            pass

    def run(self, n: int | None = None) -> Generator[int, None, None]:
        """n single-sample SGD steps with rate eta, in chunks: a generator that yields the steps done so far
        after each chunk but the last (checked now, run as it is consumed).

        Each chunk aims at CHUNK_SECONDS (its size follows the last chunk's speed); the chunks draw from the
        session's generator in turn, so they give the numbers of one ``sgd_steps`` call of n steps. Closing
        the iterator early stops the run there; t and the history count the steps taken.
        """
        if not len(self.data.X):
            raise ValueError("no training points yet: click on the plot to add some")
        n = self.config.steps if n is None else _int(n, "steps", 1, MAX_STEPS)
        return self._chunks(n, self.config.eta)

    def _chunks(self, n: int, eta: float) -> Generator[int, None, None]:
        net, done, k = self.net, 0, 64
        try:
            while done < n:
                k = min(k, n - done)
                begin = time.perf_counter()
                sgd_steps(net, self.data.X, self.Y, k, eta, self.rng)
                seconds = time.perf_counter() - begin
                done += k
                self.t += k
                k = max(1, min(4 * k, int(k * CHUNK_SECONDS / max(seconds, 1e-9))))  # grows at most 4x a chunk
                if done < n:
                    yield done
        finally:
            if done and self.net is net:  # (a rebuilt network has its own history)
                self.phase = "backward"
                self._record()

    def set_parameter(self, kind: Any, l: Any, i: Any, j: Any, value: Any) -> None:
        """Set W^(l)_ij (kind "W") or b^(l)_j (kind "b", i ignored) by hand; l = 1..L, our numbering."""
        L, n = self.net.L, self.net.sizes
        l = _int(l, "layer l", 1, L)
        j = _int(j, "unit j", 0, n[l] - 1)
        v = _float(value, "value", -1e6, 1e6)
        if kind == "W":
            i = _int(i, "unit i", 0, n[l - 1] - 1)
            self.net.weights[l - 1][i, j] = v
        elif kind == "b":
            self.net.biases[l - 1][j] = v
        else:
            raise ValueError(f"kind must be 'W' or 'b', got {kind!r}")
        self._record(replace_last=True)

    # ----- numbers ------------------------------------------------------------------------------
    def selected(self) -> tuple[np.ndarray, np.ndarray]:
        """The selected sample as (x of shape (1, 2), y of shape (1, n_L))."""
        i = self.sample
        return self.data.X[i:i + 1], self.Y[i:i + 1]

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """The share of points whose predicted class is their label."""
        if not len(X):
            return float("nan")
        return float(np.mean(classes_of(self.net.forward(X)) == y))

    def _record(self, replace_last: bool = False) -> None:
        d = self.data
        nan = float("nan")
        c = self.net.cost(d.X, self.Y) if len(d.X) else nan
        c_test = self.net.cost(d.X_test, self.Y_test) if len(d.X_test) else nan
        row = json_ready((self.t, c, c_test, self.accuracy(d.X, d.y)))  # JSON has no NaN
        if replace_last and self.history and self.history[-1][0] == self.t:
            self.history[-1] = row
        else:
            self.history.append(row)
        if len(self.history) > MAX_HISTORY:  # keep the first row and every other later one (app.js too)
            self.history = self.history[:1] + self.history[2::2]

    def graph(self) -> dict[str, Any]:
        """W, b and, for the selected sample, z, a, delta, dW, db of ``net.trace`` (lists, our layout)."""
        net = self.net
        out: dict[str, Any] = {"W": [W.tolist() for W in net.weights], "b": [b.tolist() for b in net.biases],
                               "phase": self.phase}
        if not len(self.data.X):
            return out
        x, y = self.selected()
        t = net.trace(x, y)
        L = net.L
        out.update(z=[None] + [t.z[l][0].tolist() for l in range(1, L + 1)],
                   a=[t.a[l][0].tolist() for l in range(L + 1)],
                   delta=[None] + [t.delta[l][0].tolist() for l in range(1, L + 1)],
                   dW=[t.dW[l].tolist() for l in range(1, L + 1)], db=[t.db[l].tolist() for l in range(1, L + 1)],
                   x=x[0].tolist(), y=y[0].tolist(), cost=t.cost)
        return out

    def regions(self, G: int = GRID) -> dict[str, Any]:
        """a^(L) on a G x G grid (row 0 at the top, largest x2) and each hidden a_j^(l) on every other point, as bytes."""
        x1lo, x1hi, x2lo, x2hi = self.data.extent
        g1 = np.linspace(x1lo, x1hi, G)
        g2 = np.linspace(x2hi, x2lo, G)
        P = np.column_stack([np.tile(g1, G), np.repeat(g2, G)])  # (G*G, 2), row-major image order
        z, a, _ = self.net._forward(P)  # the engine's forward pass; P is finite float64 by construction
        L, aL = self.net.L, a[self.net.L]
        out: dict[str, Any] = {"G": G, "extent": list(self.data.extent)}
        if aL.shape[1] > 1:  # class = argmax, strength = margin over the runner-up
            top2 = aL if aL.shape[1] == 2 else np.partition(aL, -2, axis=1)[:, -2:]  # (G*G, 2)
            out.update(mode="classes", cls=_bytes(classes_of(aL).astype(float), 0, 255),
                       strength=_bytes(np.abs(top2[:, 1] - top2[:, 0]), 0, 1))
        elif self.net.g[L].probability:
            p = aL[:, 0]
            out.update(mode="classes", cls=_bytes(classes_of(aL).astype(float), 0, 255),
                       strength=_bytes(np.abs(2 * p - 1), 0, 1))
        else:
            lo, hi = _range(aL[:, 0])
            out.update(mode="surface", value=_bytes(aL[:, 0], lo, hi), lo=lo, hi=hi)
        hidden = []
        every = 2 if G >= 64 else 1  # the small maps take every other grid point: (G/2) x (G/2)
        for l in range(1, L):
            for j in range(self.net.sizes[l]):
                v = a[l][:, j].reshape(G, G)[::every, ::every]
                lo, hi = _range(v)
                hidden.append({"l": l, "j": j, "lo": lo, "hi": hi, "value": _bytes(v.ravel(), lo, hi)})
        out["hidden"] = hidden
        out["hidden_G"] = len(range(0, G, every))
        return out

    def state(self, *, full: bool = True) -> dict[str, Any]:
        """Everything the page draws; ``full`` adds the configuration and the data points."""
        m, train = len(self.data.X), self.history[-1][3]
        out: dict[str, Any] = {"type": "state", "t": self.t, "sample": self.sample,
                               "graph": json_ready(self.graph()), "regions": self.regions(),
                               "accuracy": json_ready({
                                   "train": train, "test": self.accuracy(self.data.X_test, self.data.y_test),
                                   "correct": int(round(train * m)) if m else 0, "m": m})}
        # a play update carries the newest history row only; the page appends it (and thins as here)
        out["history" if full else "history_row"] = self.history if full else self.history[-1]
        if full:
            nt = NOTATIONS[self.config.notation]
            out["labels"] = [{"layer": nt.layer(l), "z": nt.sym("z", l), "a": nt.sym("a", l),
                              "delta": nt.sym("delta", l), "W": nt.sym("W", l),
                              "b": nt.sym("W", l) + "_0" if nt.bias_unit else nt.sym("b", l),
                              "out_in": nt.out_in, "cost": nt.cost_letter} for l in range(self.net.L + 1)]
            d = self.data
            out["config"] = {**self.config.__dict__, "sizes": list(self.config.sizes),
                             "activations": list(self.config.activations)}
            out["data"] = {"name": d.name, "X": d.X.tolist(), "y": d.y.tolist(), "X_test": d.X_test.tolist(),
                           "y_test": d.y_test.tolist(), "classes": [str(c) for c in d.classes],
                           "extent": list(d.extent)}
        return out


def warm_up() -> threading.Thread:
    """Compile the per-sample SGD loop in the background for L = 3, 2, 4 layers.

    numba compiles the loop once per number of layers (the weights are a tuple) and caches it on
    disk; without this the first play of a new depth would wait for the compiler.
    """
    def work() -> None:
        for L in (3, 2, 4):
            net = Network([2] * (L + 1), ["sigmoid"] * L, "quadratic", dtype="float64", seed=0)
            sgd_steps(net, np.zeros((1, 2)), np.zeros((1, 2)), 1, 0.1, 0)

    thread = threading.Thread(target=work, name="deltaprop-playground-warm-up", daemon=True)
    thread.start()
    return thread
