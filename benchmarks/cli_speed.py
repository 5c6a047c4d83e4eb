"""``deltaprop train`` as a user runs it, against ``train()`` and PyTorch 2.13: seconds per epoch, paired rounds.

MNIST 784-256-10 (ReLU, softmax + cross-entropy), SGD momentum 0.9, lr 0.1, batch 128, constant
rate, float32. Every round runs, in shuffled order, each in a fresh process:

- ``CLI --quiet``: ``python -m deltaprop train ... --quiet --metrics-json m.json``; its per-epoch ``seconds``.
- ``CLI display``: the same without ``--quiet``, stderr on a pseudo-terminal, so the progress bar is drawn.
- ``train()``: the library on the same rows and network, ``History.seconds``.
- ``PyTorch``: ``deltaprop.bench``'s PyTorch contender (its own loop over batches taken by index from a
  preloaded tensor, the same initial weights, ``--torch-threads``), one ``run()`` per epoch.

Each process pays its first calls (loading compiled code, PyTorch's dispatch) in its first epoch, so
the table shows epoch 1 and the later epochs apart. Ratios are paired: the median over rounds of the
two times of the same round. The machine is shared: the load average is printed with each round.

Usage::

    PYTHONPATH=src python benchmarks/cli_speed.py --data-dir /work/shared/data/mnist [--rounds 5] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FLAGS = ["--hidden", "256", "--activation", "relu", "--cost", "cross_entropy", "--optimizer", "momentum",
         "--momentum", "0.9", "--lr", "0.1", "--batch-size", "128", "--schedule", "constant", "--dtype", "float32"]

LIBRARY = """
import json, sys
import numpy as np
from deltaprop import Network
from deltaprop.datasets import load_dataset
from deltaprop.train import train
data_dir, epochs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ds = load_dataset("mnist", data_dir=data_dir, seed=0)  # the rows deltaprop train --dataset mnist uses
net = Network([784, 256, 10], ["relu", "softmax"], "cross_entropy", dtype="float32", seed=seed)
Y = np.eye(10, dtype=np.float32)[ds.y_train]
h = train(net, ds.X_train, Y, epochs=epochs, batch_size=128, optimizer="momentum", lr=0.1,
          optimizer_options={"momentum": 0.9, "weight_decay": 0.0}, seed=seed)
print(json.dumps(h.seconds))
"""

TORCH = """
import json, sys
from deltaprop.bench.configs import Task
from deltaprop.bench.peers import Torch
from deltaprop.bench.worker import Data, limit_threads
from deltaprop.datasets import load_dataset
data_dir, epochs, seed, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
limits = limit_threads(threads)
ds = load_dataset("mnist", data_dir=data_dir, seed=0)
peer = Torch(Data(ds.X_train, ds.y_train, ds.X_test, ds.y_test), threads=threads)
peer.reset(Task(kind="epoch", sizes=(784, 256, 10)), seed)  # SGD momentum 0.9, lr 0.1, batch 128, float32
print(json.dumps([peer.run()["seconds"] for _ in range(epochs)]))
"""


IN_PROCESS = """
import json, sys, tempfile
import numpy as np
from deltaprop import Network
from deltaprop.checkpoint import Checkpointer
from deltaprop.commands._common import Interrupt
from deltaprop.datasets import load_dataset
from deltaprop.train import train
data_dir, rounds = sys.argv[1], int(sys.argv[2])
ds = load_dataset("mnist", data_dir=data_dir, seed=0)
Y = np.eye(10, dtype=np.float32)[ds.y_train]
net = Network([784, 256, 10], ["relu", "softmax"], "cross_entropy", dtype="float32", seed=0)
options = dict(batch_size=128, optimizer="momentum", lr=0.1, optimizer_options={"momentum": 0.9}, seed=0)
train(net.copy(), ds.X_train[:1280], Y[:1280], epochs=1, **options)  # load the compiled code
out = {"plain": [], "callbacks": []}
with tempfile.TemporaryDirectory() as tmp:
    for r in range(rounds):
        for kind in (("plain", "callbacks") if r % 2 else ("callbacks", "plain")):
            interrupt = Interrupt()
            callbacks = [interrupt, Checkpointer(f"{tmp}/{r}{kind}", every=10**9)] if kind == "callbacks" else []
            with interrupt.installed():
                h = train(net.copy(), ds.X_train, Y, epochs=1, callbacks=callbacks, **options)
            out[kind].append(h.seconds[0])
print(json.dumps(out))
"""


def in_process(data_dir: str, rounds: int) -> None:
    """The CLI's --quiet callbacks (Ctrl-C handler, a checkpointer's schedule) against none, one process, paired."""
    got = json.loads(subprocess.run([sys.executable, "-c", IN_PROCESS, data_dir, str(rounds)], check=True,
                                    capture_output=True, text=True).stdout.strip().splitlines()[-1])
    ratio = [a / b for a, b in zip(got["callbacks"], got["plain"])]
    print(f"\nIn one process, {rounds} paired epochs (warm): train() with the CLI's Interrupt and a Checkpointer "
          f"(scheduled, no write within the epoch) against train() alone, s/epoch (History.seconds)")
    print(f"  with callbacks {statistics.median(got['callbacks']):.3f}, alone {statistics.median(got['plain']):.3f}; "
          f"paired ratio median {statistics.median(ratio):.3f} (range {min(ratio):.2f}-{max(ratio):.2f})")


def load() -> float:
    return os.getloadavg()[0]


def cli(argv: list[str], *, terminal: bool) -> list[float]:
    """The per-epoch seconds of ``python -m deltaprop`` argv (see ``cli_metrics``)."""
    return [float(s) for s in cli_metrics(argv, terminal=terminal)["seconds"]]


def cli_metrics(argv: list[str], *, terminal: bool) -> dict:
    """Run ``python -m deltaprop`` with argv (stderr on a pseudo-terminal when ``terminal``); its --metrics-json."""
    with tempfile.TemporaryDirectory() as tmp:
        metrics = Path(tmp) / "m.json"
        cmd = [sys.executable, "-m", "deltaprop", *argv, "--metrics-json", str(metrics)]
        # the child runs in tmp: a relative PYTHONPATH (the usage line's "src") must not lose deltaprop there
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)}
        if not terminal:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp, env=env)
        else:
            main, other = pty.openpty()
            seen: list[bytes] = []
            reader = threading.Thread(target=_drain, args=(main, seen), daemon=True)
            reader.start()
            env = {**env, "COLUMNS": "120"}
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=other, cwd=tmp, env=env)
            os.close(other)
            reader.join(timeout=5)
            os.close(main)
            if b"samples/s" not in b"".join(seen):
                raise RuntimeError("the progress display drew nothing on the terminal")
        return dict(json.loads(metrics.read_text()))


def _drain(fd: int, seen: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        seen.append(chunk)


def script(code: str, *args: str) -> list[float]:
    run = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return [float(s) for s in json.loads(run.stdout.strip().splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--in-process", type=int, default=0, metavar="ROUNDS",
                        help="only the in-process check of the CLI's callbacks, with this many paired epochs")
    parser.add_argument("--torch-threads", type=int, default=2,
                        help="PyTorch's threads (2 as in deltaprop bench; 1 is fairer to it on a loaded machine)")
    args = parser.parse_args()
    if args.in_process:
        in_process(args.data_dir, args.in_process)
        return
    data = ["--dataset", "mnist", "--data-dir", args.data_dir, "--epochs", str(args.epochs)]
    runs = {
        "CLI --quiet": lambda seed: cli(["train", *data, *FLAGS, "--seed", str(seed), "--quiet"], terminal=False),
        "CLI display": lambda seed: cli(["train", *data, *FLAGS, "--seed", str(seed)], terminal=True),
        "train()": lambda seed: script(LIBRARY, args.data_dir, str(args.epochs), str(seed)),
    }
    if not args.skip_torch:
        runs["PyTorch"] = lambda seed: script(TORCH, args.data_dir, str(args.epochs), str(seed), str(args.torch_threads))
    rng = random.Random(0)
    seconds: dict[str, list[list[float]]] = {name: [] for name in runs}
    walls: dict[str, list[float]] = {name: [] for name in runs}
    loads = []
    for r in range(args.rounds):
        order = list(runs)
        rng.shuffle(order)
        before = load()
        for name in order:
            start = time.perf_counter()
            seconds[name].append(runs[name](r))
            walls[name].append(time.perf_counter() - start)
        loads.append((before, load()))
        print(f"round {r + 1}: load {before:.1f} -> {loads[-1][1]:.1f}; " + "; ".join(
            f"{n} {' '.join(f'{s:.3f}' for s in seconds[n][-1])}" for n in runs), flush=True)
    report(seconds, walls, loads, args)


def report(seconds: dict[str, list[list[float]]], walls: dict[str, list[float]], loads: list[tuple[float, float]], args: argparse.Namespace) -> None:
    def later(run: list[float]) -> float:  # epochs 2..E (epoch 1 if it is the only one)
        return statistics.mean(run[1:] or run)

    print(f"\nMNIST 784-256-10, momentum 0.9, lr 0.1, batch 128, float32; {args.rounds} paired rounds of "
          f"{args.epochs} epochs; PyTorch {args.torch_threads} thread(s); load average {min(min(p) for p in loads):.1f}-{max(max(p) for p in loads):.1f} "
          f"on {os.cpu_count()} CPUs\n")
    print(f"{'s/epoch':<14}{'epoch 1 median':>16}{'later median':>14}{'later min':>11}{'later max':>11}"
          f"{'process median':>16}")
    for name, runs in seconds.items():
        first, rest = [run[0] for run in runs], [later(run) for run in runs]
        print(f"{name:<14}{statistics.median(first):>16.3f}{statistics.median(rest):>14.3f}"
              f"{min(rest):>11.3f}{max(rest):>11.3f}{statistics.median(walls[name]):>16.2f}")
    print("(process: the whole child process, start to exit: imports, reading MNIST, training, and for the CLI\n"
          " also the test evaluation and the model file; the CLI reads MNIST while numba gets ready)")
    print(f"\n{'paired ratio':<28}{'epoch 1':>9}{'later':>9}{'all':>9}{'range (all)':>16}  target")
    pairs = [("CLI --quiet", "train()", 1.05), ("CLI display", "train()", 1.05),
             ("CLI --quiet", "PyTorch", 0.55), ("CLI display", "PyTorch", 0.55), ("train()", "PyTorch", None)]
    for a, b, target in pairs:
        if a not in seconds or b not in seconds:
            continue
        ratio = [[x / y for x, y in zip(ra, rb)] for ra, rb in zip(seconds[a], seconds[b])]
        whole = [sum(ra) / sum(rb) for ra, rb in zip(seconds[a], seconds[b])]
        med = statistics.median(whole)
        verdict = "" if target is None else f"<= {target}: {'PASS' if med <= target else 'FAIL'}"
        print(f"{a + ' / ' + b:<28}{statistics.median(r[0] for r in ratio):>9.3f}"
              f"{statistics.median(later(r) for r in ratio):>9.3f}{med:>9.3f}"
              f"{f'{min(whole):.2f}-{max(whole):.2f}':>16}  {verdict}")
    print("(all: the run's total epoch seconds over the other's, same round; medians over rounds)")


if __name__ == "__main__":
    main()
