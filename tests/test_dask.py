"""Scale-out on a real Dask cluster: GridSearchCV through joblib's dask backend, and ``deltaprop.dask``.

A LocalCluster runs a scheduler and two worker processes on 127.0.0.1, which is exactly what a
remote cluster looks like to the client (``Client("tcp://scheduler:8786")``). Each fit is seeded,
so the distributed search must reproduce the serial one score for score. ``deltaprop.dask`` is
checked against ``net.gradients`` and ``train`` run here on the concatenated rows.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop import Network, train
from deltaprop.sklearn import DeltapropClassifier

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")
da = pytest.importorskip("dask.array")
deltaprop_dask = pytest.importorskip("deltaprop.dask")


def _search() -> GridSearchCV:
    pipe = Pipeline([("scale", StandardScaler()), ("net", DeltapropClassifier(epochs=10, random_state=0))])
    grid = {"net__hidden_layer_sizes": [(4,), (16,)], "net__learning_rate": [1e-3, 1e-2],
            "net__activation": ["relu", "tanh"]}
    return GridSearchCV(pipe, grid, cv=3, n_jobs=-1)


def test_grid_search_on_a_dask_cluster_equals_the_serial_search():
    X, y = load_iris(return_X_y=True)
    serial = _search().set_params(n_jobs=1).fit(X, y)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with joblib.parallel_backend("dask"):
            spread = _search().fit(X, y)
        # the work really ran on the cluster: the workers hold task records
        ran = client.run(lambda dask_worker: len(dask_worker.state.log))
        assert len(ran) == 2 and all(n > 0 for n in ran.values())

    n_candidates = 8
    for key in ("mean_test_score", "std_test_score", "split0_test_score", "split2_test_score"):
        assert spread.cv_results_[key].shape == serial.cv_results_[key].shape == (n_candidates,)
        np.testing.assert_allclose(spread.cv_results_[key], serial.cv_results_[key], rtol=0, atol=1e-12,
                                   err_msg=key)
    assert spread.cv_results_["params"] == serial.cv_results_["params"]
    assert spread.best_params_ == serial.best_params_
    np.testing.assert_array_equal(spread.predict(X), serial.predict(X))


# ----- deltaprop.dask: data-parallel training ---------------------------------------------------------

MEMORY_LIMIT = 200e6  # bytes per worker, less than the data of the full-batch test


def _cluster(memory_limit: float):
    """A client of two single-threaded worker processes on 127.0.0.1 with ``memory_limit`` bytes each."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, memory_limit=memory_limit) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def client():
    yield from _cluster(MEMORY_LIMIT)


def _uneven(m: int, parts: int, seed: int) -> tuple[int, ...]:
    """``parts`` partition sizes summing to m, each different (between m/(2 parts) and 3m/(2 parts))."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(m // (2 * parts), 3 * m // (2 * parts), size=parts - 1)
    return (*sizes.tolist(), m - int(sizes.sum()))


def _classifier(n_0: int, seed: int = 0, hidden: int = 8) -> Network:
    return Network([n_0, hidden, 3], ["tanh", "softmax"], "cross_entropy", seed=seed, dtype="float64")


def test_full_batch_gradients_equal_net_gradients_on_workers_with_less_memory_than_the_data(client):
    m, n_0 = 300_000, 100  # X alone is 240 MB of float64
    rows = _uneven(m, 30, seed=1)  # about 8 MB each
    X = da.random.default_rng(0).standard_normal((m, n_0), chunks=(rows, n_0))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5).astype(np.int64)  # labels 0, 1, 2
    w = da.random.default_rng(1).uniform(0, 2, size=m, chunks=rows)
    workers = client.scheduler_info()["workers"]
    limits = [info["memory_limit"] for info in workers.values()]
    assert len(limits) == 2 and X.nbytes > max(limits) == MEMORY_LIMIT  # no worker could hold X
    assert len(set(X.chunks[0])) == 30  # uneven partitions
    net = _classifier(n_0)

    # the truth, on the concatenated rows, in this process (through the cluster, X would not fit a worker)
    Xl, yl, wl = X.compute(scheduler="sync"), y.compute(scheduler="sync"), w.compute(scheduler="sync")
    for weights, local in ((None, None), (w, wl)):
        dW, db = deltaprop_dask.gradients(net, X, y, client=client, sample_weight=weights)
        want_W, want_b = net.gradients(Xl, yl, sample_weight=local)
        for l in range(1, net.L + 1):
            for got, want, name in ((dW[l - 1], want_W[l - 1], f"dW[{l}]"), (db[l - 1], want_b[l - 1], f"db[{l}]")):
                assert got.shape == want.shape, name
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max(), err_msg=name)
    # no worker went over its limit: none was restarted (a new one would have a new address), and each is below it now
    assert set(client.scheduler_info()["workers"]) == set(workers)
    rss = client.run(lambda dask_worker: dask_worker.monitor.get_process_memory())
    assert len(rss) == 2 and all(r < MEMORY_LIMIT for r in rss.values()), rss


@pytest.mark.parametrize("schedule", [{"name": "step", "step_size": 2}, "cosine"])  # "cosine": over the epochs
def test_full_batch_fit_is_full_batch_train(client, schedule):
    rng = np.random.default_rng(2)
    Xl = rng.normal(size=(230, 4))
    yl = rng.integers(0, 3, size=230)
    X, y = da.from_array(Xl, chunks=((100, 7, 123), 4)), da.from_array(yl, chunks=((100, 7, 123),))
    net, local = _classifier(4, seed=3), _classifier(4, seed=3)
    options = {"optimizer": "adam", "lr": 0.05, "optimizer_options": {"schedule": schedule}}
    history = deltaprop_dask.fit(net, X, y, client=client, mode="full-batch", epochs=4, **options)
    want = train(local, Xl, yl, epochs=4, batch_size=230, shuffle=False, **options)
    np.testing.assert_allclose(history.lr, want.lr, rtol=0, atol=0)  # the schedule: eta per epoch
    np.testing.assert_allclose(history.train_cost, want.train_cost, rtol=1e-12)
    for l, (got, w) in enumerate(zip(net.weights + net.biases, local.weights + local.biases)):
        np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-13, err_msg=f"parameter {l}")


def test_full_batch_fit_calls_on_one_optimizer_continue_its_schedule(client):
    # two calls of 2 epochs with one optimiser object are one call of 4: etas 0.1, 0.1, 0.05, 0.05
    from deltaprop.optim import make_optimizer

    rng = np.random.default_rng(17)
    Xl, yl = rng.normal(size=(96, 3)), rng.integers(0, 3, size=96)
    X, y = da.from_array(Xl, chunks=((40, 56), 3)), da.from_array(yl, chunks=((40, 56),))
    once, twice = _classifier(3, seed=18), _classifier(3, seed=18)
    options = {"mode": "full-batch"}
    step = {"name": "step", "step_size": 2, "gamma": 0.5}
    h = deltaprop_dask.fit(once, X, y, client=client, epochs=4, optimizer=make_optimizer("momentum", lr=0.1,
                                                                                          schedule=step), **options)
    opt = make_optimizer("momentum", lr=0.1, schedule=step)
    lrs = [eta for _ in range(2)
           for eta in deltaprop_dask.fit(twice, X, y, client=client, epochs=2, optimizer=opt, **options).lr]
    assert h.lr == [0.1, 0.1, 0.05, 0.05] and lrs == h.lr, lrs
    for l, (got, w) in enumerate(zip(twice.weights + twice.biases, once.weights + once.biases)):
        np.testing.assert_array_equal(got, w, err_msg=f"parameter {l}")


def test_local_sgd_with_one_replica_is_plain_sgd_bit_for_bit(client):
    rng = np.random.default_rng(4)
    Xl, yl = rng.normal(size=(160, 3)), rng.integers(0, 3, size=160)
    rows = (40, 96, 24)  # multiples of the batch size 8; blocks of K * 8 = 24 rows cut partition 2 in four
    X, y = da.from_array(Xl, chunks=(rows, 3)), da.from_array(yl, chunks=(rows,))
    net, local = _classifier(3, seed=5), _classifier(3, seed=5)
    options = {"optimizer": "momentum", "lr": 0.05}  # the momentum state must carry over between rounds
    history = deltaprop_dask.fit(net, X, y, client=client, mode="local-sgd", epochs=2, batch_size=8, local_steps=3,
                                 replicas=1, shuffle=False, **options)
    want = train(local, Xl, yl, epochs=2, batch_size=8, shuffle=False, **options)
    for l, (got, w) in enumerate(zip(net.weights + net.biases, local.weights + local.biases)):
        np.testing.assert_array_equal(got, w, err_msg=f"parameter {l}")
    np.testing.assert_allclose(history.train_cost, want.train_cost, rtol=1e-13)


def test_local_sgd_with_two_replicas_averages_their_independent_results(client):
    rng = np.random.default_rng(6)
    Xl, yl = rng.normal(size=(70, 3)), rng.integers(0, 3, size=70)
    rows = (48, 22)  # replica 0 gets partition 0 (blocks of 24: two rounds), replica 1 partition 1 (one round)
    X, y = da.from_array(Xl, chunks=(rows, 3)), da.from_array(yl, chunks=(rows,))
    start = _classifier(3, seed=7)
    net = start.copy()
    deltaprop_dask.fit(net, X, y, client=client, mode="local-sgd", epochs=1, batch_size=8, local_steps=3,
                       optimizer="sgd", lr=0.1, shuffle=False)

    def steps(params, rows_):  # the same K steps, computed here on their own
        replica = start.copy()
        replica.weights, replica.biases = params
        train(replica, Xl[rows_], yl[rows_], epochs=1, batch_size=8, shuffle=False, optimizer="sgd", lr=0.1)
        return replica.weights, replica.biases

    a = steps((start.weights, start.biases), slice(0, 24))  # round 1, replica 0
    b = steps((start.weights, start.biases), slice(48, 70))  # round 1, replica 1
    mean = ([(x + y_) / 2 for x, y_ in zip(a[0], b[0])], [(x + y_) / 2 for x, y_ in zip(a[1], b[1])])
    final = steps(mean, slice(24, 48))  # round 2: only replica 0 has rows left; a mean of one is itself
    for l, (got, w) in enumerate(zip(net.weights + net.biases, final[0] + final[1])):
        np.testing.assert_array_equal(got, w, err_msg=f"parameter {l}")
    assert not np.array_equal(net.weights[0], a[0][0])  # the average changed something


def test_bad_calls_change_nothing(client):
    X = da.from_array(np.ones((10, 3)), chunks=5)
    y = da.from_array(np.zeros(10, dtype=int), chunks=5)
    net = _classifier(3)
    before = [W.copy() for W in net.weights]
    with pytest.raises(ValueError, match="mode must be one of full-batch, local-sgd, got 'sync'"):
        deltaprop_dask.fit(net, X, y, client=client, mode="sync")
    with pytest.raises(TypeError, match="client must be a distributed.Client, got str"):
        deltaprop_dask.fit(net, X, y, client="tcp://127.0.0.1:8786")
    with pytest.raises(TypeError, match="X must be a Dask array or Dask DataFrame, got ndarray"):
        deltaprop_dask.fit(net, np.ones((10, 3)), y, client=client)
    with pytest.raises(ValueError, match=re.escape("y must have m = 10 rows (shape (m,) or (m, n_L)), got shape (9,)")):
        deltaprop_dask.fit(net, X, y[:9], client=client)
    with pytest.raises(ValueError, match="local_steps must be an integer >= 1, got 0"):
        deltaprop_dask.fit(net, X, y, client=client, mode="local-sgd", local_steps=0)
    with pytest.raises(ValueError, match="does not apply dropout"):
        deltaprop_dask.fit(Network([3, 4, 3], ["relu", "softmax"], "cross_entropy", dropout=[0.5]), X, y,
                           client=client)
    with pytest.raises(ValueError, match=re.escape("X has 3 columns; this network expects (m, n_0) with n_0 = 4")):
        deltaprop_dask.fit(_classifier(4), X, y, client=client)
    for W0, W1 in zip(before, net.weights):
        np.testing.assert_array_equal(W0, W1)


def test_the_guides_example_runs(client):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "ecosystem.md").read_text()
    block = re.search(r"runs this block against its cluster\):\n```python\n(.+?)\n```", text, re.S).group(1)
    assert "client = Client()" in block
    namespace: dict = {}
    exec(compile(block.replace("Client()", f"Client({client.scheduler.address!r})"), "ecosystem.md", "exec"), namespace)
    assert namespace["clf"].t_ == 150 and len(namespace["history"].train_cost) == 5
    assert namespace["history"].train_cost[-1] < namespace["history"].train_cost[0]
    namespace["client"].close()


def test_the_same_network_sent_again_is_not_lost(client):
    # The model's bytes are scattered under a fresh key each time: under a key hashed from the bytes,
    # the previous call's release could make the scheduler forget the data the next call needs.
    rng = np.random.default_rng(8)
    Xl, yl = rng.normal(size=(400, 3)), rng.integers(0, 3, size=400)
    X, y = da.from_array(Xl, chunks=100), da.from_array(yl, chunks=100)
    net = _classifier(3)
    want = net.gradients(Xl, yl)[0][0]
    for _ in range(20):
        np.testing.assert_allclose(deltaprop_dask.gradients(net, X, y, client=client)[0][0], want, rtol=1e-12)


# ----- Dask DataFrames: columns by name, checked dtypes, partitions that must match -----------------

dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
# A worker that has run a DataFrame task holds pandas, pyarrow and dask.dataframe: about 180 MB before any data,
# which would pause it (at 80 % of its limit) under the 200 MB of the array tests. These workers get 400 MB.
FRAME_MEMORY_LIMIT = 400e6


@pytest.fixture(scope="module")
def frame_client():
    yield from _cluster(FRAME_MEMORY_LIMIT)


def _frame(m: int, seed: int) -> pd.DataFrame:
    """Float, int and bool features, an integer label in 0..2 and a positive weight, in a pandas DataFrame."""
    rng = np.random.default_rng(seed)
    x0, x1 = rng.normal(size=m), rng.normal(size=m)
    return pd.DataFrame({"x0": x0, "x1": x1, "count": rng.integers(0, 5, size=m), "flag": rng.random(m) < 0.3,
                         "label": (x0 > 0).astype(np.int64) + (x1 > 0.5).astype(np.int64),
                         "weight": rng.uniform(0, 2, size=m)})


def _uneven_frame(pdf: pd.DataFrame, divisions: list[int]) -> dd.DataFrame:
    return dd.from_pandas(pdf, npartitions=1).repartition(divisions=divisions)


def test_dataframe_full_batch_gradients_equal_net_gradients_with_uneven_partitions(frame_client):
    m = 5000
    pdf = _frame(m, seed=9)
    df = _uneven_frame(pdf, [0, 1200, 1213, 3900, m - 1])
    features = ["x0", "x1", "count", "flag"]
    assert df.npartitions == 4 and df.map_partitions(len).compute().tolist() == [1200, 13, 2687, 1100]
    net = _classifier(len(features), seed=10)
    Xl = pdf[features].to_numpy(dtype=np.float64)  # (m, 4): bool -> 0/1, int -> float
    yl, wl = pdf["label"].to_numpy(), pdf["weight"].to_numpy()
    calls = {  # the same data given three ways: y by name, y as the frame's column, and weighted
        "y by name": ((df[features + ["label"]], "label"), {}, None),
        "y a Series": ((df[features], df["label"]), {}, None),
        "weighted": ((df[features + ["label"]], "label"), {"sample_weight": df["weight"]}, wl),
    }
    for what, (args, kwargs, local_w) in calls.items():
        dW, db = deltaprop_dask.gradients(net, *args, client=frame_client, **kwargs)
        want_W, want_b = net.gradients(Xl, yl, sample_weight=local_w)
        for l in range(1, net.L + 1):
            for got, want, name in ((dW[l - 1], want_W[l - 1], f"{what}: dW[{l}]"),
                                    (db[l - 1], want_b[l - 1], f"{what}: db[{l}]")):
                assert got.shape == want.shape, name
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max(), err_msg=name)


def test_dataframe_larger_than_a_worker_gives_net_gradients_by_a_column_name(frame_client):
    n_0, rows = 90, _uneven(600_000, 20, seed=15)  # 432 MB of float64 features, 20 partitions of 11-32 MB

    def partition(spec: tuple[int, int]) -> pd.DataFrame:  # made where it is used: nothing is sent but the seed
        seed, m_p = spec
        X = np.random.default_rng(seed).standard_normal((m_p, n_0))
        part = pd.DataFrame(X, columns=[f"x{j}" for j in range(n_0)])
        part["label"] = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5).astype(np.int64)
        return part

    specs = list(enumerate(rows))
    df = dd.from_map(partition, specs)
    workers = frame_client.scheduler_info()["workers"]
    assert all(info["memory_limit"] == FRAME_MEMORY_LIMIT for info in workers.values())
    assert 600_000 * n_0 * 8 > FRAME_MEMORY_LIMIT and len(set(rows)) == 20  # no worker could hold X; uneven
    net = _classifier(n_0, seed=16)
    dW, db = deltaprop_dask.gradients(net, df, "label", client=frame_client)
    local = pd.concat([partition(spec) for spec in specs], ignore_index=True)  # the truth, in this process
    want_W, want_b = net.gradients(local.drop(columns="label").to_numpy(), local["label"].to_numpy())
    for l in range(1, net.L + 1):
        for got, want, name in ((dW[l - 1], want_W[l - 1], f"dW[{l}]"), (db[l - 1], want_b[l - 1], f"db[{l}]")):
            assert got.shape == want.shape, name
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max(), err_msg=name)
    assert set(frame_client.scheduler_info()["workers"]) == set(workers)  # none restarted for memory
    rss = frame_client.run(lambda dask_worker: dask_worker.monitor.get_process_memory())
    assert len(rss) == 2 and all(r < FRAME_MEMORY_LIMIT for r in rss.values()), rss


def test_dataframe_fit_is_full_batch_train(frame_client):
    pdf = _frame(300, seed=11)
    df = _uneven_frame(pdf[["x0", "x1", "count", "label"]], [0, 100, 107, 299])
    net, local = _classifier(3, seed=12), _classifier(3, seed=12)
    history = deltaprop_dask.fit(net, df, "label", client=frame_client, epochs=3, optimizer="adam", lr=0.05)
    want = train(local, pdf[["x0", "x1", "count"]].to_numpy(dtype=np.float64), pdf["label"].to_numpy(), epochs=3,
                 batch_size=300, shuffle=False, optimizer="adam", lr=0.05)
    np.testing.assert_allclose(history.train_cost, want.train_cost, rtol=1e-12)
    for l, (got, w) in enumerate(zip(net.weights + net.biases, local.weights + local.biases)):
        np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-13, err_msg=f"parameter {l}")


def test_dataframe_bad_input_is_named_and_changes_nothing(frame_client):
    pdf = _frame(40, seed=13)
    pdf["city"] = pd.Series(["Leeds", "York"] * 20, dtype="string")
    df = _uneven_frame(pdf, [0, 10, 25, 39])
    net = _classifier(4)
    before = [p.copy() for p in net.weights + net.biases]
    features = ["x0", "x1", "count", "flag"]
    with pytest.raises(TypeError, match=re.escape("X column 'city' has dtype string; deltaprop.dask takes numeric")):
        deltaprop_dask.fit(net, df[["x0", "x1", "city", "count", "label"]], "label", client=frame_client)
    with pytest.raises(TypeError, match=re.escape("y column 'city' has dtype string")):
        deltaprop_dask.fit(net, df[features], df["city"], client=frame_client)
    with pytest.raises(ValueError, match=re.escape("y names the column 'target', which X does not have; its columns "
                                                   "are 'x0', 'x1', 'count', 'flag'")):
        deltaprop_dask.fit(net, df[features], "target", client=frame_client)
    with pytest.raises(ValueError, match=re.escape("X has 5 columns; this network expects (m, n_0) with n_0 = 4")):
        deltaprop_dask.fit(net, df[features + ["weight"]], df["label"], client=frame_client)
    with pytest.raises(TypeError, match="y = 'label' names a column, so X must be a Dask DataFrame, got Array"):
        deltaprop_dask.fit(net, da.from_array(np.ones((40, 4)), chunks=10), "label", client=frame_client)
    # y with other rows per partition; y with the same rows per partition but another index (other divisions)
    other_rows = dd.from_pandas(pdf["label"], npartitions=2)
    other_index = _uneven_frame(pdf[["label"]].set_axis(pdf.index + 100), [100, 110, 125, 139])["label"]
    for y, other in ((other_rows, "(20, 20) and (0, 20, 39)"), (other_index, "(10, 15, 15) and (100, 110, 125, 139)")):
        with pytest.raises(ValueError, match=re.escape(f"X and y are partitioned differently: X has rows per partition "
                                                       f"(10, 15, 15) and divisions (0, 10, 25, 39), y has {other}; ")):
            deltaprop_dask.fit(net, df[features], y, client=frame_client)
    with pytest.raises(ValueError, match="X and sample_weight are partitioned differently"):
        deltaprop_dask.fit(net, df[features], df["label"], client=frame_client,
                           sample_weight=other_rows.astype(float))
    for p0, p1 in zip(before, net.weights + net.biases):
        np.testing.assert_array_equal(p0, p1)


def test_the_guides_dataframe_example_runs(frame_client):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "ecosystem.md").read_text()
    block = re.search(r"runs this block against its cluster:\n```python\n(.+?)\n```", text, re.S).group(1)
    assert "client = Client()" in block and 'fit(net, df, "target"' in block
    namespace: dict = {}
    exec(compile(block.replace("Client()", f"Client({frame_client.scheduler.address!r})"), "ecosystem.md", "exec"),
         namespace)
    history, net = namespace["history"], namespace["net"]
    assert len(history.train_cost) == 30 and history.train_cost[-1] < 0.1 < history.train_cost[0]
    table = namespace["table"]  # the standardised pandas table: the network learnt it
    accuracy = np.mean(np.argmax(net.forward(table.iloc[:, :13].to_numpy()), axis=1) == table["target"].to_numpy())
    assert accuracy > 0.95, accuracy
    namespace["client"].close()
