#!/usr/bin/env python
"""Issue 3's MNIST targets, checked through deltaprop's public API (a script, not a unit test).

1. Mini-batch: 784-256-10, ReLU + softmax + cross-entropy, SGD with momentum 0.9, lr 0.1,
   batch 128, float32. Prints the test accuracy after every epoch; PASS when it reaches
   >= 98.0 % within 10 epochs, with the training time (evaluation excluded) and the wall time.
2. Per-sample: seed 002's rule W <- W - eta x^(l-1) delta^(l)T, one sample per step (plain SGD,
   batch 1, lr 0.01, hidden width 1024 by default), for one epoch of the 60,000 training images,
   from several seeds; PASS when the median test accuracy is >= 97.0 %. (Measured on this code:
   784-256-10 at lr 0.01 gives about 96.6 % over seeds 0-2, short of the target; 784-1024-10 at
   lr 0.01 gives 97.27 %, 97.20 %, 96.84 % for seeds 0, 1, 2.)

Usage (from the repository root)::

    python benchmarks/mnist_targets.py --data-dir ../shared/data/mnist
    python benchmarks/mnist_targets.py --per-sample-lr 0.015 --per-sample-seeds 5 --seed 1

Exit code 0 when both targets pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import deltaprop
from deltaprop.datasets import load_mnist
from deltaprop.optim import make_optimizer


def accuracy(net: deltaprop.Network, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of test images classified correctly."""
    return float(np.mean(net.predict(X) == y))


def minibatch(ds, seed: int, epochs: int = 10) -> bool:
    net = deltaprop.Network([784, 256, 10], ["relu", "softmax"], "cross_entropy", dtype="float32", seed=seed)
    optimizer = make_optimizer("momentum", lr=0.1, momentum=0.9)  # kept across epochs (velocity)
    print("1. mini-batch: 784-256-10 ReLU/softmax/CE, SGD momentum 0.9, lr 0.1, batch 128, float32")
    training, wall, reached = 0.0, time.perf_counter(), None
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        deltaprop.train(net, ds.X_train, ds.y_train, epochs=1, batch_size=128, optimizer=optimizer,
                        seed=seed * 1000 + epoch)
        training += time.perf_counter() - start
        acc = accuracy(net, ds.X_test, ds.y_test)
        print(f"   epoch {epoch:2d}: test accuracy {acc:.2%}  (training so far {training:.1f} s)", flush=True)
        if reached is None and acc >= 0.98:
            reached = (epoch, training, time.perf_counter() - wall)
    if reached is None:
        print(f"   FAIL: test accuracy stayed below 98.0 % for {epochs} epochs")
        return False
    epoch, train_s, wall_s = reached
    print(f"   PASS: >= 98.0 % after {epoch} epochs, {train_s:.1f} s of training ({wall_s:.1f} s wall with evaluation)")
    return True


def per_sample(ds, seeds: list[int], lr: float, hidden: int) -> bool:
    print(f"2. per-sample (seed 002): 784-{hidden}-10, plain SGD, batch 1, lr {lr:g}, one epoch of {len(ds.y_train):,}")
    accs = []
    for seed in seeds:
        net = deltaprop.Network([784, hidden, 10], ["relu", "softmax"], "cross_entropy", dtype="float32", seed=seed)
        start = time.perf_counter()
        deltaprop.train(net, ds.X_train, ds.y_train, epochs=1, batch_size=1, optimizer="sgd", lr=lr, seed=seed)
        seconds = time.perf_counter() - start
        accs.append(accuracy(net, ds.X_test, ds.y_test))
        print(f"   seed {seed}: test accuracy {accs[-1]:.2%} after one epoch ({seconds:.1f} s)", flush=True)
    median = float(np.median(accs))
    verdict = "PASS" if median >= 0.97 else "FAIL"
    print(f"   {verdict}: median {median:.2%} over {len(seeds)} seed(s) (min {min(accs):.2%}, max {max(accs):.2%});"
          " target >= 97.0 %")
    return median >= 0.97


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: DELTAPROP_DATA or download)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10, help="mini-batch epochs allowed (default 10)")
    parser.add_argument("--per-sample-lr", type=float, default=0.01, help="eta of the per-sample runs (default 0.01)")
    parser.add_argument("--per-sample-hidden", type=int, default=1024, help="hidden width of the per-sample runs")
    parser.add_argument("--per-sample-seeds", type=int, default=3, help="per-sample runs, seeds 0..N-1 (default 3)")
    args = parser.parse_args(argv)
    ds = load_mnist(args.data_dir)
    ok = minibatch(ds, args.seed, args.epochs)
    seeds = list(range(args.seed, args.seed + args.per_sample_seeds))
    ok = per_sample(ds, seeds, args.per_sample_lr, args.per_sample_hidden) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
