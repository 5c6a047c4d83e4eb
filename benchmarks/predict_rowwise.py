"""The estimators' predict path: ``engine.forward_rowwise`` against the BLAS forward, 784-256-10.

    python benchmarks/predict_rowwise.py [--rounds 5]

``DeltapropClassifier.predict``/``predict_proba`` compute every row on its own (``forward_rowwise``, the bits
of ``net.forward(X, rowwise=True)``), so that a row's output does not depend on the other rows (scikit-learn's
sample-order check). The table prints the median over rounds of each way's time for m = 10,000 MNIST-shaped
rows (80 % zeros): BLAS, the NumPy row loop, and the compiled row loop (numba) with their ratios to BLAS, and
checks that the compiled outputs are the NumPy loop's bits and the same under a row permutation.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from deltaprop import Network
from deltaprop.engine import forward_rowwise


def timed(call, rounds: int) -> float:
    call()  # warm-up (and compilation, for a compiled path)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| dtype | m | BLAS ms | NumPy row loop ms | x BLAS | compiled row loop ms | x BLAS | same bits, any order |")
    print("|---|---|---|---|---|---|---|---|")
    for dtype in ("float32", "float64"):
        net = Network([784, 256, 10], ["relu", "softmax"], "cross_entropy", dtype=dtype, seed=0)
        X = rng.random((args.rows, 784)).astype(dtype)
        X[rng.random(X.shape) < 0.8] = 0  # MNIST-like: most pixels 0
        blas = timed(lambda: net.forward(X), args.rounds)
        numpy_loop = timed(lambda: net.forward(X, rowwise=True), args.rounds)
        compiled = timed(lambda: forward_rowwise(net, X), args.rounds)
        perm = rng.permutation(args.rows)
        A = forward_rowwise(net, X)
        same = np.array_equal(A, net.forward(X, rowwise=True)) and np.array_equal(forward_rowwise(net, X[perm]), A[perm])
        print(f"| {dtype} | {args.rows:,} | {blas * 1e3:.1f} | {numpy_loop * 1e3:.1f} | {numpy_loop / blas:.1f} | "
              f"{compiled * 1e3:.1f} | {compiled / blas:.1f} | {same} |")

if __name__ == "__main__":
    main()
