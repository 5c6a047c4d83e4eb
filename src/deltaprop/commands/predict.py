"""``deltaprop predict MODEL INPUT``: one prediction per row of a .csv or .npy file.

Rows are raw features; the model's saved scaling is applied. A CSV file's first row is a header
unless all its cells are numbers (``--header``/``--no-header`` override). Output: one line per
row, the predicted class label as the training file wrote it, followed with ``--proba`` by the
probability of each class; for a regression, the predicted number in the target's units.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ._common import positive_int


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL, INPUT, --proba, --precision."""
    p.add_argument("model", metavar="MODEL", help="a model file written by deltaprop train --out")
    p.add_argument("input", metavar="INPUT", help="rows to predict: a .csv file or a .npy array")
    p.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                   help="--header: the CSV's first row is a header; --no-header: it is data "
                        "(default: a header unless all its cells are numbers)")
    p.add_argument("--proba", action="store_true", help="also print the probability of each class")
    p.add_argument("--precision", type=positive_int, default=None,
                   help="decimals of the probabilities (default 4); significant digits of a regression (default 6)")


def run(args: argparse.Namespace) -> int:
    """Write predictions to stdout as CSV: label[,p_class...]."""
    from ..datasets import read_features
    from ..io import load

    net = load(args.model)
    X = read_features(args.input, n_features=net.sizes[0], header=args.header)
    if net.scaling is not None:
        X = net.scaling.apply(X)
    with np.errstate(all="ignore"):
        aL = net.forward(X)  # (m, n_L)
        predicted = net.prediction(aL, labels=True)  # labels (m,), or (m, n_L) in the target's units
    if net.classifies:
        classes = list(net.classes) if net.classes is not None else list(range(max(net.sizes[-1], 2)))
        header = ["label"] + ([f"p_{c}" for c in classes] if args.proba else [])
        probs = aL if aL.shape[1] > 1 else np.hstack([1 - aL, aL])  # one output a: P(class 1) = a
        lines = [",".join([str(label)] + ([f"{v:.{args.precision or 4}f}" for v in p] if args.proba else []))
                 for label, p in zip(predicted, probs)]
    else:
        target = (net.data or {}).get("target") or "prediction"
        header = [target] if predicted.shape[1] == 1 else [f"output_{j}" for j in range(predicted.shape[1])]
        lines = [",".join(f"{v:.{args.precision or 6}g}" for v in row) for row in predicted]
    sys.stdout.write(",".join(header) + "\n" + "\n".join(lines) + "\n")
    return 0
