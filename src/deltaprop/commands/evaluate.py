"""``deltaprop evaluate MODEL --dataset ...``: a saved model's scores on labelled rows.

A classifier gets accuracy, cost and the confusion matrix; a regression r2, rmse, mae and cost,
in the target's units. Named data sets (digits, mnist, higham) are evaluated on their test split.
A CSV or NPZ file is evaluated on the rows the model held out when it is the file the model was
trained on (same SHA-256), else (or with ``--all-rows``) on all its rows (an NPZ file's
X_test/y_test when it has them). A streamed data set (a .parquet or .npy file, or a folder of them:
``deltaprop.datasets.stream``) follows the same rule, its held-out rows being the last ones and its
SHA-256 that of its values; it is scored a chunk at a time, never held whole. Raw rows go through
the model's own saved scaling, and labels are mapped to the model's classes.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from ._common import stdout_console, write_json


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL, --dataset, --data-dir, --target, --metrics-json, --plot."""
    p.add_argument("model", metavar="MODEL", help="a model file written by deltaprop train --out")
    p.add_argument("--dataset", default="digits",
                   help="digits, mnist, higham, a PATH.csv / PATH.npz file, or streamed (a chunk at a time): "
                        "PATH.parquet, PATH.npy, or a folder DIR/ of .parquet or .npy files")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files")
    p.add_argument("--target", help="label column of a CSV or streamed file (default: the model's, else the last "
                                     "column; .npy columns are named 1, 2, ...)")
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
        _check_width(net, spec, X_raw.shape[1])
        X = net.scaling.apply(X_raw) if net.scaling is not None else X_raw
        y = _targets(net, labels, spec)
        if not own_rows(net, hashlib.sha256(Path(spec).read_bytes()).hexdigest(), all_rows):
            return X, y, *which_rows(spec, len(y))
        _, test = held_out(labels, net.data["task"], net.data["test_fraction"], net.data["seed"])
        test = np.sort(test)
        return X[test], y[test], *which_rows(spec, len(y), len(test))
    ds = load_dataset(spec, data_dir=data_dir, target=target, seed=0)
    if ds.n_features != net.sizes[0]:
        raise ValueError(f"data set {spec!r} has {ds.n_features} features; the model expects n_0 = {net.sizes[0]}")
    if net.scaling is not None and net.scaling.to_json() != ds.scaling.to_json():
        raise ValueError(f"data set {spec!r} is scaled as {ds.scaling.kind!r}, the model was trained with "
                         f"{net.scaling.kind!r} scaling")
    y = class_indices(net, [ds.classes[k] for k in ds.y_test], spec)
    return ds.X_test, y, "held-out", f"the {len(y)} test rows of {spec}"


def streamed_scores(net: Any, spec: str, *, target: str | None = None, header: bool | None = None,
                    all_rows: bool = False) -> tuple[dict[str, float], np.ndarray | None, int, str, str]:
    """``scores`` of a streamed data set (``deltaprop.datasets.stream``), read and scored a chunk at a time.

    The rows are the held-out last ones when the data are the model's own (same SHA-256 of the values)
    and not ``all_rows``, else all of them, as for a CSV file (``labelled_rows``).

    Returns
    -------
    scores : dict
        As ``scores`` gives them.
    cm : ndarray of shape (max(n_L, 2), max(n_L, 2)) or None
        The confusion matrix of a classifier (rows: true class, columns: predicted class).
    m : int
        The rows scored.
    kind, rows : str
        "held-out" or "all", and the description, as ``labelled_rows`` gives them.
    """
    from ..datasets.stream import open_stream
    from ._stream import stream_evaluation

    if header is not None:
        raise ValueError(f"--header and --no-header apply to CSV files only, got --dataset {spec}")
    data = net.data or {}
    ds = open_stream(spec, target=target if target is not None else data.get("target"),
                     task="classification" if net.classifies else "regression",
                     test_fraction=data.get("test_fraction", 0.25), min_classes=1,  # the model's classes are known
                     check_width=functools.partial(_check_width, net, spec))  # before the pass over the values
    start = ds.n_train if own_rows(net, ds.digest, all_rows) else 0
    classes = class_indices(net, list(ds.classes), spec, rows=False) if net.classifies else None
    result, cm = stream_evaluation(net, ds, start, ds.n_rows, classes=classes, confusion=True)
    return result, cm, ds.n_rows - start, *which_rows(spec, ds.n_rows, ds.n_test if start else None)


def _check_width(net: Any, spec: str, n_features: int) -> None:
    if n_features != net.sizes[0]:
        raise ValueError(f"{spec} has {n_features} feature columns; the model expects n_0 = {net.sizes[0]}")


def own_rows(net: Any, digest: str, all_rows: bool) -> bool:
    """True when only the held-out rows are scored: the data are the model's own (same SHA-256) and not --all-rows."""
    return not all_rows and net.data is not None and digest == net.data.get("sha256")


def which_rows(spec: str, m: int, n_test: int | None = None) -> tuple[str, str]:
    """("all", "all m rows of NAME"), or with n_test ("held-out", "n_test held-out rows of NAME (--all-rows ...)")."""
    name = Path(spec).name
    if n_test is None:
        return "all", f"all {m} rows of {name}"
    return "held-out", f"{n_test} held-out rows of {name} (--all-rows for all {m})"


def _targets(net: Any, labels: list[Any], source: str) -> np.ndarray:
    """Class indices for a classifier; the numbers themselves (float64) for a regression."""
    if net.classifies:
        return class_indices(net, labels, source)
    bad = next((v for v in labels if isinstance(v, str)), None)
    if bad is not None:
        raise ValueError(f"{source}: the model is a regression; target {bad!r} is not a number")
    return np.asarray(labels, dtype=np.float64)


def class_indices(net: Any, labels: list[Any], source: str, *, rows: bool = True) -> np.ndarray:
    """Map labels to indices into net.classes; ValueError names the first unknown label (and its data row
    when ``labels`` are rows)."""
    classes = list(net.classes) if net.classes is not None else list(range(net.sizes[-1]))
    index = {str(c): k for k, c in enumerate(classes)}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        k = index.get(str(label))
        if k is None:
            where = f" (data row {i + 1})" if rows else ""
            raise ValueError(f"{source}: label {label!r}{where} is not one of the model's classes "
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
    from ..datasets.stream import is_streamed
    from ..io import load
    from ._paths import check_outputs

    shards = list(Path(args.dataset).iterdir()) if is_streamed(args.dataset) and Path(args.dataset).is_dir() else []
    check_outputs([("MODEL", args.model), ("--dataset", args.dataset), ("--data-dir", args.data_dir),
                   *(("--dataset", p) for p in shards)],
                  {"--metrics-json": args.metrics_json, "--plot": args.plot}, {"--metrics-json": "json"})
    if args.plot:
        from ..plots import check_path

        check_path(args.plot)  # .png or .svg
    net = load(args.model)
    if not net.classifies and net.sizes[-1] != 1:
        raise ValueError(f"{args.model}: evaluate needs a classifier (softmax or sigmoid output, or class labels) "
                         f"or a regression with one output, got n_L = {net.sizes[-1]} outputs without classes")
    if is_streamed(args.dataset):
        result, cm, m, kind, rows = streamed_scores(net, args.dataset, target=args.target, header=args.header,
                                                    all_rows=args.all_rows)
    else:
        X, y, kind, rows = labelled_rows(net, args.dataset, data_dir=args.data_dir, target=args.target,
                                         header=args.header, all_rows=args.all_rows)
        result, m, cm = scores(net, X, y), len(y), None
        if net.classifies:
            with np.errstate(all="ignore"):
                cm = confusion_matrix(y, net.predict(X), max(net.sizes[-1], 2))  # predict: (m,) class indices
    info = {"n_samples": m, "rows": kind, "model": args.model, "dataset": args.dataset}
    if not net.classifies:
        if args.metrics_json:
            write_json(args.metrics_json, {"task": "regression", **result, **info})
        if args.plot:
            raise ValueError("--plot draws a confusion matrix; a regression has none")
        stdout_console().print(f"r2 {result['r2']:.4f}  rmse {result['rmse']:.5g}  mae {result['mae']:.5g}  "
                               f"cost {result['cost']:.5f}  on {rows}")
        return 0
    assert cm is not None  # a classifier's
    classes = list(net.classes) if net.classes is not None else list(range(net.sizes[-1]))
    if args.metrics_json:
        write_json(args.metrics_json, {"task": "classification", **result, "confusion_matrix": cm,
                                       "classes": classes, "n": m, **info})
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
