"""``deltaprop train`` on Higham's ten points with ``--batch-size 1``: the cost of an epoch stays flat as epochs grow.

Part 1, paired rounds of the CLI at 500 and 4,000 epochs (``--quiet``, and with the progress display
drawn on a pseudo-terminal), and of ``train()`` in a fresh process. Two measures of an epoch's cost:
the mean of the per-epoch ``seconds`` after the first (``--metrics-json``, ``History.seconds``; the
first epoch also loads compiled code), and, for the process as a whole, the marginal wall and CPU
time per epoch between the two runs, (t(4,000) - t(500)) / 3,500, which includes everything done
per epoch outside the timed epochs too (display, callbacks). Flat means the 4,000-epoch mean is at
most 1.25 x the 500-epoch mean, and the marginal cost is close to the epoch's own seconds.

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
import resource
import statistics
import subprocess
import sys
import time

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
print(json.dumps({"call": time.perf_counter() - start, "seconds": h.seconds}))
"""


def later(metrics: dict) -> float:
    """Mean seconds of the epochs after the first."""
    return statistics.mean(metrics["seconds"][1:])


def timed_cli(argv: list[str], *, terminal: bool) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds, --metrics-json) of one ``python -m deltaprop`` process."""
    cpu = _children_cpu()
    start = time.perf_counter()
    metrics = cli_metrics(argv, terminal=terminal)
    return time.perf_counter() - start, _children_cpu() - cpu, metrics


def timed_library(epochs: int) -> tuple[float, float, dict]:
    cpu = _children_cpu()
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", LIBRARY, str(epochs)], check=True, capture_output=True, text=True)
    return time.perf_counter() - start, _children_cpu() - cpu, json.loads(run.stdout.strip().splitlines()[-1])


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


MODES = ("--quiet", "display", "train()")


def run_mode(mode: str, epochs: int) -> tuple[float, float, dict]:
    if mode == "train()":
        return timed_library(epochs)
    flags = ["train", *HIGHAM, "--epochs", str(epochs)] + (["--quiet"] if mode == "--quiet" else [])
    return timed_cli(flags, terminal=mode == "display")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-million", action="store_true", help="only part 1")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average at start {load():.1f}\n")
    got: dict[tuple[str, int], list[tuple[float, float, dict]]] = {}
    loads = []
    for r in range(args.rounds):
        before = load()
        for mode in MODES:
            for epochs in (500, 4000):
                got.setdefault((mode, epochs), []).append(run_mode(mode, epochs))
        loads.append((before, load()))
        print(f"round {r + 1}: load {before:.1f} -> {loads[-1][1]:.1f}; " + "; ".join(
            f"{m} {e}: {later(v[-1][2]) * 1e6:.1f} us" for (m, e), v in got.items()), flush=True)
    print(f"\nHigham 2-2-3-2, --batch-size 1 (10 steps an epoch), plain SGD: cost of an epoch; {args.rounds} "
          f"paired rounds, load {min(min(p) for p in loads):.1f}-{max(max(p) for p in loads):.1f}")
    print(f"{'':<10}{'seconds, 500':>14}{'seconds, 4,000':>16}{'4,000 / 500':>13}{'marginal wall':>15}"
          f"{'marginal CPU':>14}")
    for mode in MODES:
        a, b = got[(mode, 500)], got[(mode, 4000)]
        ratio = statistics.median(later(y[2]) / later(x[2]) for x, y in zip(a, b))
        wall = statistics.median((y[0] - x[0]) / 3500 for x, y in zip(a, b))
        cpu = statistics.median((y[1] - x[1]) / 3500 for x, y in zip(a, b))
        print(f"{mode:<10}{statistics.median(later(x[2]) for x in a) * 1e6:>11.1f} us"
              f"{statistics.median(later(y[2]) for y in b) * 1e6:>13.1f} us{ratio:>13.2f}{wall * 1e6:>12.1f} us"
              f"{cpu * 1e6:>11.1f} us  flat (<= 1.25): {'PASS' if ratio <= 1.25 else 'FAIL'}")
    print("(seconds: mean per-epoch seconds after the first, median over rounds; marginal: "
          "(t(4,000) - t(500)) / 3,500 of the whole process, median over rounds)")
    if not args.skip_million:
        million()


def million() -> None:
    print("\nThe README's Higham run: 10^6 single-sample steps (100,000 epochs of 10 points)")
    before = load()
    startup = timed_cli(["train", *HIGHAM, "--epochs", "1", "--quiet"], terminal=False)[0]
    library = timed_library(100_000)[2]
    rows = []
    for mode in ("--quiet", "display"):
        wall, _, metrics = run_mode(mode, 100_000)
        rows.append((mode, wall, sum(metrics["seconds"])))
    limit = 2 * library["call"] + startup
    print(f"load {before:.1f} -> {load():.1f}; CLI start-up (1 epoch, wall) {startup:.2f} s; "
          f"train() call {library['call']:.2f} s (sum of History.seconds {sum(library['seconds']):.2f} s)")
    print(f"{'':<10}{'CLI wall s':>12}{'sum of seconds':>16}{'limit 2 x train() + start-up':>30}")
    for mode, wall, total in rows:
        print(f"{mode:<10}{wall:>12.2f}{total:>16.2f}{limit:>24.2f} s  {'PASS' if wall <= limit else 'FAIL'}")


if __name__ == "__main__":
    main()
