r"""Data-parallel training on a Dask cluster: the data stays on the workers, the network travels as bytes.

Two modes, both driven from the client by ``fit(net, X, y, client=...)``:

- ``"full-batch"``: every epoch is one gradient step on all m rows. Each partition p computes,
  with ``Network.trace``, the sums S_W^(l) = sum_{i in p} w_i a_i^(l-1)T delta_i^(l) and
  S_b^(l) = sum_{i in p} w_i delta_i^(l); the sums are added in a tree on the workers, and the
  client divides by sum_i w_i (m without weights). The result is ``net.gradients`` on the
  concatenated data (``gradients`` returns it alone).
- ``"local-sgd"``: local SGD with parameter averaging. The partitions are dealt round-robin to R
  replicas (R = the number of workers by default). In each round every replica makes K =
  ``local_steps`` mini-batch steps with ``deltaprop.train`` on its next K * batch_size rows,
  starting from the averaged parameters and its own optimiser state, then the client averages
  the parameters of the replicas that ran: W^(l) <- (1/R') sum_r W_r^(l). The replicas' optimiser
  states start a call from the optimiser's and are averaged into it at the end of the call.

A Dask DataFrame works as X (numeric or bool columns, in their order, cast to ``net.dtype``), and
``y`` may name one of its columns. Workers receive the network as the bytes of a model file
(``deltaprop.io.to_bytes``, safetensors) and send back arrays; no deltaprop object is ever pickled.
Partitions are never gathered: each task reads one partition (or a slice of one) where it lives,
so X may exceed any worker's memory. X is recomputed from its graph every epoch; ``persist()`` it
first if it fits in the cluster.

Examples
--------
>>> import dask.array as da, numpy as np
>>> from distributed import Client, LocalCluster
>>> from deltaprop import Network
>>> with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
...         Client(cluster) as client:
...     X = da.from_array(np.random.default_rng(0).normal(size=(100, 3)), chunks=40)
...     y = (X[:, 0] > 0).astype(int)
...     net = Network([3, 4, 2], ["tanh", "softmax"], "cross_entropy", seed=0)
...     history = fit(net, X, y, client=client, mode="full-batch", epochs=5, optimizer="adam", lr=0.01)
>>> len(history.train_cost)
5
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..io import from_bytes, to_bytes
from ..network import Network
from ..optim import Adam, Optimizer, next_epoch, optimizer_from_config
from ..train import DivergenceError, History, _optimizer, train
from ._data import dask_rows

__all__ = ["fit", "gradients"]

MODES = ("full-batch", "local-sgd")


# ----- full-batch: sums on the workers, added in a tree ----------------------------------------------
def _partition_sums(model: bytes, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> list[Any]:
    r"""[S_W^(1..L), S_b^(1..L), sum_i w_i c_i, sum_i w_i] of one partition (runs on a worker)."""
    net = from_bytes(model)
    L = net.L
    total = float(X.shape[0]) if w is None else float(np.sum(w))
    if X.shape[0] == 0 or total == 0.0:  # nothing weighs here: zeros of the right shapes
        return ([np.zeros_like(W) for W in net.weights] + [np.zeros_like(b) for b in net.biases] + [0.0, 0.0])
    t = net.trace(X, Y, sample_weight=w)  # delta is per sample, not yet divided by m
    coef = np.ones(X.shape[0], dtype=net.dtype) if w is None else np.asarray(w, dtype=net.dtype)
    S_W = [t.a[l - 1].T @ (t.delta[l] * coef[:, None]) for l in range(1, L + 1)]  # (n_{l-1}, n_l)
    S_b = [coef @ t.delta[l] for l in range(1, L + 1)]  # (n_l,)
    return S_W + S_b + [t.cost * total, total]


def _add(left: list[Any], right: list[Any]) -> list[Any]:
    return [a + b for a, b in zip(left, right)]


def _tree_sum(parts: list[Any]) -> Any:
    """Pairwise sums as delayed tasks: depth log2(P), each on a worker holding one of its inputs."""
    from dask import delayed

    while len(parts) > 1:
        parts = [delayed(_add)(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]


def _full_batch_sums(net: Network, data: tuple[Any, ...], client: Any) -> tuple[list[np.ndarray], float, float]:
    from dask import delayed

    Xs, ys, ws, _ = data
    model = client.scatter(to_bytes(net), broadcast=True, hash=False)  # a fresh key each time (see the test)
    parts = [delayed(_partition_sums)(model, Xp, yp, None if ws is None else ws[i])
             for i, (Xp, yp) in enumerate(zip(Xs, ys))]
    sums = client.compute(_tree_sum(parts)).result()
    return sums[:-2], float(sums[-2]), float(sums[-1])


def gradients(net: Network, X: Any, y: Any, *, client: Any,
              sample_weight: Any = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""(dW, db) of ``net`` on all rows of the Dask data, computed where the partitions live.

    Parameters
    ----------
    net : Network
    X : Dask array of shape (m, n_0), or a Dask DataFrame of n_0 numeric columns
    y : Dask array or Series of shape (m,) (class labels of a classifier) or (m, n_L), or a column name of X
    client : distributed.Client
    sample_weight : Dask array or Series of shape (m,), optional

    Returns
    -------
    dW : list of L ndarrays; dW[l-1] has shape (n_{l-1}, n_l)
    db : list of L ndarrays; db[l-1] has shape (n_l,)

    Notes
    -----
    dC/dW^(l) = (sum_p S_W^(l)_p) / sum_i w_i with S_W^(l)_p = sum_{i in p} w_i a_i^(l-1)T delta_i^(l):
    ``net.gradients`` on the concatenated rows, up to the order of the sums.
    """
    _check_net(net)
    _check_client(client)
    sums, _, total = _full_batch_sums(net, dask_rows(net, X, y, sample_weight), client)
    _check_total(total)
    L = net.L
    return [S / total for S in sums[:L]], [S / total for S in sums[L:]]


def _check_net(net: Network) -> None:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a deltaprop.Network, got {type(net).__name__}")
    if any(net.dropout):
        raise ValueError("deltaprop.dask does not apply dropout; build the network with dropout=None")


def _check_client(client: Any) -> None:
    if not (hasattr(client, "compute") and hasattr(client, "scatter")):
        raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}")


def _check_total(total: float) -> None:
    if not total > 0:
        raise ValueError("the data has no rows of positive weight: nothing to train on")


# ----- local SGD with averaging --------------------------------------------------------------------
def _local_steps(model: bytes, config: dict[str, Any], state: dict[str, Any], X: np.ndarray, Y: np.ndarray,
                 w: np.ndarray | None, batch_size: int, shuffle: bool, seed: int) -> tuple[Any, ...]:
    """K steps of ``train`` on one block (runs on a worker): (W list, b list, optimiser state, cost sum, weight)."""
    net = from_bytes(model)
    optimizer = optimizer_from_config(config)
    optimizer.load_state_dict(state)
    total = float(X.shape[0]) if w is None else float(np.sum(w))
    if total == 0.0:  # a block of weight 0 makes no step
        return net.weights, net.biases, optimizer.state_dict(), 0.0, 0.0
    history = train(net, X, Y, epochs=1, batch_size=batch_size, optimizer=optimizer, sample_weight=w,
                    shuffle=shuffle, seed=seed)
    return net.weights, net.biases, optimizer.state_dict(), history.train_cost[0] * total, total


def _slice(A: np.ndarray, start: int, stop: int) -> np.ndarray:
    return A[start:stop]


def _blocks(rows: Sequence[int], replicas: int, block: int) -> list[list[tuple[int, int, int]]]:
    """For each replica, its (partition, start, stop) row ranges of at most ``block`` rows, in order."""
    out: list[list[tuple[int, int, int]]] = [[] for _ in range(replicas)]
    for p, m_p in enumerate(rows):
        out[p % replicas] += [(p, s, min(s + block, m_p)) for s in range(0, m_p, block)]
    return out


def _mean(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """(1/R') sum_r A_r, elementwise, of R' arrays of one shape."""
    return np.mean(np.stack(arrays), axis=0)


def _average(results: list[tuple[Any, ...]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """W^(l) = (1/R') sum_r W_r^(l), and the same for b^(l), over the R' replicas that ran."""
    W = [_mean(layer) for layer in zip(*(r[0] for r in results))]
    b = [_mean(layer) for layer in zip(*(r[1] for r in results))]
    return W, b


def _average_states(opt: Optimizer, finals: list[dict[str, Any]]) -> dict[str, Any]:
    r"""``opt.state_dict()`` with the R' replicas' final optimiser states averaged in.

    t = ceil((1/R') sum_r t_r); each state array is the elementwise mean over the replicas, a replica
    that never stepped counting zeros. Adam's moments are averaged bias-corrected and re-biased at t,
    m = (1 - beta1^t) (1/R') sum_r m_r / (1 - beta1^t_r) (v likewise with beta2), so that Adam's
    corrected m_hat = m / (1 - beta1^t) is the mean of the replicas' m_hat_r; with equal t_r this is
    the plain mean. Hyperparameters, eta and epoch stay opt's.
    """
    state = opt.state_dict()
    counts = [int(s["t"]) for s in finals]
    t = -(-sum(counts) // len(counts))  # the mean, rounded up: > 0 once any replica stepped
    betas = {"m": opt.beta1, "v": opt.beta2} if isinstance(opt, Adam) else {}
    for key in (k for k, value in state.items() if isinstance(value, list)):  # the state arrays
        stepped = [(s[key], t_r) for s, t_r in zip(finals, counts) if s[key]]
        if not stepped:
            continue  # no replica has stepped yet: the arrays stay empty
        beta = betas.get(key)
        scaled = [arrays if beta is None or t_r == t else [a * _rebias(beta, t, t_r) for a in arrays]
                  for arrays, t_r in stepped]
        scaled += [[np.zeros_like(a) for a in stepped[0][0]]] * (len(finals) - len(stepped))
        state[key] = [_mean(layer) for layer in zip(*scaled)]
    state["t"] = t
    return state


def _rebias(beta: float, t: int, t_r: int) -> float:
    """(1 - beta^t) / (1 - beta^t_r): a moment biased after t_r steps, re-biased as after t (0 if t_r = 0)."""
    return (1.0 - beta**t) / (1.0 - beta**t_r) if t_r else 0.0


# ----- the driver ---------------------------------------------------------------------------------
def fit(net: Network, X: Any, y: Any, *, client: Any, mode: str = "full-batch", epochs: int = 10,
        optimizer: Any = "sgd", lr: float | None = None, optimizer_options: dict[str, Any] | None = None,
        sample_weight: Any = None, batch_size: int = 32, local_steps: int = 10, replicas: int | None = None,
        shuffle: bool = True, seed: int | None = None) -> History:
    r"""Train ``net`` in place on Dask data spread over a cluster; return the ``History``.

    Parameters
    ----------
    net : Network
        Without dropout. ``sizes=[n_0, ..., n_L]`` as for ``train``.
    X : Dask array of shape (m, n_0), or a Dask DataFrame of n_0 numeric (or bool) columns
        Partitioned by rows, partitions of any sizes. A DataFrame is cast to ``net.dtype``; its
        rows per partition are counted once (one pass over the data).
    y : Dask array of shape (m,) (class labels) or (m, n_L), a Dask Series/DataFrame, or a str
        A str names the column of the DataFrame X that is y. A Series or DataFrame given apart
        must be partitioned as X is (the same divisions and rows per partition).
    client : distributed.Client
    mode : {"full-batch", "local-sgd"}
    epochs : int
        Full-batch: gradient steps (one per pass over the data). Local SGD: passes over the data.
    optimizer, lr, optimizer_options
        As for ``train`` (name or optimiser object; momentum, weight_decay, schedule, ...). The
        schedule sets eta once per epoch in both modes. An optimiser object goes on from an
        earlier call in both modes, as with ``train``: its schedule from ``optim.next_epoch``,
        and its state. Full-batch steps it in place. Local SGD starts every replica from its
        state (velocity, or Adam's m, v and t); at the end of the call it holds the replicas'
        final states averaged: each state array elementwise over the replicas that had rows (Adam's
        m, v bias-corrected, averaged, re-biased at t), t = its value before the call plus the mean
        number of steps a replica made, rounded up; eta and epoch as after the last epoch. With one
        replica, calls of 1 epoch are one call of all of them, bit for bit (``seed=None``).
    sample_weight : Dask array or Series of shape (m,), optional
    batch_size, shuffle, seed
        Local SGD only: rows per step, a seeded shuffle of each block (as in ``train``). With
        ``seed=None`` each round's shuffle seeds are drawn from ``net.rng``, which goes on from
        call to call; a seed starts the shuffles afresh in each call.
    local_steps : int
        Local SGD only: K, the steps each replica makes between two averages.
    replicas : int, optional
        Local SGD only: R, default the number of workers of ``client``.

    Returns
    -------
    History
        train_cost: full-batch, C on all rows before the epoch's step; local SGD, the mean of
        the replicas' costs over the epoch's rows, each before its batch's update.

    Raises
    ------
    ValueError, TypeError
        For bad options or data (nothing changes), e.g. a non-numeric column (named, with its
        dtype) or DataFrames partitioned differently. ``DivergenceError`` if the cost or a
        gradient stops being finite: ``net`` keeps the last finite weights.
    """
    _check_net(net)
    _check_client(client)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("local_steps", local_steps)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    opt = _optimizer(optimizer, lr, optimizer_options, epochs)  # as train makes it ("cosine": over these epochs)
    opt.config()  # a TypeError for an optimiser that cannot travel as its config
    data = dask_rows(net, X, y, sample_weight)
    history = History()
    if mode == "full-batch":
        _fit_full_batch(net, data, client, opt, epochs, history)
    else:
        n_workers = len(client.scheduler_info()["workers"])
        R = n_workers if replicas is None else replicas
        if isinstance(R, bool) or not isinstance(R, (int, np.integer)) or R < 1:
            raise ValueError(f"replicas must be an integer >= 1, got {replicas!r}")
        _fit_local_sgd(net, data, client, opt, epochs, history, batch_size=int(batch_size),
                       K=int(local_steps), R=int(R), shuffle=bool(shuffle), seed=seed)
    return history


def _fit_full_batch(net: Network, data: tuple[Any, ...], client: Any, opt: Any, epochs: int,
                    history: History) -> None:
    params = net.weights + net.biases
    first = next_epoch(opt)  # an optimiser object that has stepped goes on along its schedule
    for epoch in range(epochs):
        start = time.perf_counter()
        opt.set_epoch(first + epoch)
        sums, cost_sum, total = _full_batch_sums(net, data, client)
        _check_total(total)
        grads = [S / total for S in sums]  # dW^(1..L), then db^(1..L)
        if not (np.isfinite(cost_sum) and all(np.isfinite(g).all() for g in grads)):
            raise DivergenceError(f"epoch {epoch}: the cost or a gradient is not finite; lower the learning rate")
        opt.step(params, grads)  # in place: params are the network's live arrays
        _record(history, cost_sum / total, opt, time.perf_counter() - start)


def _fit_local_sgd(net: Network, data: tuple[Any, ...], client: Any, opt: Any, epochs: int, history: History, *,
                   batch_size: int, K: int, R: int, shuffle: bool, seed: int | None) -> None:
    from dask import delayed

    Xs, ys, ws, rows = data
    blocks = _blocks(rows, R, K * batch_size)
    rng = net.rng if seed is None else np.random.default_rng(seed)  # net.rng goes on from call to call
    first = next_epoch(opt)  # an optimiser object that has stepped goes on along its schedule
    states = [opt.state_dict() for _ in range(R)]  # each replica's own optimiser state, from opt's
    for epoch in range(epochs):
        start = time.perf_counter()
        opt.set_epoch(first + epoch)
        config = {**opt.config(), "lr": opt.eta, "schedule": None}  # this epoch's eta, held constant
        cost_sum = total = 0.0
        for j in range(max(len(b) for b in blocks)):
            active = [r for r in range(R) if j < len(blocks[r])]
            model = client.scatter(to_bytes(net), broadcast=True, hash=False)
            tasks = []
            for r in active:
                p, s, e = blocks[r][j]
                w = None if ws is None else delayed(_slice)(ws[p], s, e)
                cut = [delayed(_slice)(A, s, e) for A in (Xs[p], ys[p])]
                tasks.append(delayed(_local_steps, nout=5)(model, config, {**states[r], "lr": opt.eta}, cut[0],
                                                            cut[1], w, batch_size, shuffle, int(rng.integers(2**63))))
            results = client.compute(tasks, sync=True)
            for r, res in zip(active, results):
                states[r] = res[2]
                cost_sum, total = cost_sum + res[3], total + res[4]
            net.weights, net.biases = _average(results)
        _check_total(total)
        _record(history, cost_sum / total, opt, time.perf_counter() - start)
    opt.load_state_dict(_average_states(opt, [states[r] for r in range(R) if blocks[r]]))


def _record(history: History, cost: float, opt: Any, seconds: float) -> None:
    history.train_cost.append(cost)
    history.train_accuracy.append(None)
    history.val_cost.append(None)
    history.val_accuracy.append(None)
    history.seconds.append(seconds)
    history.lr.append(float(opt.eta))
