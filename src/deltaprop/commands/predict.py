"""``deltaprop predict MODEL INPUT``: one prediction per row of a .csv, .npy or .parquet file, or a folder of them.

Rows are raw features; the model's saved scaling is applied. A CSV file's first row is a header
unless all its cells are numbers (``--header``/``--no-header`` override). Every column is a
feature, except in the model's own training file: a CSV file with a header, or Parquet, whose
columns are exactly the model's features and its target column (as the model recorded them) is
read without the target column. A CSV file is read whole, an .npy or .parquet file or a folder of
either (``deltaprop.datasets.rows``) a chunk at a time, and its predictions written as each chunk
is done, so an input bigger than memory is never held. Output (stdout, or ``--out FILE``, written whole or not at all): one line per row in file
order, the predicted class label as the training file wrote it, followed with ``--proba`` by the
probability of each class; for a regression, the predicted number in the target's units.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ._common import positive_int


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL, INPUT, --header, --proba, --precision, --out."""
    p.add_argument("model", metavar="MODEL", help="a model file written by deltaprop train --out")
    p.add_argument("input", metavar="INPUT",
                   help="rows to predict: a .csv file, or read a block at a time: an .npy or .parquet file, or a "
                        "folder DIR/ of .npy or .parquet files; every column a feature, except in the model's "
                        "training file (a CSV with a header, or Parquet: the model's features and target column), "
                        "whose target column is skipped")
    p.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                   help="--header: the CSV's first row is a header; --no-header: it is data "
                        "(default: a header unless all its cells are numbers)")
    p.add_argument("--proba", action="store_true", help="also print the probability of each class")
    p.add_argument("--precision", type=positive_int, default=None,
                   help="decimals of the probabilities (default 4); significant digits of a regression (default 6)")
    p.add_argument("--out", metavar="PATH", help="write the predictions (CSV) to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    """Write predictions as CSV: label[,p_class...], block by block."""
    from ..datasets import read_features
    from ..datasets.rows import open_features
    from ..datasets.stream import is_streamed
    from ..io import load
    from ._paths import check_outputs
    from ._stream import SCORE_ROWS

    streamed = is_streamed(args.input)
    shards = list(Path(args.input).iterdir()) if streamed and Path(args.input).is_dir() else []
    check_outputs([("MODEL", args.model), ("INPUT", args.input), *(("INPUT", p) for p in shards)],
                  {"--out": args.out})
    net = load(args.model)
    data = net.data or {}
    features, target = data.get("features"), data.get("target")  # its training file's columns: read without target
    blocks: Iterator[np.ndarray]
    if streamed:
        if args.header is not None:
            raise ValueError(f"--header and --no-header apply to CSV files only, got INPUT {args.input}")
        blocks = open_features(args.input, n_features=net.sizes[0], features=features, target=target).blocks()
    else:
        blocks = iter([read_features(args.input, n_features=net.sizes[0], header=args.header, features=features,
                                    target=target)])
    header, lines = _format(net, args)
    first = next(blocks, None)  # read and checked before anything is written (a CSV file: all of it)
    with _output(args.out) as write:
        write(",".join(header) + "\n")
        for X in itertools.chain([] if first is None else [first], blocks):  # raw (k, n_0)
            for rows in range(0, len(X), SCORE_ROWS):  # bounds the forward pass's a^(l)
                write(lines(X[rows:rows + SCORE_ROWS].astype(np.float64)))  # as a CSV file's rows
    return 0


def _format(net: Any, args: argparse.Namespace) -> tuple[list[str], Callable[[np.ndarray], str]]:
    """The CSV header, and the function from raw rows (k, n_0) to their k lines of predictions."""
    precision = args.precision or (4 if net.classifies else 6)
    if net.classifies:
        classes = list(net.classes) if net.classes is not None else list(range(max(net.sizes[-1], 2)))
        header = ["label"] + ([f"p_{c}" for c in classes] if args.proba else [])
    else:
        target = (net.data or {}).get("target") or "prediction"
        header = [target] if net.sizes[-1] == 1 else [f"output_{j}" for j in range(net.sizes[-1])]

    def lines(X: np.ndarray) -> str:
        if net.scaling is not None:
            X = net.scaling.apply(X)
        with np.errstate(all="ignore"):
            aL = net.forward(X)  # (k, n_L)
            predicted = net.prediction(aL, labels=True)  # labels (k,), or (k, n_L) in the target's units
        if net.classifies:
            probs = aL if aL.shape[1] > 1 else np.hstack([1 - aL, aL])  # one output a: P(class 1) = a
            rows = [",".join([str(label)] + ([f"{v:.{precision}f}" for v in p] if args.proba else []))
                    for label, p in zip(predicted, probs)]
        else:
            rows = [",".join(f"{v:.{precision}g}" for v in row) for row in predicted]
        return "".join(row + "\n" for row in rows)

    return header, lines


@contextlib.contextmanager
def _output(out: str | None) -> Iterator[Callable[[str], Any]]:
    """A write function: to stdout, or to ``out`` replaced only when everything was written (``io.open_atomic``)."""
    if out is None:
        yield sys.stdout.write
        return
    from ..io import open_atomic

    with open_atomic(out) as f:
        yield lambda text: f.write(text.encode())
