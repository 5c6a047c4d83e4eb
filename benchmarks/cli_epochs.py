"""``deltaprop train`` on Higham's ten points with ``--batch-size 1``: the cost of an epoch stays flat as epochs grow.

Part 1, paired rounds of the CLI at 500 and 4,000 epochs (``--quiet``, and with the progress display
drawn on a pseudo-terminal): per-epoch cost = the training wall time after the first epoch (which
also loads the compiled code) over the epochs after it, from ``--metrics-json`` (``wall_seconds``
minus ``seconds[0]``). Flat means the 4,000-epoch cost is at most 1.25 x the 500-epoch cost.

Part 2, the README's Higham run, 10^6 single-sample steps (100,000 epochs of the ten points, plain
SGD, eta 0.05, 2-2-3-2 sigmoid, quadratic cost, float64) through ``deltaprop train``, against
``train()`` on the same configuration in a fresh process (the call timed, first calls included).
Target: CLI wall time <= 2 x the library's + the CLI's start-up (the wall time of a 1-epoch run).

Usage::

    PYTHONPATH=src python benchmarks/cli_epochs.py [--rounds 3] [--skip-million]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli_speed import cli_metrics, load

HIGHAM = ["--dataset", "higham", "--batch-size", "1", "--optimizer", "sgd", "--lr", "0.05", "--schedule",
          "constant", "--hidden", "2", "3", "--activation", "sigmoid", "--cost", "quadratic", "--dtype", "float64"]

LIBRARY = """
import json, sys, time
import numpy as np
from deltaprop import Network
from deltaprop.datasets import load_dataset
from deltaprop.train import train
epochs = int(sys.argv[1])
ds = load_dataset("higham")
net = Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64", seed=0)
start = time.perf_counter()
h = train(net, ds.X_train, np.eye(2)[ds.y_train], epochs=epochs, batch_size=1, optimizer="sgd", lr=0.05,
          optimizer_options={"weight_decay": 0.0}, seed=0)
print(json.dumps({"call": time.perf_counter() - start, "seconds": sum(h.seconds)}))
"""


def per_epoch(metrics: dict) -> float:
    """Seconds per epoch after the first: (training wall time - epoch 1) / (epochs - 1)."""
    return (metrics["wall_seconds"] - metrics["seconds"][0]) / (len(metrics["seconds"]) - 1)


def timed_cli(argv: list[str], *, terminal: bool) -> tuple[float, dict]:
    start = time.perf_counter()
    metrics = cli_metrics(argv, terminal=terminal)
    return time.perf_counter() - start, metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-million", action="store_true", help="only part 1")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average at start {load():.1f}\n")
    cost: dict[tuple[str, int], list[float]] = {}
    loads = []
    for r in range(args.rounds):
        before = load()
        for mode in ("--quiet", "display"):
            for epochs in (500, 4000):
                flags = ["train", *HIGHAM, "--epochs", str(epochs)] + (["--quiet"] if mode == "--quiet" else [])
                _, metrics = timed_cli(flags, terminal=mode == "display")
                cost.setdefault((mode, epochs), []).append(per_epoch(metrics))
        loads.append((before, load()))
        print(f"round {r + 1}: load {before:.1f} -> {loads[-1][1]:.1f}; " + "; ".join(
            f"{m} {e}: {v[-1] * 1e6:.1f} us" for (m, e), v in cost.items()), flush=True)
    print(f"\nHigham 2-2-3-2, --batch-size 1, plain SGD: CLI seconds per epoch (10 steps) after the first; "
          f"{args.rounds} rounds, load {min(min(p) for p in loads):.1f}-{max(max(p) for p in loads):.1f}")
    print(f"{'':<10}{'500 epochs':>14}{'4,000 epochs':>14}{'4,000 / 500 (paired median)':>30}")
    for mode in ("--quiet", "display"):
        a, b = cost[(mode, 500)], cost[(mode, 4000)]
        ratio = statistics.median(y / x for x, y in zip(a, b))
        print(f"{mode:<10}{statistics.median(a) * 1e6:>11.1f} us{statistics.median(b) * 1e6:>11.1f} us"
              f"{ratio:>30.2f}  flat (<= 1.25): {'PASS' if ratio <= 1.25 else 'FAIL'}")
    if not args.skip_million:
        million()


def million() -> None:
    print("\nThe README's Higham run: 10^6 single-sample steps (100,000 epochs of 10 points)")
    before = load()
    startup, _ = timed_cli(["train", *HIGHAM, "--epochs", "1", "--quiet"], terminal=False)
    run = subprocess.run([sys.executable, "-c", LIBRARY, "100000"], check=True, capture_output=True, text=True)
    library = json.loads(run.stdout.strip().splitlines()[-1])
    rows = []
    for mode in ("--quiet", "display"):
        wall, metrics = timed_cli(["train", *HIGHAM, "--epochs", "100000"] + (["--quiet"] if mode == "--quiet" else []),
                                  terminal=mode == "display")
        rows.append((mode, wall, sum(metrics["seconds"])))
    limit = 2 * library["call"] + startup
    print(f"load {before:.1f} -> {load():.1f}; CLI start-up (1 epoch, wall) {startup:.2f} s; "
          f"train() call {library['call']:.2f} s (sum of History.seconds {library['seconds']:.2f} s)")
    print(f"{'':<10}{'CLI wall s':>12}{'sum of seconds':>16}{'limit 2 x train() + start-up':>30}")
    for mode, wall, total in rows:
        print(f"{mode:<10}{wall:>12.2f}{total:>16.2f}{limit:>24.2f} s  {'PASS' if wall <= limit else 'FAIL'}")


if __name__ == "__main__":
    main()
