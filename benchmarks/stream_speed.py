"""Epoch time of streamed training against training on the same rows in memory (issue 19: streamed <= 1.3 x).

Generates ``--rows`` rows of 99 float32 features and a 0/1 label (a few hundred MB: it fits in
memory) as .npy shards and as a Parquet file in a temporary folder, then times epochs of
``train()`` (``History.seconds``) on a 99-``--hidden``-2 softmax network (momentum, batch 128,
float32) three ways: the scaled rows in memory, a ``Stream`` of the shards, a ``Stream`` of the
Parquet file. The streams' epochs include reading every chunk (from the page cache: the files were
just written), scaling it and shuffling it. Each round runs one epoch of each contender in a
shuffled order; the table gives the median, min and max over rounds and the median of the paired
ratios streamed / in memory.

Usage::

    PYTHONPATH=src python benchmarks/stream_speed.py [--rows 500000] [--hidden 128] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

import numpy as np

from stream_memory import N_0, generate

import deltaprop
from deltaprop.datasets.stream import open_stream
from deltaprop.stream import Stream
from deltaprop.train import train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=500_000)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dir", default=os.environ.get("TMPDIR", tempfile.gettempdir()))
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="deltaprop-stream-speed-", dir=args.dir))
    try:
        parquet, shards = generate(folder, args.rows, 80_000, 4)
        data = {"npy": open_stream(shards), "parquet": open_stream(parquet)}
        A = np.concatenate([np.load(f) for f in sorted(shards.iterdir())])  # (m, n_0 + 1)
        d = data["npy"]
        X = d.scaling.apply(A[:d.n_train, :N_0]).astype(np.float32)  # (m_train, n_0), as the stream sees it
        y = A[:d.n_train, N_0].astype(np.int64)
        del A

        def network() -> deltaprop.Network:
            net = deltaprop.Network([N_0, args.hidden, 2], ["relu", "softmax"], "cross_entropy", seed=0)
            net.scaling, net.classes = d.scaling, d.classes
            return net

        nets = {"in memory": network(), "npy": network(), "parquet": network()}

        def epoch(name: str) -> float:
            net = nets[name]
            rows = (X, y) if name == "in memory" else (Stream(data[name], net, 0, d.n_train, seed=0), None)
            h = train(net, *rows, epochs=1, batch_size=128, optimizer="momentum", lr=0.01, seed=0)
            return h.seconds[0]

        times: dict[str, list[float]] = {name: [] for name in nets}
        rng = np.random.default_rng(0)
        for name in nets:  # a warm-up epoch each (first calls, page cache)
            epoch(name)
        for _ in range(args.rounds):
            for name in rng.permutation(list(nets)):
                times[str(name)].append(epoch(str(name)))
        print(f"\n{args.rows:,} rows ({d.n_train:,} trained on), {N_0}-{args.hidden}-2, batch 128, float32; "
              f"{args.rounds} rounds, load average {os.getloadavg()[0]:.1f}")
        print(f"{'contender':<12} {'median s':>9} {'min s':>7} {'max s':>7} {'x in memory':>12}")
        base = times["in memory"]
        for name, t in times.items():
            ratio = statistics.median(a / b for a, b in zip(t, base))
            print(f"{name:<12} {statistics.median(t):>9.3f} {min(t):>7.3f} {max(t):>7.3f} {ratio:>12.2f}")
        print("bar: streamed <= 1.3 x in memory")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
