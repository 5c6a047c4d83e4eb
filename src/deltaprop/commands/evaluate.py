"""``deltaprop evaluate MODEL --dataset ...``: a saved model's scores on labelled rows.

A classifier gets accuracy, cost and the confusion matrix; a regression r2, rmse, mae and cost,
in the target's units. Named data sets (digits, mnist, higham) are evaluated on their test split.
A CSV or NPZ file is evaluated on the rows the model held out when it is the file the model was
trained on (same SHA-256), else (or with ``--all-rows``) on all its rows (an NPZ file's
X_test/y_test when it has them). Raw rows go through the model's own saved scaling, and labels
are mapped to the model's classes.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from ._common import stdout_console, write_json


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL, --dataset, --data-dir, --target, --metrics-json, --plot."""
    p.add_argument("model", metavar="MODEL", help="a model file written by deltaprop train --out")
    p.add_argument("--dataset", default="digits", help="digits, mnist, higham, or a PATH.csv / PATH.npz file")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files")
    p.add_argument("--target", help="label column of a CSV file (default: the model's, else the last column)")
    p.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                   help="--header: the CSV's first row is a header; --no-header: it is data "
                        "(default: the model's setting, else a header unless all its cells are numbers)")
    p.add_argument("--all-rows", action="store_true",
                   help="score every row, also those the model was trained on (default: only the held-out rows "
                        "of the model's own training file)")
    p.add_argument("--metrics-json", metavar="PATH",
                   help="write the scores (accuracy, cost, confusion_matrix; or r2, rmse, mae, cost) as JSON")
    p.add_argument("--plot", metavar="PATH", help="draw the confusion matrix to this PNG or SVG file")


def labelled_rows(net: Any, spec: str, *, data_dir: str | None = None, target: str | None = None,
                  header: bool | None = None, all_rows: bool = False) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Inputs as the network sees them (m, n_0), targets (m,), which rows ("held-out" or "all") and a description.

    Targets are class indices into ``net.classes`` for a classifier, numbers for a regression.
    The description says which rows were scored, e.g. "45 held-out rows of wine.csv (--all-rows for all 178)".
    A named data set's test split counts as "held-out".
    """
    from ..datasets._base import held_out
    from ..datasets import load_dataset, read_labelled

    if spec.lower().endswith((".csv", ".npz")):
        data = net.data if net.data is not None and spec.lower().endswith(".csv") else {}
        X_raw, labels = read_labelled(spec, target=target if target is not None else data.get("target"),
                                      header=header if header is not None else data.get("header"))
        if X_raw.shape[1] != net.sizes[0]:
            raise ValueError(f"{spec} has {X_raw.shape[1]} feature columns; the model expects n_0 = {net.sizes[0]}")
        X = net.scaling.apply(X_raw) if net.scaling is not None else X_raw
        y = _targets(net, labels, spec)
        name, m = Path(spec).name, len(y)
        if all_rows or net.data is None or hashlib.sha256(Path(spec).read_bytes()).hexdigest() != net.data.get("sha256"):
            return X, y, "all", f"all {m} rows of {name}"
        _, test = held_out(labels, net.data["task"], net.data["test_fraction"], net.data["seed"])
        test = np.sort(test)
        return X[test], y[test], "held-out", f"{len(test)} held-out rows of {name} (--all-rows for all {m})"
    ds = load_dataset(spec, data_dir=data_dir, target=target, seed=0)
    if ds.n_features != net.sizes[0]:
        raise ValueError(f"data set {spec!r} has {ds.n_features} features; the model expects n_0 = {net.sizes[0]}")
    if net.scaling is not None and net.scaling.to_json() != ds.scaling.to_json():
        raise ValueError(f"data set {spec!r} is scaled as {ds.scaling.kind!r}, the model was trained with "
                         f"{net.scaling.kind!r} scaling")
    y = class_indices(net, [ds.classes[k] for k in ds.y_test], spec)
    return ds.X_test, y, "held-out", f"the {len(y)} test rows of {spec}"


def _targets(net: Any, labels: list[Any], source: str) -> np.ndarray:
    """Class indices for a classifier; the numbers themselves (float64) for a regression."""
    if net.classifies:
        return class_indices(net, labels, source)
    bad = next((v for v in labels if isinstance(v, str)), None)
    if bad is not None:
        raise ValueError(f"{source}: the model is a regression; target {bad!r} is not a number")
    return np.asarray(labels, dtype=np.float64)


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


def targets_for(net: Any, y: np.ndarray) -> np.ndarray:
    """Targets as the network's cost takes them: class labels for classifiers, the standardised target
    (m, 1) for a regression, one-hot rows otherwise."""
    if net.target_scaling is not None:
        return net.target_scaling.apply(np.asarray(y, dtype=np.float64).reshape(-1, 1))  # (m, 1)
    if net.is_classifier:
        return y
    K = net.sizes[-1]
    return y.reshape(-1, 1).astype(np.float64) if K == 1 else np.eye(K)[y]


def confusion_matrix(y: np.ndarray, predicted: np.ndarray, K: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    cm = np.zeros((K, K), dtype=np.int64)
    np.add.at(cm, (y, predicted), 1)
    return cm


def scores(net: Any, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """accuracy and cost of a classifier; r2, rmse, mae (target units) and cost of a regression.

    r2 = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2; the cost is that of the network's own
    (standardised) outputs.
    """
    with np.errstate(all="ignore"):
        cost = float(net.cost(X, targets_for(net, y)))
        predicted = net.predict(X)  # class indices (m,), or (m, 1) in the target's units
        if net.classifies:
            return {"accuracy": float(np.mean(predicted == y)), "cost": cost}
        residual = y - predicted[:, 0]  # (m,)
        total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual ** 2)) / total if total > 0 else float("nan")
    return {"r2": r2, "rmse": float(np.sqrt(np.mean(residual ** 2))), "mae": float(np.mean(np.abs(residual))),
            "cost": cost}


def run(args: argparse.Namespace) -> int:
    """Print the scores (and for a classifier the confusion matrix)."""
    from ..io import load
    from ._paths import check_outputs

    check_outputs([("MODEL", args.model), ("--dataset", args.dataset), ("--data-dir", args.data_dir)],
                  {"--metrics-json": args.metrics_json, "--plot": args.plot}, {"--metrics-json": "json"})
    if args.plot:
        from ..plots import check_path

        check_path(args.plot)  # .png or .svg
    net = load(args.model)
    if not net.classifies and net.sizes[-1] != 1:
        raise ValueError(f"{args.model}: evaluate needs a classifier (softmax or sigmoid output, or class labels) "
                         f"or a regression with one output, got n_L = {net.sizes[-1]} outputs without classes")
    X, y, kind, rows = labelled_rows(net, args.dataset, data_dir=args.data_dir, target=args.target,
                               header=args.header, all_rows=args.all_rows)
    result = scores(net, X, y)
    info = {"n_samples": len(y), "rows": kind,
            "model": args.model, "dataset": args.dataset}
    if not net.classifies:
        if args.metrics_json:
            write_json(args.metrics_json, {"task": "regression", **result, **info})
        if args.plot:
            raise ValueError("--plot draws a confusion matrix; a regression has none")
        stdout_console().print(f"r2 {result['r2']:.4f}  rmse {result['rmse']:.5g}  mae {result['mae']:.5g}  "
                               f"cost {result['cost']:.5f}  on {rows}")
        return 0
    K = net.sizes[-1]
    with np.errstate(all="ignore"):
        predicted = net.predict(X)  # (m,) class indices
    cm = confusion_matrix(y, predicted, max(K, 2))
    classes = list(net.classes) if net.classes is not None else list(range(K))
    if args.metrics_json:
        write_json(args.metrics_json, {"task": "classification", **result, "confusion_matrix": cm,
                                       "classes": classes, "n": len(y), **info})
    if args.plot:
        from ..plots import confusion_matrix as plot_confusion

        plot_confusion(cm, classes, args.plot)
    _print(result["accuracy"], result["cost"], cm, classes, rows)
    return 0


def _print(accuracy: float, cost: float, cm: np.ndarray, classes: list[Any], rows: str) -> None:
    from rich.table import Table

    console = stdout_console()
    console.print(f"accuracy {accuracy:.4f}  cost {cost:.5f}  on {rows}")
    table = Table(title="confusion matrix (rows: true, columns: predicted)")
    table.add_column("")
    for c in classes:
        table.add_column(str(c), justify="right")
    for c, row in zip(classes, cm):
        table.add_row(str(c), *(str(v) for v in row))
    console.print(table)
