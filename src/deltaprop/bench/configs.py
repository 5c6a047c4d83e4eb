"""What the benchmark runs: the options, the six configurations, and the task each contender trains.

A configuration has one or more points (``784-256-10``, ``width 512``, ...); at each point every
contender has a ``Task``. A task's unit of work is one epoch (``kind="epoch"``) or a fixed number
of single-sample steps (``kind="steps"``), which the harness scales to the configuration's whole
workload (``Point.total_steps``) and labels as extrapolated when fewer steps were timed.
"""

from __future__ import annotations

import dataclasses

import math
from dataclasses import dataclass, field, replace
from typing import Any

#: The configurations, in the order they run.
CONFIG_NAMES = ("minibatch", "per-sample", "higham", "time-to-98", "memory", "scaling")
#: Contenders: deltaprop, its peers, and NumPy baselines.
CONTENDERS = ("deltaprop", "pytorch", "sklearn", "floor", "numpy-loop", "cli")
#: Optional packages whose absence skips a contender (simulate with ``Options.without``).
PACKAGES = {"pytorch": "torch", "sklearn": "sklearn"}
DISPLAY = {"deltaprop": "deltaprop", "pytorch": "PyTorch", "sklearn": "scikit-learn",
           "floor": "floor (NumPy matmuls)", "numpy-loop": "NumPy loop", "cli": "deltaprop train (CLI)"}
TORCH_VERSION = "2.13.0"


@dataclass(frozen=True)
class Task:
    """One contender's training problem; ``sizes=(784, 256, 10)`` means W^(1) is (784, 256).

    ``steps`` (kind "steps") is the number of single-sample steps per unit of work; ``replacement``
    draws the samples with replacement (Higham's rule) instead of one shuffled pass.
    """

    kind: str  # "epoch" or "steps"
    sizes: tuple[int, ...]
    hidden: str = "relu"
    output: str = "softmax"
    cost: str = "cross_entropy"
    optimizer: str = "momentum"  # "sgd" (plain), "momentum" or "adam"
    lr: float = 0.1
    momentum: float = 0.9
    batch_size: int = 128
    steps: int = 0
    slow_steps: int | None = None  # steps to time instead when deltaprop has no compiled fast path
    replacement: bool = False
    dtype: str = "float32"
    init: float | None = None  # None: deltaprop's He/Glorot; a float s: s * N(0, 1) (Higham)
    data: str = "mnist"  # "mnist" (the prepared rows) or "higham" (the ten points)
    kernel: str = "auto"  # deltaprop's train(kernel=...): "numpy" keeps numba (~120 MB) out of the process


@dataclass(frozen=True)
class Point:
    """One measured setting of a configuration: a task per contender."""

    label: str
    tasks: dict[str, Task]
    total_steps: int | None = None  # the whole workload in steps (kind "steps")


@dataclass(frozen=True)
class Target:
    """A promise checked against the results: see ``targets.check``."""

    kind: str  # "ratio", "speedup", "seconds", "memory", "scaling", "reached"
    text: str
    limit: float
    contender: str = "deltaprop"
    other: str | None = None


@dataclass(frozen=True)
class Configuration:
    """A named benchmark: its points, how often they run, and its targets."""

    name: str
    title: str
    unit: str
    points: list[Point]
    rows: tuple[int, int] | None  # (n_train, n_test) of MNIST; None for Higham's points
    rounds: int = 1
    reset_each_round: bool = False  # every round trains a fresh network (one epoch or one run)
    seeds: int = 1  # time-to-accuracy: runs from different seeds
    threshold: float | None = None  # time-to-accuracy: test accuracy to reach
    max_epochs: int = 0
    targets: list[Target] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Options:
    """The benchmark's options, mirrored one to one by the flags of ``deltaprop bench``.

    None means the configuration's own default (smaller with ``quick``).
    """

    configs: tuple[str, ...] = CONFIG_NAMES
    quick: bool = False
    rounds: int | None = None
    seeds: int | None = None
    dataset: str = "mnist"  # or "synthetic" (random rows, for tests and machines without MNIST)
    data_dir: str | None = None
    train_rows: int | None = None
    test_rows: int | None = None
    steps: int | None = None
    widths: tuple[int, ...] | None = None
    depths: tuple[int, ...] | None = None
    threshold: float | None = None
    max_epochs: int | None = None
    time_optimizer: str = "momentum"  # time-to-98: "momentum" (lr 0.1, mu 0.9) or "adam" (lr 1e-3)
    skip: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    threads: int = 2
    seed: int = 0
    timeout: float = 3600.0
    settle: float = 0.3  # seconds of quiet before each timed unit of work (the last one's thread pools wind down)

    def __post_init__(self) -> None:
        for name in self.configs:
            if name not in CONFIG_NAMES:
                raise ValueError(f"unknown configuration {name!r}; expected one of {', '.join(CONFIG_NAMES)}")
        if not self.configs:
            raise ValueError("configs must name at least one configuration")
        for name in self.skip:
            if name not in CONTENDERS or name == "deltaprop":
                raise ValueError(f"cannot skip {name!r}; expected some of {', '.join(CONTENDERS[1:])}")
        for name in self.without:
            if name not in PACKAGES.values():
                raise ValueError(f"without takes optional packages ({', '.join(PACKAGES.values())}), got {name!r}")
        if self.dataset not in ("mnist", "synthetic"):
            raise ValueError(f"dataset must be 'mnist' or 'synthetic', got {self.dataset!r}")
        for key in ("rounds", "seeds", "train_rows", "test_rows", "steps", "max_epochs", "threads"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        for key in ("widths", "depths"):
            value = getattr(self, key)
            if value is not None and (not value or any(not isinstance(v, int) or v < 1 for v in value)):
                raise ValueError(f"{key} must be a non-empty list of positive integers, got {value!r}")
        if self.time_optimizer not in ("momentum", "adam"):
            raise ValueError(f"time_optimizer must be 'momentum' or 'adam', got {self.time_optimizer!r}")
        if self.threshold is not None and not 0 < self.threshold <= 1:
            raise ValueError(f"threshold is a test accuracy in (0, 1], got {self.threshold!r}")
        if not (isinstance(self.timeout, (int, float)) and math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        if isinstance(self.settle, bool) or not (isinstance(self.settle, (int, float)) and 0 <= self.settle < math.inf):
            raise ValueError(f"settle must be a number of seconds >= 0, got {self.settle!r}")


def _rows(opts: Options, quick: tuple[int, int], full: tuple[int, int]) -> tuple[int, int]:
    n_train, n_test = quick if opts.quick else full
    return opts.train_rows or n_train, opts.test_rows or n_test


def _steps(opts: Options, default: int, total: int) -> int:
    return min(opts.steps or default, total)


MLP = Task(kind="epoch", sizes=(784, 256, 10))  # ReLU + softmax + CE, SGD momentum 0.9, lr 0.1, batch 128


def minibatch(opts: Options) -> Configuration:
    """Seconds per epoch of the 784-256-10 network with mini-batches of 128."""
    tasks = {c: MLP for c in ("deltaprop", "pytorch", "sklearn", "floor", "cli")}
    return Configuration(
        "minibatch", "MNIST 784-256-10, SGD momentum 0.9, lr 0.1, batch 128, float32", "s/epoch",
        [Point("784-256-10", tasks)], _rows(opts, (10_000, 2_000), (60_000, 10_000)),
        rounds=opts.rounds or (2 if opts.quick else 15),  # paired rounds, as issue 4 measures (15-20)
        targets=[Target("ratio", "deltaprop <= 0.55 x PyTorch", 0.55, other="pytorch"),
                 Target("ratio", "deltaprop <= 1.2 x floor", 1.2, other="floor"),
                 Target("ratio", "deltaprop train (CLI) <= 0.55 x PyTorch", 0.55, contender="cli", other="pytorch")],
        note="floor: only the five matrix products of each batch, back to back, in NumPy float32; "
             "CLI: the second epoch of `deltaprop train --epochs 2 --quiet`, a fresh process each round")


def per_sample(opts: Options) -> Configuration:
    """Seed 002's rule: plain SGD, one sample per step, over one epoch."""
    rows = _rows(opts, (10_000, 2_000), (60_000, 10_000))
    total = rows[0]
    one = Task(kind="steps", sizes=(784, 256, 10), optimizer="sgd", lr=0.01, momentum=0.0, batch_size=1)
    tasks = {"deltaprop": replace(one, steps=_steps(opts, total, total),
                                  slow_steps=_steps(opts, 3_000, total) if opts.quick else None),
             "pytorch": replace(one, steps=_steps(opts, 1_000 if opts.quick else 5_000, total))}
    return Configuration(
        "per-sample", "MNIST 784-256-10, plain SGD lr 0.01, batch 1, float32", "s/epoch",
        [Point("784-256-10", tasks, total_steps=total)], rows, rounds=opts.rounds or (2 if opts.quick else 3),
        reset_each_round=True, targets=[Target("speedup", "deltaprop >= 5 x faster than PyTorch", 5.0,
                                               other="pytorch")],
        note=f"one epoch = {total:,} steps; every round starts from the same fresh network")


def higham(opts: Options) -> Configuration:
    """Higham & Higham's 2-2-3-2 sigmoid network: 10^6 single-sample steps, eta 0.05."""
    total = 1_000_000
    one = Task(kind="steps", sizes=(2, 2, 3, 2), hidden="sigmoid", output="sigmoid", cost="quadratic",
               optimizer="sgd", lr=0.05, momentum=0.0, batch_size=1, replacement=True, dtype="float64",
               init=0.5, data="higham")
    tasks = {"deltaprop": replace(one, steps=_steps(opts, total, total),
                                  slow_steps=_steps(opts, 5_000 if opts.quick else 50_000, total)),
             "pytorch": replace(one, steps=_steps(opts, 2_000 if opts.quick else 20_000, total)),
             "numpy-loop": replace(one, steps=_steps(opts, 10_000 if opts.quick else 50_000, total))}
    return Configuration(
        "higham", "Higham 2-2-3-2 sigmoid, quadratic cost, 10^6 SGD steps, eta 0.05, float64", "s/10^6 steps",
        [Point("2-2-3-2", tasks, total_steps=total)], None, rounds=opts.rounds or (2 if opts.quick else 3),
        reset_each_round=True, targets=[Target("seconds", "deltaprop <= 2 s for 10^6 steps", 2.0)],
        note="points drawn with replacement; accuracy is on the ten points")


def time_to_98(opts: Options) -> Configuration:
    """Wall time (evaluation excluded) until the test accuracy reaches the threshold."""
    threshold = opts.threshold or (0.92 if opts.quick else 0.98)  # quick: 10,000 rows reach ~94 %
    task = MLP if opts.time_optimizer == "momentum" else replace(MLP, optimizer="adam", lr=1e-3)
    setting = "SGD momentum 0.9, lr 0.1" if opts.time_optimizer == "momentum" else "Adam lr 0.001"
    tasks = {c: task for c in ("deltaprop", "pytorch")}
    return Configuration(
        "time-to-98", f"MNIST 784-256-10 until test accuracy >= {threshold:.1%}", "s to target",
        [Point("784-256-10", tasks)], _rows(opts, (10_000, 2_000), (60_000, 10_000)),
        seeds=opts.seeds or (1 if opts.quick else 5), threshold=threshold,
        max_epochs=opts.max_epochs or (5 if opts.quick else 20),
        targets=[Target("ratio", "deltaprop <= 0.6 x PyTorch (median over seeds)", 0.6, other="pytorch")],
        note=f"{setting}, batch 128 for both, from the same initial weights; evaluation not timed")


def memory(opts: Options) -> Configuration:
    """Peak resident memory of a fresh worker that loads MNIST and trains one epoch."""
    tasks = {c: MLP for c in ("pytorch", "sklearn")}
    tasks["deltaprop"] = dataclasses.replace(MLP, kernel="numpy")
    return Configuration(
        "memory", "peak RSS of a fresh process training MNIST for one epoch", "s/epoch",
        [Point("784-256-10", tasks)], _rows(opts, (10_000, 2_000), (60_000, 10_000)), rounds=1,
        targets=[Target("memory", "deltaprop peak RSS <= float32 data + 50 MB", 50 * 2**20)],
        note="peak RSS of the whole worker process (interpreter and libraries included); deltaprop runs its "
             "NumPy kernel here, since importing and compiling numba alone takes about 120 MB")


def scaling(opts: Options) -> Configuration:
    """Epoch time against the hidden width (one layer) and the depth (width 256)."""
    widths = opts.widths or ((64, 256, 1024) if opts.quick else (64, 128, 256, 512, 1024, 2048))
    depths = opts.depths or ((1, 2, 4) if opts.quick else (1, 2, 3, 4))
    points = []
    for kind, values in (("width", widths), ("depth", depths)):
        for v in values:
            hidden = (v,) if kind == "width" else (256,) * v
            task = replace(MLP, sizes=(784, *hidden, 10))
            points.append(Point(f"{kind} {v}", {c: task for c in ("deltaprop", "pytorch", "floor")}))
    rows = _rows(opts, (2_000, 500), (10_000, 1_000))
    return Configuration(
        "scaling", f"epoch time vs width and depth ({rows[0]:,} MNIST rows per epoch)", "s/epoch", points,
        rows, rounds=opts.rounds or (2 if opts.quick else 5),  # short epochs: the slopes need several rounds
        targets=[Target("scaling", "deltaprop's time grows no faster than the floor's (width)", 0.1),
                 Target("scaling", "deltaprop's time grows no faster than the floor's (depth)", 0.1,
                        other="depth")],
        note="log-log slope of the median epoch time; PASS when deltaprop's is at most the floor's + 0.1")


BUILDERS = {"minibatch": minibatch, "per-sample": per_sample, "higham": higham, "time-to-98": time_to_98,
            "memory": memory, "scaling": scaling}


def plan(opts: Options) -> list[Configuration]:
    """The configurations that ``opts`` selects, in ``CONFIG_NAMES`` order."""
    return [BUILDERS[name](opts) for name in CONFIG_NAMES if name in opts.configs]


def as_dict(opts: Options) -> dict[str, Any]:
    """The options as plain JSON values."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in opts.__dict__.items()}
