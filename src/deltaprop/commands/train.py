"""``deltaprop train``: build a network for a data set, train it, report, save.

Every flag is a field of ``deltaprop.config.TrainConfig``; ``--out``, ``--metrics-json`` and
``--quiet`` only choose what is written where.

Faults lose nothing: ``--checkpoint-dir DIR`` replaces DIR/checkpoint.safetensors atomically after
every epoch (and every ``--checkpoint-every N`` batches), ``--resume DIR`` continues bit for bit
with the configuration stored there, Ctrl-C saves a checkpoint and exits with 130, and a run whose
cost or gradients become NaN or Inf saves its last good weights and exits with 1.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from ..config import HELP, TrainConfig
from ..datasets.stream import StreamData, is_streamed, open_stream
from ..engine.support import warm_up
from ._common import (Interrupt, free_dir, nonnegative_float, nonnegative_int, positive_float, positive_int,
                      stdout_console, summarised, write_json)
from ._paths import check_train_files, save_or_rescue
from ._stream import stream_scores, streams
from ._progress import Progress


def _choices() -> dict[str, list[str]]:
    from ..activations import ACTIVATIONS
    from ..costs import COSTS
    from ..optim import OPTIMIZERS, SCHEDULES

    hidden = [n for n, cls in ACTIVATIONS.items() if getattr(cls, "elementwise", True)]
    return {"activation": sorted(hidden), "cost": sorted(COSTS), "optimizer": list(OPTIMIZERS),
            "schedule": list(SCHEDULES), "dtype": ["float32", "float64"],
            "on_divergence": ["stop", "halve-lr"], "task": ["auto", "classification", "regression"]}


def _fraction(text: str) -> float:
    value = nonnegative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


TYPES: dict[str, Any] = {"lr": positive_float, "momentum": _fraction, "weight_decay": nonnegative_float,
                         "batch_size": positive_int, "epochs": positive_int, "seed": nonnegative_int,
                         "dropout": _fraction, "early_stopping": nonnegative_int, "validation_fraction": _fraction,
                         "checkpoint_every": positive_int, "subset": positive_int}
# Flags that --resume takes from the command line; every other one comes from the checkpoint.
RESUME_OVERRIDES = ("data_dir", "on_divergence", "checkpoint_dir", "checkpoint_every", "plot", "resume")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, plus --out, --metrics-json, --quiet."""
    choices = _choices()
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        kw: dict[str, Any] = {"dest": f.name, "default": getattr(defaults, f.name)}
        if f.name == "hidden":
            kw.update(nargs="+", type=positive_int, metavar="WIDTH")
        elif f.name == "header":
            kw["action"] = argparse.BooleanOptionalAction
        elif f.name in choices:
            kw.update(choices=choices[f.name], metavar=f.name.upper())
        elif f.name in TYPES:
            kw["type"] = TYPES[f.name]
        kw["help"] = HELP[f.name].format(choices=", ".join(choices.get(f.name, [])))
        p.add_argument(flag, **kw)
    p.add_argument("--out", metavar="MODEL", help="save the trained model (safetensors) to this path")
    p.add_argument("--metrics-json", metavar="PATH", help="write metrics, history and configuration as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def config_from(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that the parsed flags describe."""
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    values["hidden"] = tuple(values["hidden"])
    return TrainConfig(**values)


def build_network(cfg: TrainConfig, n_0: int, K: int) -> Any:
    """[n_0, *hidden, K] with the hidden activation and the output that the task and cost need (cfg resolved)."""
    from ..network import Network

    L_hidden = len(cfg.hidden)
    return Network([n_0, *cfg.hidden, K], [cfg.activation] * L_hidden + [cfg.output_activation()], str(cfg.cost),
                   dtype=cfg.dtype, seed=cfg.seed, dropout=[cfg.dropout] * L_hidden)


def optimizer_options(cfg: TrainConfig) -> dict[str, Any]:
    """The optimizer's options from the configuration."""
    opts: dict[str, Any] = {"weight_decay": cfg.weight_decay}
    if cfg.optimizer in ("momentum", "nesterov"):
        opts["momentum"] = cfg.momentum
    if cfg.schedule == "step":
        from ..optim import make_schedule

        opts["schedule"] = make_schedule("step", step_size=max(1, int(cfg.epochs or 1) // 3), gamma=0.1)
    elif cfg.schedule == "cosine":
        from ..optim import make_schedule

        opts["schedule"] = make_schedule("cosine", total_epochs=cfg.epochs)
    return opts


def run(args: argparse.Namespace) -> int:
    """Train as configured (or resume); print a summary table to stdout.

    Every output is checked before any work, and the checkpoint folder is locked for the whole run.
    """
    from ..checkpoint import checkpoint_path
    from ._paths import folder_lock

    cfg, ck = _configure(args)
    check_train_files(args, cfg, ck)
    if cfg.checkpoint_dir is None:
        return _run(args, cfg, ck)
    with folder_lock(checkpoint_path(cfg.checkpoint_dir).parent):
        target = checkpoint_path(cfg.checkpoint_dir)
        if target.exists() and (ck is None or target.resolve() != ck.path.resolve()):
            raise ValueError(f"{target.parent} already holds a checkpoint; continue it with --resume "
                             f"{target.parent}, or choose another --checkpoint-dir (nothing was overwritten)")
        return _run(args, cfg, ck)


def _run(args: argparse.Namespace, cfg: TrainConfig, ck: Any) -> int:
    from ..checkpoint import Checkpointer, position
    from ..optim import make_optimizer
    from ..train import DivergenceError, train
    from .evaluate import scores, targets_for

    asked = cfg.task
    warm = warm_up() if cfg.dataset == "mnist" else None  # the compiled loops get ready while MNIST is read
    ds = _load_data(cfg)
    if warm is not None:
        warm.join()
    streamed = isinstance(ds, StreamData)
    cfg = cfg.resolved(ds.task)
    epochs = int(cfg.epochs or 0)
    digest = ds.digest if streamed else _fingerprint(ds.X_train, ds.y_train)
    if ck is not None:
        if ck.extra.get("data_sha256") != digest:
            raise ValueError(f"{ck.path}: the training data differ from those the checkpoint was trained on "
                             f"(data set {cfg.dataset!r}); resume with the same data")
        net = ck.net
    else:
        net = build_network(cfg, ds.n_features, ds.n_outputs)
        net.scaling, net.classes, net.target_scaling = ds.scaling, ds.classes or None, ds.target_scaling
        net.data = _provenance(cfg, ds)
    if streamed:
        X, y, validation = streams(cfg, net, ds)
        if ds.test_only:
            print(f"deltaprop: note: only the held-out last {ds.n_test} rows hold class(es) "
                  f"{', '.join(map(repr, ds.test_only))}, so training never sees them: is the file sorted by its "
                  "target? The test score will mislead; shuffle the rows on disk", file=sys.stderr)
        if ds.train_only:
            print(f"deltaprop: note: the held-out last {ds.n_test} rows hold no row of class(es) "
                  f"{', '.join(map(repr, ds.train_only))}, so the test score does not measure them: is the file "
                  "sorted by its target? Shuffle the rows on disk", file=sys.stderr)
    else:
        X, y, validation = ds.X_train, targets_for(net, ds.y_train), None  # one-hot unless net.is_classifier
    if cfg.early_stopping and not streamed:
        order = np.random.default_rng(cfg.seed).permutation(len(y))
        n_val = max(1, round(cfg.validation_fraction * len(y)))
        if n_val >= len(y):
            raise ValueError(f"--validation-fraction {cfg.validation_fraction} holds out all {len(y)} training "
                             "rows; choose a smaller fraction")
        validation = (X[order[:n_val]], y[order[:n_val]])
        X, y = X[order[n_val:]], y[order[n_val:]]
    make_optimizer(str(cfg.optimizer), lr=cfg.lr, **optimizer_options(cfg))  # refuse bad options before any output
    m = X.m if streamed else len(y)
    if cfg.batch_size > m:
        print(f"deltaprop: note: --batch-size {cfg.batch_size} is larger than the {m} training rows; every "
              f"step uses all {m} rows (full-batch gradient descent)", file=sys.stderr)
    extra = {"config": cfg.as_dict(), "data_sha256": digest,
             "outputs": {k: None if v is None else str(Path(v).resolve())
                         for k, v in (("out", args.out), ("metrics_json", args.metrics_json))}}
    keeper = Checkpointer(cfg.checkpoint_dir, every=cfg.checkpoint_every, extra=extra) if cfg.checkpoint_dir else None
    if ck is not None and ck.state["history"].get("stopped_early"):
        epochs = int(ck.state["epoch"])  # finished by early stopping: only restore the best weights
    interrupt = Interrupt()
    progress = None if args.quiet else Progress(int(cfg.epochs or 0))  # --quiet: no display, nothing per batch
    start = time.perf_counter()
    with interrupt.installed(), np.errstate(all="ignore"), progress or contextlib.nullcontext():  # NaN/Inf: divergence
        try:
            history = train(net, X, y, epochs=epochs, batch_size=cfg.batch_size, optimizer=cfg.optimizer,
                            lr=cfg.lr, optimizer_options=optimizer_options(cfg), validation=validation,
                            callbacks=[c for c in (progress, interrupt, keeper) if c is not None],
                            early_stopping=cfg.early_stopping or None, seed=cfg.seed, on_divergence=cfg.on_divergence,
                            resume=None if ck is None else ck.state)
        except DivergenceError as exc:
            return _diverged(exc, net, args.out, keeper, cfg.on_divergence)
    tr = interrupt.trainer
    if interrupt.fired and tr is not None and tr.epoch < epochs and not history.stopped_early:
        keeper = keeper or Checkpointer(free_dir("deltaprop-checkpoint"), extra=extra)
        keeper.save(tr)
        folder = keeper.path.parent
        print(f"deltaprop: interrupted at {position(tr.state())}; checkpoint saved to {folder}; "
              f"continue with: deltaprop train --resume {folder}", file=sys.stderr)
        return 130
    for line in summarised(history.events):
        print(f"deltaprop: note: {line}", file=sys.stderr)
    wall = time.perf_counter() - start
    test = {f"test_{k}": v for k, v in (stream_scores(net, ds) if streamed else
                                         scores(net, ds.X_test, ds.y_test)).items()}
    settings = _settings(cfg, ds, asked, "" if tr is None else tr.kernel)
    if args.out:
        save_or_rescue(net, args.out, keeper)
    metrics = {**test, **settings, "train_cost": history.train_cost,
               "train_accuracy": history.train_accuracy, "val_cost": history.val_cost,
               "val_accuracy": history.val_accuracy, "seconds": history.seconds, "wall_seconds": wall,
               "epochs_run": history.epochs, "stopped_early": history.stopped_early, "events": history.events,
               "n_params": net.n_params, "sizes": list(net.sizes), "config": cfg.as_dict(),
               "dataset": {"name": ds.name, "train": settings["n_train"], "test": settings["n_test"]},
               "resumed_from": None if ck is None else str(ck.path),
               "checkpoints_written": 0 if keeper is None else keeper.writes}
    if args.metrics_json:
        write_json(args.metrics_json, metrics)
    if cfg.plot:
        from ..plots import learning_curves

        learning_curves(history, cfg.plot)
    _summary(cfg, net, ds, history, test, settings, wall, args.out)
    return 0


def _configure(args: argparse.Namespace) -> tuple[TrainConfig, Any]:
    """The TrainConfig of the flags, or with --resume the checkpoint's (and the checkpoint)."""
    from ..checkpoint import load_checkpoint

    cfg = config_from(args)
    ck = None
    if cfg.resume is not None:
        ck = load_checkpoint(cfg.resume)
        stored = dict(ck.extra.get("config") or {})
        known = {f.name for f in fields(TrainConfig)}
        if not stored or set(stored) - known:
            raise ValueError(f"{ck.path}: no training configuration stored (or unknown fields "
                             f"{sorted(set(stored) - known)}); it was not written by deltaprop train")
        stored["hidden"] = tuple(stored.get("hidden", ()))
        defaults = TrainConfig()
        for name in known - set(RESUME_OVERRIDES):
            given = getattr(args, name)
            given = tuple(given) if name == "hidden" else given
            if given != getattr(defaults, name) and given != stored.get(name, getattr(defaults, name)):
                flag = "--" + name.replace("_", "-")
                raise ValueError(f"--resume takes the configuration from {ck.path}; {flag} {given} differs from "
                                 f"its {stored.get(name)!r} (drop {flag}, or start a new run)")
        overrides = {k: getattr(args, k) for k in RESUME_OVERRIDES if getattr(args, k) != getattr(defaults, k)}
        overrides.setdefault("checkpoint_dir", cfg.resume)
        cfg = TrainConfig(**{**stored, **overrides})
        outputs = ck.extra.get("outputs") or {}
        if not isinstance(outputs, dict) or not all(v is None or isinstance(v, str) for v in outputs.values()):
            raise ValueError(f"{ck.path}: malformed checkpoint: 'outputs' must map out and metrics_json to paths "
                             f"or null, got {outputs!r:.100}")
        args.out = args.out or outputs.get("out")
        args.metrics_json = args.metrics_json or outputs.get("metrics_json")
    if cfg.checkpoint_every is not None and cfg.checkpoint_dir is None:
        raise ValueError("--checkpoint-every needs --checkpoint-dir DIR (where to write the checkpoints)")
    if cfg.subset is not None and cfg.dataset != "mnist":
        raise ValueError(f"--subset applies to --dataset mnist only, got --dataset {cfg.dataset!r}")
    return cfg, ck


def _load_data(cfg: TrainConfig) -> Any:
    from ..datasets import load_dataset, load_mnist

    if cfg.subset is not None:
        return load_mnist(cfg.data_dir, subset=(cfg.subset, max(1, cfg.subset // 5)))
    if is_streamed(cfg.dataset):
        if cfg.header is not None:
            raise ValueError(f"--header and --no-header apply to CSV files only, got --dataset {cfg.dataset}")
        return open_stream(cfg.dataset, target=cfg.target, task=cfg.task)
    return load_dataset(cfg.dataset, data_dir=cfg.data_dir, target=cfg.target, seed=0,  # a fixed split
                        task=cfg.task, header=cfg.header)


def _fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of the training rows and labels, so a resumed run refuses other data."""
    h = hashlib.sha256(str((X.shape, X.dtype.str, y.dtype.str)).encode())
    h.update(np.ascontiguousarray(X).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return h.hexdigest()


def _diverged(exc: Exception, net: Any, out: str | None, keeper: Any, policy: str) -> int:
    """Save the last good weights (to --out and DIR/last-good.safetensors), say so in one line; exit code 1."""
    saved = []
    if out:
        net.save(out)
        saved.append(str(out))
    if keeper is not None:
        path = keeper.path.parent / "last-good.safetensors"
        path.parent.mkdir(parents=True, exist_ok=True)
        net.save(path)
        saved.append(str(path))
    text = f"deltaprop: {exc}"
    if saved:
        text += f"; saved them to {' and '.join(saved)}"
    else:  # the library's "kept" means kept in the network, which this process is about to drop
        text = text.removesuffix("; the last good weights were kept")
        text += "; nothing was saved (no --out or --checkpoint-dir given)"
    if keeper is not None and keeper.path.exists() and policy == "stop":
        text += (f"; the last checkpoint is untouched: deltaprop train --resume {keeper.path.parent} "
                 "--on-divergence halve-lr goes on from it")
    else:
        text += "; lower --lr" + (" or use --on-divergence halve-lr" if policy == "stop" else "")
    print(" ".join(text.split()), file=sys.stderr)
    return 1


def _task_reason(asked: str, ds: Any) -> str:
    """Why the task is what it is, and how to choose the other one."""
    other = "classification" if ds.task == "regression" else "regression"
    if asked != "auto":
        return f"--task {asked}"
    if ds.task == "regression":
        y = ds.distinct if isinstance(ds, StreamData) else np.concatenate([ds.y_train, ds.y_test])
        why = ("the targets are not all integers" if not np.all(y == np.round(y))
               else f"{len(np.unique(y))} distinct integer targets, more than 50")
    else:
        why = ("the labels are text" if any(isinstance(c, str) for c in ds.classes)
               else f"{ds.n_classes} distinct integer labels")
    return f"auto: {why}; --task {other} to override"


def _settings(cfg: TrainConfig, ds: Any, asked: str, kernel: str) -> dict[str, Any]:
    """Every choice that shapes training, as written to the metrics JSON and shown in the summary."""
    if isinstance(ds, StreamData):
        split: dict[str, Any] = {"kind": "last rows", "test_fraction": ds.test_fraction}
        n_train, n_test = ds.n_train, ds.n_test
    else:
        split = ({"kind": "fixed test set"} if ds.split is None else
                 {"kind": "held out", "test_fraction": ds.split["test_fraction"], "seed": ds.split["seed"]})
        n_train, n_test = len(ds.y_train), len(ds.y_test)
    return {"task": ds.task, "task_reason": _task_reason(asked, ds), "n_train": n_train,
            "n_test": n_test, "split": split, "optimizer": cfg.optimizer, "lr": cfg.lr,
            "momentum": cfg.momentum if cfg.optimizer in ("momentum", "nesterov") else None,
            "batch_size": cfg.batch_size, "schedule": cfg.schedule, "weight_decay": cfg.weight_decay,
            "dropout": cfg.dropout, "early_stopping": cfg.early_stopping or None,
            "validation_fraction": cfg.validation_fraction if cfg.early_stopping else None,
            "cost": cfg.cost, "kernel": kernel}


def _summary(cfg: TrainConfig, net: Any, ds: Any, history: Any, test: dict[str, float], st: dict[str, Any],
             wall: float, out: str | None) -> None:
    from rich.table import Table

    table = Table(title=f"deltaprop train: {ds.name}", show_header=False)
    held = {"held out": f" (test fraction {st['split'].get('test_fraction', 0):g}, seed {st['split'].get('seed')})",
            "last rows": f" (the last {st['split'].get('test_fraction', 0):g} of the rows, streamed)",
            "fixed test set": " (the data set's own test set)"}
    split = f"{st['n_train']} train / {st['n_test']} test rows" + held[st["split"]["kind"]]
    momentum = "" if st["momentum"] is None else f", momentum {st['momentum']:g}"
    stopping = "off" if not st["early_stopping"] else (
        f"patience {st['early_stopping']} epochs on {st['validation_fraction']:g} of the training rows")
    rows = [("task", f"{ds.task}  ({st['task_reason']})"), ("data", split),
            ("network", "-".join(map(str, net.sizes)) + f"  ({', '.join(net.activations)}; {net.cost_name})"),
            ("optimizer", f"{cfg.optimizer}, lr {cfg.lr:g}{momentum}, batch {cfg.batch_size}, kernel {st['kernel']}"),
            ("schedule", f"{cfg.schedule} over {cfg.epochs} epochs"),
            ("regularisation", f"weight decay {cfg.weight_decay:g}, dropout {cfg.dropout:g}"),
            ("early stopping", stopping),
            ("epochs", f"{history.epochs}" + ("  (stopped early)" if history.stopped_early else "")),
            ("final train cost", f"{history.train_cost[-1]:.5f}")]
    rows += [(k.replace("_", " "), f"{v:.5f}" if k == "test_cost" else f"{v:.4f}") for k, v in test.items()]
    rows.append(("training time", f"{sum(history.seconds):.2f} s (wall {wall:.2f} s)"))
    if out:
        rows.append(("model", out))
    if cfg.checkpoint_dir:
        rows.append(("checkpoint", str(cfg.checkpoint_dir)))
    for k, v in rows:
        table.add_row(k, v)
    stdout_console().print(table)


def _provenance(cfg: TrainConfig, ds: Any) -> dict[str, Any] | None:
    """What a model file records of its training file: name, SHA-256, target, feature names, header, task, held-out
    split.

    A streamed data set records the SHA-256 of its values (not of its files) and that the test rows are the last.
    """
    if isinstance(ds, StreamData):
        return {"file": Path(cfg.dataset).name, "sha256": ds.digest, "values_sha256": True, "target": cfg.target,
                "features": list(ds.feature_names), "task": ds.task, "n_rows": ds.n_rows, "seed": 0,
                "test_fraction": ds.test_fraction, "n_test": ds.n_test, "held_out": "last rows"}
    if ds.split is None or not cfg.dataset.lower().endswith((".csv", ".npz")):
        return None
    digest = hashlib.sha256(Path(cfg.dataset).read_bytes()).hexdigest()
    return {"file": Path(cfg.dataset).name, "sha256": digest, "target": cfg.target, "header": cfg.header,
            "features": None if ds.feature_names is None else list(ds.feature_names), "task": ds.task,
            "n_rows": ds.split["n_rows"], "seed": ds.split["seed"], "test_fraction": ds.split["test_fraction"],
            "n_test": len(ds.y_test)}
