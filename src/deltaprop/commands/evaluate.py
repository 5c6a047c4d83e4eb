"""``deltaprop evaluate MODEL --dataset ...``: accuracy, cost and confusion matrix of a saved model.

Named data sets (digits, mnist, higham) are evaluated on their test split; a CSV or NPZ file on
all its rows (an NPZ file's X_test/y_test when it has them). Raw rows go through the model's
own saved scaling, and labels are mapped to the model's classes.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ._common import stdout_console, write_json


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL, --dataset, --data-dir, --target, --metrics-json, --plot."""
    p.add_argument("model", metavar="MODEL", help="a model file written by deltaprop train --out")
    p.add_argument("--dataset", default="digits", help="digits, mnist, higham, or a PATH.csv / PATH.npz file")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files")
    p.add_argument("--target", help="label column of a CSV file (default: the last column)")
    p.add_argument("--metrics-json", metavar="PATH", help="write accuracy, cost and confusion_matrix as JSON")
    p.add_argument("--plot", metavar="PATH", help="draw the confusion matrix to this PNG or SVG file")


def labelled_rows(net: Any, spec: str, *, data_dir: str | None = None,
                  target: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs as the network sees them (m, n_0) and class indices (m,) into ``net.classes``."""
    from ..datasets import load_dataset, read_labelled

    if spec.lower().endswith((".csv", ".npz")):
        X_raw, labels = read_labelled(spec, target=target)
        if X_raw.shape[1] != net.sizes[0]:
            raise ValueError(f"{spec} has {X_raw.shape[1]} feature columns; the model expects n_0 = {net.sizes[0]}")
        X = net.scaling.apply(X_raw) if net.scaling is not None else X_raw
        return X, class_indices(net, labels, spec)
    ds = load_dataset(spec, data_dir=data_dir, target=target, seed=0)
    if ds.n_features != net.sizes[0]:
        raise ValueError(f"data set {spec!r} has {ds.n_features} features; the model expects n_0 = {net.sizes[0]}")
    if net.scaling is not None and net.scaling.to_json() != ds.scaling.to_json():
        raise ValueError(f"data set {spec!r} is scaled as {ds.scaling.kind!r}, the model was trained with "
                         f"{net.scaling.kind!r} scaling")
    return ds.X_test, class_indices(net, [ds.classes[k] for k in ds.y_test], spec)


def class_indices(net: Any, labels: list[Any], source: str) -> np.ndarray:
    """Map labels to indices into net.classes; ValueError names the first unknown label."""
    classes = list(net.classes) if net.classes is not None else list(range(net.sizes[-1]))
    index = {str(c): k for k, c in enumerate(classes)}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        k = index.get(str(label))
        if k is None:
            raise ValueError(f"{source}: label {label!r} (data row {i + 1}) is not one of the model's classes "
                             f"{', '.join(map(str, classes))}")
        out[i] = k
    return out


def classifies(net: Any) -> bool:
    """True for a classifier: softmax or sigmoid + cross-entropy output, or any model that carries class labels
    (e.g. sigmoid outputs trained with the quadratic cost, as in Nielsen's MNIST network)."""
    return bool(net.is_classifier or net.classes is not None)


def predicted_classes(net: Any, X: np.ndarray) -> np.ndarray:
    """Class indices (m,): argmax of a^(L), or a >= 1/2 for a single output."""
    aL = net.forward(X)
    return aL.argmax(axis=1) if aL.shape[1] > 1 else (aL[:, 0] >= 0.5).astype(np.int64)


def targets_for(net: Any, y: np.ndarray) -> np.ndarray:
    """Class indices as the network's cost takes them: labels for classifiers, one-hot rows otherwise."""
    if net.is_classifier:
        return y
    K = net.sizes[-1]
    return y.reshape(-1, 1).astype(np.float64) if K == 1 else np.eye(K)[y]


def confusion_matrix(y: np.ndarray, predicted: np.ndarray, K: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    cm = np.zeros((K, K), dtype=np.int64)
    np.add.at(cm, (y, predicted), 1)
    return cm


def run(args: argparse.Namespace) -> int:
    """Print accuracy, cost and the confusion matrix."""
    from ..io import load

    net = load(args.model)
    if not classifies(net):
        raise ValueError(f"{args.model}: evaluate needs a classifier (softmax or sigmoid output, or class labels)")
    X, y = labelled_rows(net, args.dataset, data_dir=args.data_dir, target=args.target)
    K = net.sizes[-1]
    with np.errstate(all="ignore"):
        predicted = predicted_classes(net, X)
        cost = net.cost(X, targets_for(net, y))
    accuracy = float(np.mean(predicted == y))
    cm = confusion_matrix(y, predicted, K)
    classes = list(net.classes) if net.classes is not None else list(range(K))
    if args.metrics_json:
        write_json(args.metrics_json, {"accuracy": accuracy, "cost": cost, "confusion_matrix": cm,
                                       "classes": classes, "n": len(y), "model": args.model,
                                       "dataset": args.dataset})
    if args.plot:
        from ..plots import confusion_matrix as plot_confusion

        plot_confusion(cm, classes, args.plot)
    _print(accuracy, cost, cm, classes, len(y))
    return 0


def _print(accuracy: float, cost: float, cm: np.ndarray, classes: list[Any], n: int) -> None:
    from rich.table import Table

    console = stdout_console()
    console.print(f"accuracy {accuracy:.4f}  cost {cost:.5f}  ({n} samples)")
    table = Table(title="confusion matrix (rows: true, columns: predicted)")
    table.add_column("")
    for c in classes:
        table.add_column(str(c), justify="right")
    for c, row in zip(classes, cm):
        table.add_row(str(c), *(str(v) for v in row))
    console.print(table)
