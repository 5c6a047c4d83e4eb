r"""Training by (stochastic) gradient descent: seed 002's W <- W - eta x^(l-1) delta^(l)T, in mini-batches.

``train(net, X, Y, ...)`` (also ``net.fit``) shuffles every epoch from a seeded generator, steps
an optimiser from ``deltaprop.optim``, and returns a ``History``. It never prints: progress goes
to ``callbacks``, each called with an ``Event`` after every batch and every epoch. The gradients
come from a kernel of ``deltaprop.engine``: the plain backward pass of ``Network``, or a faster
path that computes the same quantities, chosen with ``kernel=``. The loops over batches and
samples are in ``deltaprop._epochs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import _checks
from ._epochs import Rows, batch_epoch, sample_epoch
from .engine import DivergenceError, blas_limit, check_kernel, count_correct, make_kernel, sample_loop
from .network import Network
from .optim import OPTIMIZERS, make_optimizer, next_epoch
from .stream import Stream


@dataclass
class History:
    """Per-epoch records of a training run (lists indexed by epoch, from 0).

    train_cost is the mean of c over the epoch's rows, each taken before its batch's update: with
    sample_weight, sum_i w_i c_i / sum_i w_i over all the epoch's rows, so a batch of weight 0 counts
    in neither sum; train_accuracy is the unweighted share of rows classified right (all rows).
    """

    train_cost: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    val_cost: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    events: list[str] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Epochs completed."""
        return len(self.train_cost)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """The inverse of ``as_dict``."""
        return cls(**d)


@dataclass(frozen=True)
class Event:
    """What a callback receives: kind is "batch" or "epoch"."""

    kind: str
    epoch: int
    batch: int
    n_batches: int
    samples: int
    history: History
    trainer: Trainer


class Callbacks:
    """A run's callbacks and when each wants a "batch" event (the rest of ``train`` calls ``batch``).

    A callback may say how often it needs the "batch" events, by two optional attributes:
    ``batch_every`` (k: after every k-th batch, counted across epochs; 0: never; default 1) and
    ``batch_seconds`` (s: at most once per s seconds of wall clock; default 0). A display sets
    ``batch_seconds``, a checkpointer ``batch_every``; callbacks without them see every batch.
    The run's first batch and every "epoch" event go to every callback, so each sees the Trainer.
    """

    def __init__(self, callbacks: Sequence[Callable[[Event], None]]) -> None:
        self.callbacks = list(callbacks)
        self.every = [int(getattr(cb, "batch_every", 1)) for cb in self.callbacks]
        self.seconds = [float(getattr(cb, "batch_seconds", 0.0)) for cb in self.callbacks]
        self.last = [-np.inf] * len(self.callbacks)  # when each was last given a "batch" event
        self.timed = any(s > 0 for s in self.seconds)
        self.counted = [k for k, s in zip(self.every, self.seconds) if k > 0 and s == 0]
        self.first = True  # no batch event yet
        self.active = bool(self.callbacks)  # False when no batch event can be due: the loops skip batch()

    def steps(self, done: int, limit: int) -> int:
        """How many batches (at most ``limit``) a loop may run before a callback is due, after ``done``
        batches counted across epochs: 1 when one wants every batch, ``limit`` when none counts."""
        if self.first and self.callbacks:
            return 1
        return min([limit] + [k - done % k for k in self.counted])

    def batch(self, tr: Trainer, n_batches: int, samples: int) -> None:
        """After batch tr.batch of n_batches: a "batch" Event to each callback that is due."""
        done = tr.epoch * n_batches + tr.batch
        now = time.perf_counter() if self.timed else 0.0
        event, first, self.first = None, self.first, False
        self.active = any(k > 0 for k in self.every)
        for i, cb in enumerate(self.callbacks):
            k, s = self.every[i], self.seconds[i]
            if not first and (k == 0 or done % k or (s and now - self.last[i] < s)):
                continue
            self.last[i] = now
            event = event or Event("batch", tr.epoch, tr.batch, n_batches, samples, tr.history, tr)
            cb(event)

    def epoch(self, tr: Trainer, n_batches: int, m: int) -> None:
        """After epoch tr.epoch: an "epoch" Event to every callback."""
        event = Event("epoch", tr.epoch - 1, n_batches, n_batches, m, tr.history, tr)
        for cb in self.callbacks:
            cb(event)


@dataclass
class Trainer:
    """The mutable state of one run: enough to checkpoint and resume it bit for bit."""

    net: Network
    optimizer: Any
    rng: np.random.Generator
    history: History
    epoch: int = 0  # epochs of this call completed
    first_epoch: int = 0  # the schedule's epoch of this call's epoch 0 (see optim.next_epoch)
    batch: int = 0  # batches of the current epoch already applied
    perm: np.ndarray | None = None  # the current epoch's shuffle
    stop: bool = False  # set by a callback to end training after the current batch
    best: tuple[float, list[np.ndarray], list[np.ndarray]] | None = None
    wait: int = 0
    kernel: str = ""  # the kernel that computes the gradients (see deltaprop.engine)
    shuffle: bool = True  # a new permutation of the rows every epoch (else their order)
    halvings: int = 0  # learning-rate halvings so far in this call (on_divergence="halve-lr"; at most MAX_HALVINGS)
    _since_good: int = 0  # steps since the last copy of finite weights
    _start: list[np.ndarray] | None = None  # the weights training started from (the last resort)
    _fresh_restore: bool = False  # no step has succeeded since the last restore
    _acc: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # cost sum, correct, rows

    def state(self) -> dict[str, Any]:
        """Everything but the data and the weights that resuming needs (arrays copied)."""
        return {
            "epoch": self.epoch, "first_epoch": self.first_epoch, "batch": self.batch,
            "perm": None if self.perm is None else self.perm.copy(),
            "rng": self.rng.bit_generator.state, "optimizer": self.optimizer.state_dict(),
            "optimizer_config": self.optimizer.config(), "history": self.history.as_dict(),
            "acc": list(self._acc), "wait": self.wait,
            "best": None if self.best is None else (self.best[0], [W.copy() for W in self.best[1]],
                                                     [b.copy() for b in self.best[2]]),
        }


def _optimizer(optimizer: Any, lr: float | None, options: Any, epochs: int) -> Any:
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"optimizer_options must be a dict, got {type(options).__name__}")
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; known: {', '.join(OPTIMIZERS)}")
        options = dict(options or {})
        if options.get("schedule") == "cosine":  # by name alone: a cosine over this call's epochs
            options["schedule"] = {"name": "cosine", "total_epochs": epochs}
        if lr is not None:
            options["lr"] = lr
        return make_optimizer(optimizer, **options)
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "set_epoch")):
        raise TypeError(f"optimizer must be a name ({', '.join(OPTIMIZERS)}) or an optimizer object with step "
                        f"and set_epoch, got {type(optimizer).__name__}")
    if lr is not None or options:
        raise TypeError("lr and optimizer_options apply to an optimizer given by name; "
                        "set them on the optimizer object instead")
    return optimizer


def train(net: Network, X: Any, Y: Any, *, epochs: int = 10, batch_size: int = 32,
          optimizer: Any = "sgd", lr: float | None = None, optimizer_options: dict[str, Any] | None = None,
          validation: tuple[Any, Any] | None = None, callbacks: Sequence[Callable[[Event], None]] | None = None,
          sample_weight: Any = None, early_stopping: int | None = None, seed: int | None = None,
          shuffle: bool = True, on_divergence: str = "stop", resume: dict[str, Any] | None = None,
          kernel: str = "auto") -> History:
    r"""Train ``net`` in place by mini-batch gradient descent and return its ``History``.

    Parameters
    ----------
    net : Network
    X : array of shape (m, n_0), or a ``deltaprop.stream.Stream`` (rows read a chunk at a time)
    Y : array of shape (m, n_L), or class labels of shape (m,) for classifiers; None with a Stream
    epochs, batch_size : int
        batch_size = 1 is seed 002's per-sample SGD; batch_size >= m is full-batch gradient
        descent (a batch larger than the data is allowed and means the whole data set).
    optimizer : {"sgd", "momentum", "nesterov", "adam"} or an optimizer object
        An object keeps its state between calls, its schedule's place included: a second call
        goes on at the epoch after the first call's last (``deltaprop.optim.next_epoch``).
    lr : float, optional
        The learning rate eta (overrides the optimizer's default).
    optimizer_options : dict, optional
        Further options of the optimizer (momentum, weight_decay, schedule, ...). ``schedule="cosine"``
        by name alone is a cosine over this call's ``epochs``.
    validation : (X_val, Y_val), or a Stream, optional
        Evaluated after every epoch (cost and accuracy).
    callbacks : list of callables, optional
        Each called with an ``Event`` after every batch and every epoch; setting
        ``event.trainer.stop = True`` ends training. A callback with an attribute
        ``batch_every`` (k) or ``batch_seconds`` (s) sees only every k-th batch, or at most one
        batch per s seconds (see ``Callbacks``): a display or a checkpointer then costs nothing
        between its points, and the per-sample compiled loop runs on in between.
    sample_weight : array of shape (m,), optional
        C = sum_i w_i c_i / sum_i w_i over each batch. A batch whose weights sum to 0 carries no
        weight: it makes no update (and no optimizer step), and training goes on.
    early_stopping : int, optional
        Patience: stop after this many epochs without a lower validation cost, and restore
        the best weights.
    seed : int, optional
        Seeds the shuffling (and dropout) generator; default: drawn from ``net.rng``.
    on_divergence : {"stop", "halve-lr"}
        On a NaN or Inf cost or gradient the weights go back to the last good ones; "stop"
        raises ``DivergenceError``, "halve-lr" halves the learning rate and goes on, at most
        30 times in one call (then ``DivergenceError``, with the last good weights in ``net``).
    resume : dict, optional
        A ``Trainer.state()`` from a checkpoint: training continues exactly where it stopped.
    kernel : {"auto", "reference", "numpy", "compiled"}
        What computes the gradients (``deltaprop.engine``): "reference" is the plain
        ``Network`` backward pass; "numpy" the same formulas in place; "compiled" the numba
        loops (sparse first layer; per-sample loop for batch_size = 1 with
        plain SGD). "auto" takes the fastest that applies. All give the same result up to rounding.

    Returns
    -------
    History
    """
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    check_kernel(kernel)
    if on_divergence not in ("stop", "halve-lr"):
        raise ValueError(f"on_divergence must be 'stop' or 'halve-lr', got {on_divergence!r}")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
    if early_stopping is not None:
        early_stopping = _checks.positive_int(early_stopping, "early_stopping")
        if validation is None:
            raise ValueError("early_stopping needs validation data: pass validation=(X_val, Y_val)")
    if validation is not None and not isinstance(validation, Stream) and \
            (not isinstance(validation, (tuple, list)) or len(validation) != 2):
        raise TypeError(f"validation must be a pair (X_val, Y_val), got {type(validation).__name__} (or a Stream)")
    callbacks = list(callbacks or [])
    if not all(callable(cb) for cb in callbacks):
        raise TypeError("callbacks must be a list of callables, each taking an Event")
    for cb in callbacks:
        every, seconds = getattr(cb, "batch_every", 1), getattr(cb, "batch_seconds", 0.0)
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 0:
            raise ValueError(f"a callback's batch_every must be an integer >= 0, got {every!r}")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ValueError(f"a callback's batch_seconds must be a number >= 0, got {seconds!r}")
    feed, w = _feed(net, X, Y, sample_weight)
    m = feed.m
    batch_size = min(batch_size, m)
    val: Any = validation
    if validation is not None and not isinstance(validation, Stream):
        Xval = net._X(validation[0])
        val = (Xval, net._Y(validation[1], Xval.shape[0]))
    opt = _optimizer(optimizer, lr, optimizer_options, epochs)
    if resume is not None:
        _check_resume(resume, feed.order_size, -(-m // batch_size))
    rng = np.random.default_rng(net.rng.integers(2**63) if seed is None and resume is None else seed)
    tr = Trainer(net=net, optimizer=opt, rng=rng, history=History(), shuffle=bool(shuffle),
                 first_epoch=next_epoch(opt))
    if resume is not None:
        _restore(tr, resume)

    loop = sample_loop(net, opt, batch_size, w, kernel) if isinstance(feed, Rows) else None
    kern = None if loop is not None else make_kernel(net, batch_size, getattr(feed, "X", None), getattr(feed, "Y", None),
                                                     kind=kernel, dropout=any(net.dropout))
    tr.kernel = "compiled per-sample loop" if loop is not None else kern.name  # type: ignore[union-attr]
    try:
        with blas_limit(kern), np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked instead
            _epochs(tr, loop, kern, feed, w, batch_size, epochs, val, early_stopping, on_divergence,
                    Callbacks(callbacks))
    finally:
        if kern is not None:
            kern.close()
        if isinstance(feed, Stream):
            feed.release()
    if tr.best is not None and (tr.history.stopped_early or tr.epoch >= epochs):
        net.weights, net.biases = tr.best[1], tr.best[2]
    return tr.history


def _feed(net: Network, X: Any, Y: Any, sample_weight: Any) -> tuple[Rows | Stream, np.ndarray | None]:
    """The rows to train on (checked) and their sample weights."""
    if isinstance(X, Stream):
        if Y is not None or sample_weight is not None:
            raise TypeError("a Stream holds its own targets and takes no sample weights; pass Y=None")
        if X.net is not net:
            raise ValueError("the Stream was made for another network; make it with this one")
        return X, None
    Xv = net._X(X)
    return Rows(Xv, net._Y(Y, Xv.shape[0])), _checks.sample_weight(sample_weight, Xv.shape[0], net.dtype)


def _epochs(tr: Trainer, loop: Any, kern: Any, feed: Rows | Stream, w: np.ndarray | None,
            batch_size: int, epochs: int, val: Any, patience: int | None,
            policy: str, callbacks: Callbacks) -> None:
    """Epochs until ``epochs`` are done or a callback or early stopping sets ``tr.stop``."""
    net, opt, m = tr.net, tr.optimizer, feed.m
    params = net.weights + net.biases
    good = [p.copy() for p in params]  # the last weights known to be finite
    tr._start = [p.copy() for p in params] if policy == "halve-lr" else None
    n_batches = -(-m // batch_size)
    while tr.epoch < epochs and not tr.stop:
        start = time.perf_counter()
        opt.set_epoch(tr.first_epoch + tr.epoch)
        if tr.perm is None:
            tr.perm = feed.order(tr.rng, tr.shuffle)
            tr.batch, tr._acc = 0, [0.0, 0.0, 0.0]
        if loop is not None:
            assert isinstance(feed, Rows)
            sample_epoch(tr, loop, feed.X, feed.Y, params, good, policy, callbacks)
        else:
            batch_epoch(tr, kern, feed, w, batch_size, params, good, policy, callbacks, _dropout_masks)
        if tr.batch < n_batches:
            return  # stopped by a callback in the middle of an epoch
        if isinstance(val, Stream):
            feed.release()  # type: ignore[union-attr]  # the validation rows are read into memory the window held
        _end_epoch(tr, val, patience, time.perf_counter() - start, m, opt)
        callbacks.epoch(tr, n_batches, m)


def _dropout_masks(net: Network, rng: np.random.Generator, m: int) -> dict[int, np.ndarray] | None:
    """Inverted-dropout masks {l: (m, n_l)} for the hidden layers with a rate p > 0, drawn from rng."""
    if not any(net.dropout):
        return None
    masks = {}
    for l, p in enumerate(net.dropout, start=1):
        if p > 0:
            keep = rng.random((m, net.sizes[l]), dtype=np.float64) >= p
            masks[l] = keep.astype(net.dtype) / net.dtype.type(1 - p)  # inverted dropout
    return masks


def _end_epoch(tr: Trainer, val: Any, patience: int | None, seconds: float, m: int, opt: Any) -> None:
    h, net = tr.history, tr.net
    cost_sum, correct, rows = tr._acc
    h.train_cost.append(cost_sum / rows)
    h.train_accuracy.append(correct / m if net.is_classifier else None)
    h.seconds.append(seconds)
    h.lr.append(float(opt.eta))
    if val is not None:
        vc, right = _validation(net, val)
        h.val_cost.append(vc)
        h.val_accuracy.append(right if net.is_classifier else None)
        if patience is not None:
            if tr.best is None or vc < tr.best[0]:
                tr.best = (vc, [W.copy() for W in net.weights], [b.copy() for b in net.biases])
                h.best_epoch, tr.wait = tr.epoch, 0
            else:
                tr.wait += 1
                if tr.wait >= patience:
                    h.stopped_early, tr.stop = True, True
    else:
        h.val_cost.append(None)
        h.val_accuracy.append(None)
    tr.epoch += 1
    tr.perm = None


def _validation(net: Network, val: tuple[np.ndarray, np.ndarray] | Stream) -> tuple[float, float]:
    """The validation rows' cost C and share classified right; a Stream's chunk by chunk (C weighted by rows)."""
    if isinstance(val, tuple):
        z, a, _ = net._forward(val[0])
        return net._cost(z, a, val[1], None), count_correct(a[net.L], val[1]) / len(val[0])
    cost = right = rows = 0.0
    for X, y in val.pieces():
        Y = net._Y(val.targets(y), len(y))
        z, a, _ = net._forward(X)
        cost += net._cost(z, a, Y, None) * len(X)
        right += count_correct(a[net.L], Y)
        rows += len(X)
    return cost / rows, right / rows


def _check_resume(state: Any, m: int, n_batches: int) -> None:
    """ValueError/TypeError unless state looks like a Trainer.state() for m rows (checked before any change)."""
    if not isinstance(state, dict):
        raise TypeError(f"resume must be a dict from Trainer.state(), got {type(state).__name__}")
    missing = sorted({"epoch", "batch", "perm", "rng", "optimizer", "history", "acc"} - set(state))
    if missing:
        raise ValueError(f"resume is missing {', '.join(missing)}; pass a dict from Trainer.state()")
    perm = state["perm"]
    if perm is not None and np.shape(perm) != (m,):
        raise ValueError(f"resume's shuffle is for {np.shape(perm)[0] if np.ndim(perm) else 0} rows (or chunks); "
                         f"the data have {m}")
    first = state.get("first_epoch", 0)
    if isinstance(first, bool) or not isinstance(first, (int, np.integer)) or first < 0:
        raise ValueError(f"resume's first_epoch must be an integer >= 0, got {first!r}")
    if not 0 <= int(state["batch"]) <= n_batches:
        raise ValueError(f"resume's batch {state['batch']} is outside 0..{n_batches} for this batch size")


def _restore(tr: Trainer, state: dict[str, Any]) -> None:
    tr.optimizer.load_state_dict(state["optimizer"])  # validates before it changes anything
    tr.epoch, tr.batch = int(state["epoch"]), int(state["batch"])
    tr.first_epoch = int(state.get("first_epoch", 0))  # absent from checkpoints written before it existed
    tr.perm = None if state["perm"] is None else np.array(state["perm"], dtype=np.int64)
    tr.rng.bit_generator.state = state["rng"]
    tr.history = History.from_dict(state["history"])
    tr._acc = list(state["acc"])
    tr.wait = int(state.get("wait", 0))
    best = state.get("best")
    tr.best = None if best is None else (float(best[0]), list(best[1]), list(best[2]))
