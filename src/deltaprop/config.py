"""The training options of the command line, one frozen dataclass mirrored one to one by flags.

``deltaprop train --batch-size 128`` sets ``TrainConfig.batch_size``; ``fields_help`` gives the
help text and choices of each flag, so the parser and the dataclass cannot drift apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``deltaprop train`` needs; defaults train the embedded digits in a few seconds."""

    dataset: str = "digits"
    data_dir: str | None = None
    target: str | None = None
    subset: int | None = None  # MNIST only: the first N training and N // 5 test images
    hidden: tuple[int, ...] = (256,)
    activation: str = "relu"
    cost: str = "cross_entropy"
    optimizer: str = "momentum"
    lr: float | None = None  # None: 0.1 for the SGD family, 0.001 for adam
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    batch_size: int = 32
    epochs: int = 40
    seed: int = 0
    dtype: str = "float32"
    dropout: float = 0.0
    early_stopping: int | None = None
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

    def output_activation(self) -> str:
        """softmax for cross_entropy, sigmoid for the other costs (one unit per class)."""
        return "softmax" if self.cost == "cross_entropy" else "sigmoid"


HELP: dict[str, str] = {
    "dataset": "digits (embedded, default), mnist, or a PATH.csv / PATH.npz file",
    "data_dir": "folder with the MNIST IDX files (default: $DELTAPROP_DATA, else download once)",
    "target": "label column of a CSV file (default: the last column)",
    "subset": "mnist only: use the first N training and N // 5 test images (for quick runs)",
    "hidden": "hidden layer widths, e.g. --hidden 256 128 (default: 256)",
    "activation": "hidden activation: {choices}",
    "cost": "cost: {choices}",
    "optimizer": "optimizer: {choices}",
    "lr": "learning rate eta (default 0.1; 0.001 for adam)",
    "momentum": "momentum coefficient (momentum, nesterov)",
    "weight_decay": "L2 weight decay lambda (weights only)",
    "schedule": "learning-rate schedule per epoch: {choices}",
    "batch_size": "mini-batch size (1 = per-sample SGD; larger than the data = full batch)",
    "epochs": "number of epochs",
    "seed": "seed of initialisation, shuffling and dropout",
    "dtype": "floating-point type: float32, float64",
    "dropout": "inverted-dropout rate of every hidden layer, in [0, 1)",
    "early_stopping": "patience in epochs (holds out --validation-fraction of the training data)",
    "validation_fraction": "share of the training data held out for validation when early stopping",
    "on_divergence": "on a NaN/Inf cost or gradient: stop, or halve-lr and go on from the last good weights",
    "checkpoint_dir": "write a checkpoint to this folder at the end of every epoch (replaced atomically)",
    "checkpoint_every": "also checkpoint every N batches (needs --checkpoint-dir or --resume)",
    "resume": "continue from the checkpoint in this folder; its configuration is used, so no other "
              "training flags are needed",
    "plot": "write learning curves to this PNG or SVG file",
}
