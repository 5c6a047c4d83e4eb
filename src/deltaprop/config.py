"""The training options of the command line, one frozen dataclass mirrored one to one by flags.

``deltaprop train --batch-size 128`` sets ``TrainConfig.batch_size``; ``fields_help`` gives the
help text and choices of each flag, so the parser and the dataclass cannot drift apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

# The defaults that depend on the task; None in a TrainConfig field means "the task's default".
# Regression: adam with weight decay and early stopping, which meets scikit-learn's MLPRegressor
# on held-out rows (benchmarks/regression.py).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "classification": {"cost": "cross_entropy", "optimizer": "momentum", "epochs": 40, "weight_decay": 0.0,
                       "early_stopping": 0},
    "regression": {"cost": "quadratic", "optimizer": "adam", "epochs": 500, "weight_decay": 1e-3,
                   "early_stopping": 30},
}
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1, "adam": 0.001}
DEFAULT_LR_REGRESSION = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adam": 0.001}


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``deltaprop train`` needs; defaults train the embedded digits in a few seconds."""

    dataset: str = "digits"
    data_dir: str | None = None
    target: str | None = None
    task: str = "auto"
    header: bool | None = None  # None: a CSV's first row is a header unless all its cells are numbers
    subset: int | None = None  # MNIST only: the first N training and N // 5 test images
    hidden: tuple[int, ...] = (256,)
    activation: str = "relu"
    cost: str | None = None  # None (here and below): the task's default, TASK_DEFAULTS
    optimizer: str | None = None
    lr: float | None = None  # None: DEFAULT_LR (by optimizer and task)
    momentum: float = 0.9
    weight_decay: float | None = None
    schedule: str = "cosine"
    batch_size: int = 32
    epochs: int | None = None
    seed: int = 0
    dtype: str = "float32"
    dropout: float = 0.0
    early_stopping: int | None = None  # 0: off
    validation_fraction: float = 0.1
    on_divergence: str = "stop"
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    resume: str | None = None
    plot: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (tuples become lists)."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    def resolved(self, task: str) -> TrainConfig:
        """This configuration with ``task`` set and every None that has a task default filled in."""
        values = {k: v for k, v in TASK_DEFAULTS[task].items() if getattr(self, k) is None}
        cfg = replace(self, task=task, **values)
        if cfg.lr is None:
            cfg = replace(cfg, lr=(DEFAULT_LR_REGRESSION if task == "regression" else DEFAULT_LR)[str(cfg.optimizer)])
        return cfg

    def output_activation(self) -> str:
        """identity for a regression; softmax for cross_entropy, sigmoid for the other costs (one unit per class)."""
        if self.task == "regression":
            return "identity"
        return "softmax" if self.cost == "cross_entropy" else "sigmoid"


HELP: dict[str, str] = {
    "dataset": "digits (embedded, default), mnist, a PATH.csv / PATH.npz file, or streamed from disk: a "
               "PATH.parquet or PATH.npy file or a folder DIR/ of .parquet files or of .npy shards",
    "data_dir": "folder with the MNIST IDX files (default: $DELTAPROP_DATA, else download once)",
    "target": "label column of a CSV, Parquet or .npy data set (default: the last column; its number 1, 2, ... "
              "without a header)",
    "task": "auto, classification or regression; auto: regression for numeric targets that are not all "
            "integers or have more than 50 distinct values, else classification",
    "header": "--header: the CSV's first row is a header; --no-header: it is data (default: a header "
              "unless all its cells are numbers)",
    "subset": "mnist only: use the first N training and N // 5 test images (for quick runs)",
    "hidden": "hidden layer widths, e.g. --hidden 256 128 (default: 256)",
    "activation": "hidden activation: {choices}",
    "cost": "cost: {choices} (default cross_entropy; quadratic for a regression)",
    "optimizer": "optimizer: {choices} (default momentum; adam for a regression)",
    "lr": "learning rate eta (default 0.1; 0.001 for adam; 0.01 for a regression with the SGD family)",
    "momentum": "momentum coefficient (momentum, nesterov)",
    "weight_decay": "L2 weight decay lambda (weights only; default 0; 0.001 for a regression)",
    "schedule": "learning-rate schedule per epoch: {choices}",
    "batch_size": "mini-batch size (1 = per-sample SGD; larger than the data = full batch)",
    "epochs": "number of epochs (default 40; at most 500 for a regression, which stops early)",
    "seed": "seed of initialisation, shuffling and dropout",
    "dtype": "floating-point type: float32, float64",
    "dropout": "inverted-dropout rate of every hidden layer, in [0, 1)",
    "early_stopping": "patience in epochs (holds out --validation-fraction of the training data); 0: off "
                      "(default off; 30 for a regression)",
    "validation_fraction": "share of the training data held out for validation when early stopping",
    "on_divergence": "on a NaN/Inf cost or gradient: stop, or halve-lr and go on from the last good weights",
    "checkpoint_dir": "write a checkpoint to this folder at the end of every epoch (replaced atomically)",
    "checkpoint_every": "also checkpoint every N batches (needs --checkpoint-dir or --resume)",
    "resume": "continue from the checkpoint in this folder; its configuration is used, so no other "
              "training flags are needed",
    "plot": "write learning curves to this PNG or SVG file",
}
