"""Epoch time of ``deltaprop.dask.fit`` on 1 worker against 2, and the bytes each step moves.

    python benchmarks/dask_scale.py                 # about three minutes on a 2-core machine
    python benchmarks/dask_scale.py --rows 50000 --epochs 3

A LocalCluster on 127.0.0.1 with 1, then 2, worker processes of one thread each (distributed sets
OMP/OpenBLAS threads to 1 in its workers). The data, m x 100 float64 with 10 classes, is generated
on the workers and persisted there in 20 partitions; the network is 100-64-10 (tanh, softmax).
Timed: full-batch epochs (one gradient step on all rows) and local-SGD epochs (batch 128, K = 50
steps between averages), the median over ``--epochs`` epochs after one warm-up epoch. For
reference, the same epoch in this process with ``train`` on a NumPy copy, one BLAS thread.

Bytes per step are what one step sends, counted from the payloads: the model file's bytes to each
worker, and back either one partition sum per partition (full-batch; then added on the workers in a
tree) or one replica's parameters and optimiser state per replica (local SGD), and, measured, the bytes
the workers' transfer counters report sent per epoch (``transfer_outgoing_bytes_total``).
"""

from __future__ import annotations

import argparse
import os
import statistics

import numpy as np
from threadpoolctl import threadpool_limits

from deltaprop import Network, train
from deltaprop.dask import fit
from deltaprop.io import to_bytes


def _data(rows: int, partitions: int) -> tuple:
    import dask.array as da

    X = da.random.default_rng(0).standard_normal((rows, 100), chunks=(-(-rows // partitions), 100))
    y = (X[:, :10] @ np.arange(1, 11.0) > 0).astype(np.int64) * 5 + (abs(X[:, 10]) * 3).astype(np.int64) % 5
    return X, y


def _net() -> Network:
    return Network([100, 64, 10], ["tanh", "softmax"], "cross_entropy", seed=0, dtype="float64")


def _peer_bytes(client) -> int:
    return sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())


def _time_epochs(client, X, y, mode: str, epochs: int) -> tuple[float, float]:
    """Median seconds per epoch, and bytes the workers sent per epoch, after one warm-up epoch."""
    options = {"mode": mode, "optimizer": "momentum", "lr": 0.05}
    if mode == "local-sgd":
        options.update(batch_size=128, local_steps=50, seed=0)
    net = _net()
    fit(net, X, y, client=client, epochs=1, **options)
    before = _peer_bytes(client)
    history = fit(net, X, y, client=client, epochs=epochs, **options)
    return statistics.median(history.seconds), (_peer_bytes(client) - before) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    net = _net()
    model_bytes = len(to_bytes(net))
    param_bytes = sum(W.nbytes for W in net.weights + net.biases)
    rows: list[tuple[str, str, float, float, float]] = []
    local: dict[str, float] = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            X, y = _data(args.rows, args.partitions)
            X, y = client.persist([X, y])
            for mode in ("full-batch", "local-sgd"):
                seconds, peer = _time_epochs(client, X, y, mode, args.epochs)
                if mode == "full-batch":
                    sent = model_bytes * workers + (param_bytes + 16) * args.partitions
                    steps = 1
                else:  # per round: the model to and the parameters and momentum back from each replica
                    sent = (model_bytes + 2 * param_bytes) * workers
                    steps = 50
                rows.append((f"{workers}", mode, seconds, sent / steps, peer))
            if workers == 1:
                Xl, yl = X.compute(), y.compute()
    for mode in ("full-batch", "local-sgd"):
        net, batch = _net(), len(Xl) if mode == "full-batch" else 128
        with threadpool_limits(1):  # one BLAS thread, as in each worker
            train(net, Xl, yl, epochs=1, batch_size=batch, optimizer="momentum", lr=0.05, seed=0)  # warm-up
            history = train(net, Xl, yl, epochs=args.epochs, batch_size=batch, optimizer="momentum", lr=0.05, seed=0)
        local[mode] = statistics.median(history.seconds)

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; m = {args.rows} rows x 100 float64 "
          f"({args.rows * 800 / 1e6:.0f} MB) in {args.partitions} partitions; "
          f"net 100-64-10; model file {model_bytes} B, parameters {param_bytes} B")
    print("| workers | mode | s / epoch | x 1 worker | in-process s / epoch | payload B / step "
          "| B sent by workers / epoch |")
    print("|---|---|---|---|---|---|---|")
    one = {mode: s for w, mode, s, _, _ in rows if w == "1"}
    for w, mode, s, sent, peer in rows:
        print(f"| {w} | {mode} | {s:.3f} | {s / one[mode]:.2f} | {local[mode]:.3f} | {sent:,.0f} | {peer:,.0f} |")


if __name__ == "__main__":
    main()
