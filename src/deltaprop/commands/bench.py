"""``deltaprop bench``: time deltaprop against PyTorch, scikit-learn and NumPy baselines.

Every flag is a field of ``deltaprop.bench.Options``; ``--out`` chooses where bench.json and
the PNG charts go, ``--check`` makes a failed target exit with code 1. The table goes to stdout,
progress to stderr. ``benchmarks/compare.py`` runs exactly this command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._common import nonnegative_float, positive_float, positive_int


def _names(allowed: tuple[str, ...], what: str) -> Any:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(n.strip() for n in text.split(",") if n.strip())
        if "all" in names and what == "configuration":
            return allowed
        bad = [n for n in names if n not in allowed]
        if bad or not names:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {what}s from {', '.join(allowed)}, got {text!r}")
        return names

    return parse


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values


def _accuracy(text: str) -> float:
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a test accuracy in (0, 1], got {text}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """One flag per Options field, plus --out, --check and --quiet."""
    from ..bench.configs import CONFIG_NAMES, CONTENDERS, PACKAGES

    p.add_argument("--configs", "--config", dest="configs", type=_names(CONFIG_NAMES, "configuration"),
                   default=CONFIG_NAMES, metavar="NAMES",
                   help=f"comma-separated configurations to run: {', '.join(CONFIG_NAMES)} or all (default all)")
    p.add_argument("--quick", action="store_true",
                   help="10,000 MNIST rows, fewer rounds and steps, time-to-98 aiming at 92 %%: about two minutes")
    p.add_argument("--rounds", type=positive_int,
                   help="rounds per configuration (default: minibatch 15, scaling 5, per-sample and higham 3; quick 2)")
    p.add_argument("--seeds", type=positive_int, help="time-to-98: runs from different seeds (default 5, quick 1)")
    p.add_argument("--dataset", choices=["mnist", "synthetic"], default="mnist",
                   help="mnist (default) or synthetic random rows of the same shape")
    p.add_argument("--data-dir", help="folder with the four MNIST IDX files (default: DELTAPROP_DATA or download)")
    p.add_argument("--train-rows", type=positive_int, help="MNIST training rows (default 60000, quick 10000)")
    p.add_argument("--test-rows", type=positive_int, help="MNIST test rows (default 10000, quick 2000)")
    p.add_argument("--steps", type=positive_int,
                   help="single-sample steps timed per round (per-sample, higham); the rest is extrapolated")
    p.add_argument("--widths", type=_int_list, help="scaling: hidden widths (default 64,128,256,512,1024,2048)")
    p.add_argument("--depths", type=_int_list, help="scaling: numbers of hidden layers (default 1,2,3,4)")
    p.add_argument("--threshold", type=_accuracy, help="time-to-98: the test accuracy to reach (default 0.98)")
    p.add_argument("--max-epochs", type=positive_int, help="time-to-98: give up after this many epochs (default 20)")
    p.add_argument("--time-optimizer", choices=["momentum", "adam"], default="momentum",
                   help="time-to-98: SGD momentum 0.9 lr 0.1 (default) or Adam lr 0.001, batch 128 for both")
    p.add_argument("--skip", type=_names(CONTENDERS[1:], "contender"), default=(), metavar="NAMES",
                   help=f"contenders to leave out: {', '.join(CONTENDERS[1:])}")
    p.add_argument("--without", type=_names(tuple(PACKAGES.values()), "package"), default=(), metavar="PACKAGES",
                   help="act as if these optional packages were not installed (torch, sklearn)")
    p.add_argument("--threads", type=positive_int, default=2, help="BLAS/OpenMP/torch threads per worker (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the networks, shuffles and round order")
    p.add_argument("--timeout", type=positive_float, default=3600.0, help="seconds a worker may take per call")
    p.add_argument("--settle", type=nonnegative_float, default=0.3,
                   help="seconds of quiet before each timed epoch, while the last contender's thread pools wind "
                        "down (default 0.3)")
    p.add_argument("--out", default="bench-results", metavar="DIR",
                   help="folder for bench.json, bench.png and bench_scaling.png (default bench-results)")
    p.add_argument("--check", action="store_true", help="exit with code 1 when a target fails")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def options_from(args: argparse.Namespace) -> Any:
    """The ``deltaprop.bench.Options`` that the parsed flags describe."""
    from dataclasses import fields

    from ..bench import Options

    return Options(**{f.name: getattr(args, f.name) for f in fields(Options)})


def run(args: argparse.Namespace) -> int:
    from ..bench import run_benchmark, table, write_outputs

    opts = options_from(args)
    Path(args.out).mkdir(parents=True, exist_ok=True)  # fail before the run, not after it

    def progress(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    doc = run_benchmark(opts, progress=progress)
    paths = write_outputs(doc, args.out)
    print(table(doc))
    print("wrote " + ", ".join(paths.values()))
    failed = [t for conf in doc["configurations"] for t in conf["targets"] if t["status"] == "FAIL"]
    return 1 if args.check and failed else 0
