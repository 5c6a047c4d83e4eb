"""Seed 002: CS189 homework 4 on MNIST, in the homework's bias-unit notation, by per-sample SGD.
=============================================================================================

The homework's network has L = 2: a ReLU hidden layer and a softmax output with cross-entropy
J = -sum_j y_j ln x_j^(2). Its notation folds each bias into the weights: x^(l) starts with the
unit x_0 = 1, W^(l) is (d^(l-1) + 1, d^(l)) with row 0 the bias, s^(l) = W^(l)T x^(l-1), and

    delta^(2) = x^(2) - y,   delta_i^(1) = g'(s_i^(1)) sum_j w_ij^(2) delta_j^(2)   (i >= 1),
    W^(l) <- W^(l) - eta x^(l-1) (delta^(l))^T.

This script runs exactly those lines on a few thousand MNIST images and checks that

1. they are deltaprop's model: the gradient of one sample equals ``Network.gradients`` with
   W^(l) split into its bias row and the rest, and 500 steps of both stay equal;
2. the seed's slip g'(s) = max(0, s) gives a different, wrong gradient;
3. two epochs of per-sample SGD reach a sensible test accuracy.

Usage: python examples/seed_002_cs189_mnist.py [--data-dir DIR] [--train 3000] [--test 1000]
The MNIST files come from --data-dir, else $DELTAPROP_DATA, else ../shared/data/mnist.

.. note::

   The documentation build runs this script only when it finds the MNIST files. When no output
   follows the code on this page, they were absent when the page was built.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from deltaprop import Network
from deltaprop.datasets import load_mnist


def relu_step(s: np.ndarray) -> np.ndarray:
    return (s > 0).astype(s.dtype)  # g'(s) = 1[s > 0]


def relu_as_derivative(s: np.ndarray) -> np.ndarray:
    return np.maximum(0, s)  # the seed's slip: this is g(s), not g'(s)


def gradients(W1, W2, x, y, g_prime=relu_step):
    """The homework's backward pass for one sample: (dJ/dW^(1), dJ/dW^(2)), bias in row 0."""
    x0 = np.concatenate([[1.0], x])  # x^(0), with x_0 = 1
    s1 = W1.T @ x0  # (d1,)
    x1 = np.concatenate([[1.0], np.maximum(0, s1)])  # x^(1), with x_0 = 1
    s2 = W2.T @ x1  # (10,)
    e = np.exp(s2 - s2.max())
    x2 = e / e.sum()  # softmax
    delta2 = x2 - y
    delta1 = g_prime(s1) * (W2[1:] @ delta2)  # i >= 1: the bias unit has no delta
    return np.outer(x0, delta1), np.outer(x1, delta2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="CS189 homework 4 on MNIST, per-sample SGD")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--train", type=int, default=3000)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--eta", type=float, default=0.02)
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args(argv)
    data_dir = args.data_dir
    default = Path(sys.argv[0]).resolve().parents[2] / "shared" / "data" / "mnist"
    if data_dir is None and not os.environ.get("DELTAPROP_DATA") and default.is_dir():
        data_dir = default
    ds = load_mnist(data_dir, subset=(args.train, args.test))
    X, y = ds.X_train.astype(np.float64), ds.y_train
    Y = np.eye(10)[y]
    d0, d1 = X.shape[1], args.hidden
    rng = np.random.default_rng(0)
    W1 = np.vstack([np.zeros((1, d1)), np.sqrt(2 / d0) * rng.standard_normal((d0, d1))])  # (785, d1)
    W2 = np.vstack([np.zeros((1, 10)), np.sqrt(2 / d1) * rng.standard_normal((d1, 10))])  # (d1 + 1, 10)
    print(f"Seed 002: CS189 homework 4, MNIST {args.train} train / {args.test} test, {d0}-{d1}-10, ReLU + softmax")

    net = Network([d0, d1, 10], ["relu", "softmax"], "cross_entropy", dtype="float64")
    net.weights, net.biases = [W1[1:], W2[1:]], [W1[0], W2[0]]
    g1, g2 = gradients(W1, W2, X[0], Y[0])
    dW, db = net.gradients(X[:1], Y[:1])
    same = max(np.abs(g1[1:] - dW[0]).max(), np.abs(g1[0] - db[0]).max(), np.abs(g2[1:] - dW[1]).max(),
               np.abs(g2[0] - db[1]).max())
    print(f"1. bias-unit gradient vs Network.gradients: max difference {same:.1e}")
    s1, _ = gradients(W1, W2, X[0], Y[0], relu_as_derivative)
    slip = np.linalg.norm(s1 - g1) / np.linalg.norm(g1)
    print(f"2. with the seed's g'(s) = max(0, s): dJ/dW^(1) off by a relative {slip:.2f}")

    order = np.random.default_rng(1).permutation(len(y))
    A1, A2 = W1.copy(), W2.copy()
    for i in order[:500]:  # the same 500 steps, written both ways
        g1, g2 = gradients(A1, A2, X[i], Y[i])
        A1 -= args.eta * g1
        A2 -= args.eta * g2
        dW, db = net.gradients(X[i:i + 1], Y[i:i + 1])
        for Wl, bl, gW, gb in zip(net.weights, net.biases, dW, db):
            Wl -= args.eta * gW
            bl -= args.eta * gb
    drift = max(np.abs(A1[1:] - net.weights[0]).max(), np.abs(A2[0] - net.biases[1]).max())
    print(f"   after 500 SGD steps both ways: max weight difference {drift:.1e}")

    for epoch in range(args.epochs):
        for i in np.random.default_rng(10 + epoch).permutation(len(y)):
            g1, g2 = gradients(W1, W2, X[i], Y[i])
            W1 -= args.eta * g1  # W^(l) <- W^(l) - eta x^(l-1) delta^(l)T
            W2 -= args.eta * g2
    Xt = ds.X_test.astype(np.float64)
    H = np.maximum(0, np.hstack([np.ones((len(Xt), 1)), Xt]) @ W1)  # (m, d1)
    scores = np.hstack([np.ones((len(Xt), 1)), H]) @ W2  # (m, 10)
    acc = float(np.mean(scores.argmax(axis=1) == ds.y_test))
    print(f"3. per-sample SGD, eta = {args.eta}, {args.epochs} epochs: test accuracy {acc:.4f}")
    ok = same < 1e-12 and slip > 0.05 and drift < 1e-9 and acc > 0.8
    print("all checks passed" if ok else "A CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__" and (status := main()) != 0:
    sys.exit(status)  # exit 0 by falling off the end, so that the docs gallery can run the script too
