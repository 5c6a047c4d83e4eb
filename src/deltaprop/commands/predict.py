"""``deltaprop predict MODEL INPUT``: one prediction per row of a .csv or .npy file.

Rows are raw features; the model's saved scaling is applied. Output: one line per row, the
predicted class label, followed with ``--proba`` by the probability of each class.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ._common import positive_int


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL, INPUT, --proba, --precision."""
    p.add_argument("model", metavar="MODEL", help="a model file written by deltaprop train --out")
    p.add_argument("input", metavar="INPUT", help="rows to predict: a .csv file (header row) or a .npy array")
    p.add_argument("--proba", action="store_true", help="also print the probability of each class")
    p.add_argument("--precision", type=positive_int, default=4, help="digits of the probabilities")


def run(args: argparse.Namespace) -> int:
    """Write predictions to stdout as CSV: label[,p_class...]."""
    from ..datasets import read_features
    from ..io import load
    from .evaluate import classifies

    net = load(args.model)
    X = read_features(args.input, n_features=net.sizes[0])
    if net.scaling is not None:
        X = net.scaling.apply(X)
    with np.errstate(all="ignore"):
        out = net.forward(X)
    classes = list(net.classes) if net.classes is not None else list(range(net.sizes[-1]))
    lines = []
    if classifies(net):
        header = ["label"] + ([f"p_{c}" for c in classes] if args.proba else [])
        predicted = out.argmax(axis=1) if out.shape[1] > 1 else (out[:, 0] >= 0.5).astype(np.int64)
        probs = out if out.shape[1] > 1 else np.hstack([1 - out, out])
        for k, p in zip(predicted, probs):
            row = [str(classes[k])]
            if args.proba:
                row += [f"{v:.{args.precision}f}" for v in p]
            lines.append(",".join(row))
    else:
        header = [f"output_{j}" for j in range(out.shape[1])]
        lines = [",".join(f"{v:.{args.precision}g}" for v in row) for row in out]
    sys.stdout.write(",".join(header) + "\n" + "\n".join(lines) + "\n")
    return 0
