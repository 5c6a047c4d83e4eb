"""``deltaprop train``: build a network for a data set, train it, report, save.

Every flag is a field of ``deltaprop.config.TrainConfig``; ``--out``, ``--metrics-json`` and
``--quiet`` only choose what is written where.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import fields
from typing import Any

import numpy as np

from ..config import HELP, TrainConfig
from ._common import nonnegative_float, positive_float, positive_int, stderr_console, stdout_console, write_json

DEFAULT_LR = {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1, "adam": 0.001}


def _choices() -> dict[str, list[str]]:
    from ..activations import ACTIVATIONS
    from ..costs import COSTS
    from ..optim import OPTIMIZERS, SCHEDULES

    hidden = [n for n, cls in ACTIVATIONS.items() if getattr(cls, "elementwise", True)]
    return {"activation": sorted(hidden), "cost": sorted(COSTS), "optimizer": list(OPTIMIZERS),
            "schedule": list(SCHEDULES), "dtype": ["float32", "float64"],
            "on_divergence": ["stop", "halve-lr"]}


def _fraction(text: str) -> float:
    value = nonnegative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


TYPES: dict[str, Any] = {"lr": positive_float, "momentum": nonnegative_float, "weight_decay": nonnegative_float,
                         "batch_size": positive_int, "epochs": positive_int, "seed": int, "dropout": _fraction,
                         "early_stopping": positive_int, "validation_fraction": _fraction,
                         "checkpoint_every": positive_int}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, plus --out, --metrics-json, --quiet."""
    choices = _choices()
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        kw: dict[str, Any] = {"dest": f.name, "default": getattr(defaults, f.name)}
        if f.name == "hidden":
            kw.update(nargs="+", type=positive_int, metavar="WIDTH")
        elif f.name in choices:
            kw.update(choices=choices[f.name], metavar=f.name.upper())
        elif f.name in TYPES:
            kw["type"] = TYPES[f.name]
        kw["help"] = HELP[f.name].format(choices=", ".join(choices.get(f.name, [])))
        p.add_argument(flag, **kw)
    p.add_argument("--out", metavar="MODEL", help="save the trained model (safetensors) to this path")
    p.add_argument("--metrics-json", metavar="PATH", help="write metrics, history and configuration as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that the parsed flags describe."""
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    values["hidden"] = tuple(values["hidden"])
    if values["lr"] is None:
        values["lr"] = DEFAULT_LR[values["optimizer"]]
    return TrainConfig(**values)


def build_network(cfg: TrainConfig, n_0: int, K: int) -> Any:
    """[n_0, *hidden, K] with the hidden activation and the output that the cost needs."""
    from ..network import Network

    L_hidden = len(cfg.hidden)
    return Network([n_0, *cfg.hidden, K], [cfg.activation] * L_hidden + [cfg.output_activation()], cfg.cost,
                   dtype=cfg.dtype, seed=cfg.seed, dropout=[cfg.dropout] * L_hidden)


def optimizer_options(cfg: TrainConfig) -> dict[str, Any]:
    """The optimizer's options from the configuration."""
    opts: dict[str, Any] = {"weight_decay": cfg.weight_decay}
    if cfg.optimizer in ("momentum", "nesterov"):
        opts["momentum"] = cfg.momentum
    if cfg.schedule == "step":
        from ..optim import make_schedule

        opts["schedule"] = make_schedule("step", step_size=max(1, cfg.epochs // 3), gamma=0.1)
    elif cfg.schedule == "cosine":
        from ..optim import make_schedule

        opts["schedule"] = make_schedule("cosine", total_epochs=cfg.epochs)
    return opts


class Progress:
    """A rich progress bar per epoch on stderr: cost, accuracy, samples per second."""

    def __init__(self, epochs: int, quiet: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(TextColumn("epoch {task.fields[epoch]}/" + str(epochs)), BarColumn(),
                                MofNCompleteColumn(), TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                                console=stderr_console(quiet), transient=False)
        self.task: Any = None
        self.start = time.perf_counter()

    def __call__(self, event: Any) -> None:
        if event.kind == "batch":
            if self.task is None:
                self.start = time.perf_counter()
                self.task = self.bar.add_task("", total=event.n_batches, epoch=event.epoch + 1, stats="")
            acc = event.trainer._acc
            if event.batch % max(1, event.n_batches // 50) == 0 or event.batch == event.n_batches:
                rate = event.samples / max(time.perf_counter() - self.start, 1e-9)
                stats = f"cost {acc[0] / max(acc[2], 1):.4f}  acc {acc[1] / max(event.samples, 1):.4f}  {rate:,.0f} samples/s"
                self.bar.update(self.task, completed=event.batch, stats=stats)
        elif event.kind == "epoch":
            h = event.history
            val = "" if h.val_accuracy[-1] is None else f"  val acc {h.val_accuracy[-1]:.4f}"
            stats = f"cost {h.train_cost[-1]:.4f}  acc {h.train_accuracy[-1] or 0:.4f}{val}  {h.seconds[-1]:.2f} s"
            if self.task is not None:
                self.bar.update(self.task, completed=event.n_batches, stats=stats)
            self.task = None


def run(args: argparse.Namespace) -> int:
    """Train as configured; print a summary table to stdout."""
    from ..datasets import load_dataset
    from ..kernels import count_correct
    from ..train import train

    cfg = config_from(args)
    ds = load_dataset(cfg.dataset, data_dir=cfg.data_dir, target=cfg.target, seed=0)  # a fixed split
    net = build_network(cfg, ds.n_features, ds.n_classes)
    net.scaling, net.classes = ds.scaling, ds.classes
    X, y, validation = ds.X_train, ds.y_train, None
    if cfg.early_stopping is not None:
        order = np.random.default_rng(cfg.seed).permutation(len(y))
        n_val = max(1, int(round(cfg.validation_fraction * len(y))))
        validation = (X[order[:n_val]], y[order[:n_val]])
        X, y = X[order[n_val:]], y[order[n_val:]]
    progress = Progress(cfg.epochs, args.quiet)
    start = time.perf_counter()
    with progress.bar:
        history = train(net, X, y, epochs=cfg.epochs, batch_size=cfg.batch_size, optimizer=cfg.optimizer,
                        lr=cfg.lr, optimizer_options=optimizer_options(cfg), validation=validation,
                        callbacks=[progress], early_stopping=cfg.early_stopping, seed=cfg.seed,
                        on_divergence=cfg.on_divergence)
    wall = time.perf_counter() - start
    test_cost = net.cost(ds.X_test, ds.y_test)
    test_acc = count_correct(net.forward(ds.X_test), np.eye(ds.n_classes)[ds.y_test]) / len(ds.y_test)
    if args.out:
        net.save(args.out)
    metrics = {"test_accuracy": test_acc, "test_cost": test_cost, "train_cost": history.train_cost,
               "train_accuracy": history.train_accuracy, "val_cost": history.val_cost,
               "val_accuracy": history.val_accuracy, "seconds": history.seconds, "wall_seconds": wall,
               "epochs_run": history.epochs, "stopped_early": history.stopped_early, "events": history.events,
               "n_params": net.n_params, "sizes": list(net.sizes), "config": cfg.as_dict(),
               "dataset": {"name": ds.name, "train": len(ds.y_train), "test": len(ds.y_test)}}
    if args.metrics_json:
        write_json(args.metrics_json, metrics)
    if cfg.plot:
        from ..plots import learning_curves

        learning_curves(history, cfg.plot)
    _summary(cfg, net, ds, history, test_acc, test_cost, wall, args.out)
    return 0


def _summary(cfg: TrainConfig, net: Any, ds: Any, history: Any, acc: float, cost: float, wall: float,
             out: str | None) -> None:
    from rich.table import Table

    table = Table(title=f"deltaprop train: {ds.name}", show_header=False)
    rows = [("network", "-".join(map(str, net.sizes)) + f"  ({', '.join(net.activations)}; {net.cost_name})"),
            ("optimizer", f"{cfg.optimizer}, lr {cfg.lr:g}, batch {cfg.batch_size}"),
            ("epochs", f"{history.epochs}" + ("  (stopped early)" if history.stopped_early else "")),
            ("final train cost", f"{history.train_cost[-1]:.5f}"),
            ("test cost", f"{cost:.5f}"), ("test accuracy", f"{acc:.4f}"),
            ("training time", f"{sum(history.seconds):.2f} s (wall {wall:.2f} s)")]
    if out:
        rows.append(("model", out))
    for k, v in rows:
        table.add_row(k, v)
    stdout_console().print(table)
