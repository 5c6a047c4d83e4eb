"""``deltaprop explain``: every number of one forward and backward pass, in a chosen notation.

Usage::

    deltaprop explain --sizes 2,2,3,2 --activations sigmoid,sigmoid,sigmoid --cost quadratic --seed 0 \\
        --x 0.1,0.1 --y 1,0 --notation higham --lr 0.05
    deltaprop explain --sizes 2,3,2 --activations tanh,softmax --cost cross_entropy --x "0.1,0.2;0.5,-0.3" \\
        --y "1,0;0,1" --per-sample
    deltaprop explain --weights examples/answers/seed_003_correct.json --notation seeds --format latex
    deltaprop explain --model mnist.safetensors --x "$(head -1 row.csv)" --y 7 --precision 3
    deltaprop explain --weights examples/answers/seed_003_correct.json --format json > key.json  # answer key

Several samples: repeat ``--x``/``--y``, or separate rows with ``;`` (``--x "0.1,0.1;0.3,0.4"``).
For a classifier, ``--y 3`` may give the class label instead of the one-hot row.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any

import numpy as np

from ._common import positive_float, positive_int


def rows(text: str) -> list[list[float]]:
    """An argparse type: rows of comma-separated numbers, separated by ';'."""
    from ._common import float_list

    return [float_list(part) for part in text.split(";")]


def _names(text: str) -> list[str]:
    return [s.strip() for s in text.split(",")]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The network source, the sample(s), the notation and the output format."""
    from ..teach.notation import NOTATIONS
    from ..teach.render import FORMATS

    net = p.add_argument_group("network (one of --sizes, --weights, --model)")
    net.add_argument("--sizes", type=lambda t: [positive_int(v) for v in t.split(",")], metavar="N0,N1,...",
                     help="layer widths n_0,...,n_L, e.g. 2,2,3,2 (random parameters from --seed)")
    net.add_argument("--activations", type=_names, metavar="G1,...,GL",
                     help="one activation per layer (default: sigmoid everywhere)")
    net.add_argument("--cost", default=None, help="quadratic (default), cross_entropy or binary_cross_entropy")
    net.add_argument("--seed", type=int, default=0, help="seed of the random parameters (default 0)")
    net.add_argument("--init", type=positive_float, default=None,
                     help="draw every W and b as INIT * N(0, 1) (Higham & Higham: 0.5); default He/Glorot")
    net.add_argument("--weights", metavar="FILE",
                     help="a JSON file with the matrices written out (the network object of `deltaprop check`)")
    net.add_argument("--model", metavar="MODEL", help="a model saved by deltaprop (safetensors)")
    p.add_argument("--x", type=rows, action="append", metavar="X",
                   help="an input row, e.g. 0.1,0.1; repeat, or separate rows with ';'")
    p.add_argument("--y", type=rows, action="append", metavar="Y",
                   help="its target row, e.g. 1,0 (or a class label for a classifier)")
    p.add_argument("--notation", choices=list(NOTATIONS), default="seeds", metavar="NOTATION",
                   help="seeds (default), cs189, nielsen or higham")
    p.add_argument("--format", choices=[*FORMATS, "json"], default="text", dest="fmt", metavar="FORMAT",
                   help="text (default), markdown, latex, or json: the exact answer key in the format "
                        "`deltaprop check` reads")
    p.add_argument("--lr", type=positive_float, default=None, metavar="ETA",
                   help="show one gradient-descent step W <- W - ETA dC/dW, b <- b - ETA dC/db with the new numbers")
    p.add_argument("--per-sample", action="store_true",
                   help="with several samples, show each sample's dc_i/dW before the mean")
    p.add_argument("--precision", type=positive_int, default=4, help="digits after the point (default 4)")
    p.add_argument("--full", action="store_true", help="print wide matrices whole instead of abbreviating them")
    p.add_argument("--width", type=positive_int, default=None, help="text width (default: the terminal's)")
    p.add_argument("--max-params", type=positive_int, default=10**7, metavar="N",
                   help="refuse networks with more parameters than this (default 10000000)")


def _network(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The network, and the JSON object it came from (for x and y) or {}."""
    sources = [name for name in ("sizes", "weights", "model") if getattr(args, name) is not None]
    if len(sources) != 1:
        raise ValueError("give exactly one of --sizes (with --activations, --cost), --weights FILE or --model MODEL"
                         + (f"; got {', '.join('--' + s for s in sources)}" if sources else ""))
    if args.sizes is None and (args.activations or args.cost or args.init):
        raise ValueError("--activations, --cost and --init go with --sizes; a file already fixes them")
    if args.model:
        from ..io import load

        return load(args.model), {}
    if args.weights:
        from ..teach.check import declared_size, load_answers, read_network
        from ..teach.notation import get_notation

        data = load_answers(args.weights)
        obj = data.get("network", data)
        declared_size(obj, f"{args.weights}: network", max_params=args.max_params)
        return read_network(obj, get_notation(data.get("notation", "seeds")), f"{args.weights}: network"), data
    from ..network import Network
    from ..teach.check import declared_size

    declared_size(args.sizes, "--sizes", max_params=args.max_params, present=False)
    L = len(args.sizes) - 1
    acts = args.activations or ["sigmoid"] * L
    return Network(args.sizes, acts, args.cost or "quadratic", dtype="float64", seed=args.seed, init=args.init), {}


def _targets(values: list[list[float]], net: Any) -> np.ndarray:
    Y = np.asarray(values, dtype=np.float64)
    n_L = net.sizes[-1]
    if Y.ndim == 2 and Y.shape[1] == 1 and n_L > 1:  # class labels
        labels = Y[:, 0]
        if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() >= n_L:
            raise ValueError(f"--y with one number per sample is a class label in 0..{n_L - 1}, got {labels.tolist()}")
        return np.eye(n_L)[labels.astype(int)]
    return Y


def run(args: argparse.Namespace) -> int:
    """Build the network, explain one pass, print it."""
    from ..teach.explain import explain
    from ..teach.render import render

    net, data = _network(args)
    xs = [r for group in args.x for r in group] if args.x else data.get("x")
    ys = [r for group in args.y for r in group] if args.y else data.get("y")
    if xs is None or ys is None:
        raise ValueError("give the sample with --x (e.g. --x 0.1,0.1) and its target with --y (e.g. --y 1,0)")
    X = np.atleast_2d(np.asarray(xs, dtype=np.float64))
    Y = _targets(np.atleast_2d(np.asarray(ys, dtype=np.float64)).tolist(), net)
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"--x gives {X.shape[0]} samples and --y gives {Y.shape[0]}; one target per sample")
    if getattr(net, "scaling", None) is not None and net.scaling.kind != "none":
        X = net.scaling.apply(X)
        print(f"deltaprop explain: inputs scaled as the model was trained ({net.scaling.kind})", file=sys.stderr)
    if args.fmt == "json":
        import json

        from ..teach.key import answer_key

        sys.stdout.write(json.dumps(answer_key(net, X, Y, args.notation), indent=2) + "\n")
        return 0
    e = explain(net, X, Y, notation=args.notation, lr=args.lr, per_sample=args.per_sample)
    width = args.width or max(40, shutil.get_terminal_size((100, 24)).columns)
    sys.stdout.write(render(e, args.fmt, precision=args.precision, full=args.full, width=width))
    return 0
