"""Local SGD on Dask carries an optimiser object from one ``deltaprop.dask.fit`` call to the next.

The truth is computed in this process: ``train`` on the replicas' rows, in the order the replicas see them, with
optimisers of their own. With one replica, calls epoch by epoch are one call of all the epochs bit for bit (the
schedule goes on, the optimiser state is kept, and with ``seed=None`` the shuffles come from the network's
generator, which goes on too). With two replicas, the optimiser object ends a call holding the mean of the
replicas' final states, and each replica starts the next call from it.
"""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop import Network, train
from deltaprop.optim import make_optimizer

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
deltaprop_dask = pytest.importorskip("deltaprop.dask")

STEP = {"name": "step", "step_size": 1, "gamma": 0.5}  # factor 0.5 ** epoch: a restart shows at once
COSINE = {"name": "cosine", "total_epochs": 4}  # factors 1, 0.854, 0.5, 0.146


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def _classifier(seed: int) -> Network:
    return Network([3, 5, 3], ["tanh", "softmax"], "cross_entropy", seed=seed, dtype="float64")


def _data(seed: int, rows: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, object, object]:
    """Rows (m, 3) and labels 0..2 in NumPy and as Dask arrays partitioned into ``rows``."""
    rng = np.random.default_rng(seed)
    m = sum(rows)
    Xl, yl = rng.normal(size=(m, 3)), rng.integers(0, 3, size=m)
    return Xl, yl, da.from_array(Xl, chunks=(rows, 3)), da.from_array(yl, chunks=(rows,))


def _params(net: Network) -> list[np.ndarray]:
    return net.weights + net.biases


def _assert_same_state(got: dict, want: dict) -> None:
    """Two ``state_dict()``s equal bit for bit (counters, hyperparameters and state arrays)."""
    assert set(got) == set(want), (sorted(got), sorted(want))
    for key, value in want.items():
        if isinstance(value, list):
            assert len(got[key]) == len(value) > 0, key
            for i, (a, b) in enumerate(zip(got[key], value)):
                assert a.shape == b.shape, f"{key}[{i}]"
                np.testing.assert_array_equal(a, b, err_msg=f"{key}[{i}]")
        else:
            assert got[key] == value, key


# ----- one replica: calls epoch by epoch are one call --------------------------------------------------
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("name,schedule", [("momentum", STEP), ("adam", COSINE), ("adam", None)])
def test_local_sgd_calls_epoch_by_epoch_are_one_call(client, name, schedule, shuffle):
    # R = 1: two calls of 1 epoch on one optimiser object equal one call of 2 epochs, bit for bit: the schedule
    # goes on (eta 0.1 then 0.05 or 0.0854, not 0.1 twice), the velocity or Adam's m, v and t are kept, and with
    # seed=None each round's shuffle seed is drawn from net.rng, which goes on from call to call as in one call.
    # Without a schedule (eta 0.1 in both epochs) only the kept state tells the two runs apart.
    _, _, X, y = _data(1, (40, 56))
    once, calls = _classifier(2), _classifier(2)
    options = {"mode": "local-sgd", "replicas": 1, "batch_size": 8, "local_steps": 3, "shuffle": shuffle}
    opt_once, opt_calls = make_optimizer(name, lr=0.1, schedule=schedule), make_optimizer(name, lr=0.1,
                                                                                          schedule=schedule)
    h = deltaprop_dask.fit(once, X, y, client=client, epochs=2, optimizer=opt_once, **options)
    lrs, costs = [], []
    for _ in range(2):
        step = deltaprop_dask.fit(calls, X, y, client=client, epochs=1, optimizer=opt_calls, **options)
        lrs, costs = lrs + step.lr, costs + step.train_cost
    factor = {"step": 0.5, "cosine": 0.5 * (1 + np.cos(np.pi / 4)), None: 1.0}[schedule and schedule["name"]]
    np.testing.assert_allclose(h.lr, [0.1, 0.1 * factor], rtol=1e-15)
    assert lrs == h.lr, f"the schedule restarted in the second call: {lrs}"
    assert costs == h.train_cost
    for l, (got, want) in enumerate(zip(_params(calls), _params(once))):
        np.testing.assert_array_equal(got, want, err_msg=f"parameter {l}")
    assert opt_calls.t == opt_once.t == 2 * 12 and opt_calls.epoch == 1  # 96 rows / 8: 12 steps per epoch
    _assert_same_state(opt_calls.state_dict(), opt_once.state_dict())


@pytest.mark.parametrize("name,schedule", [("momentum", STEP), ("adam", COSINE)])
def test_local_sgd_with_one_replica_called_epoch_by_epoch_is_train(client, name, schedule):
    # the independent truth: train() here on the same rows in the same order (no shuffle), one call of 3 epochs;
    # local SGD with R = 1 in three calls of 1 epoch ends with the same parameters and the same optimiser state
    Xl, yl, X, y = _data(3, (40, 96, 24))  # multiples of 8; blocks of K * 8 = 24 rows cut partition 1 in four
    net, local = _classifier(4), _classifier(4)
    opt, local_opt = make_optimizer(name, lr=0.05, schedule=schedule), make_optimizer(name, lr=0.05,
                                                                                     schedule=schedule)
    want = train(local, Xl, yl, epochs=3, batch_size=8, shuffle=False, optimizer=local_opt)
    got = [deltaprop_dask.fit(net, X, y, client=client, mode="local-sgd", epochs=1, batch_size=8, local_steps=3,
                              replicas=1, shuffle=False, optimizer=opt) for _ in range(3)]
    assert [h.lr[0] for h in got] == want.lr
    np.testing.assert_allclose([h.train_cost[0] for h in got], want.train_cost, rtol=1e-13)
    for l, (a, b) in enumerate(zip(_params(net), _params(local))):
        np.testing.assert_array_equal(a, b, err_msg=f"parameter {l}")
    _assert_same_state(opt.state_dict(), local_opt.state_dict())


# ----- two replicas: the state is averaged at the end of a call, and the next call starts from it -------
def _replica_call(start: list[np.ndarray], opts: list, blocks: list[list[tuple[np.ndarray, np.ndarray]]],
                  net: Network) -> list[np.ndarray]:
    """One call of local SGD (one epoch, no shuffle) computed here: in round j each replica r that has a block
    makes its steps with ``train`` and its own optimiser ``opts[r]`` from the mean parameters; returns the mean."""
    params = [p.copy() for p in start]
    for j in range(max(len(b) for b in blocks)):
        ran = []
        for r, rows in enumerate(blocks):
            if j < len(rows):
                replica = net.copy()
                replica.weights, replica.biases = [p.copy() for p in params[:net.L]], [p.copy()
                                                                                       for p in params[net.L:]]
                train(replica, *rows[j], epochs=1, batch_size=8, shuffle=False, optimizer=opts[r])
                ran.append(_params(replica))
        params = [np.mean(np.stack(layer), axis=0) for layer in zip(*ran)]
    return params


def _blocks(Xl: np.ndarray, yl: np.ndarray) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    # partitions (48, 22), K * batch_size = 24: replica 0 has rows 0:24 then 24:48 (3 + 3 steps), replica 1
    # has rows 48:70 (batches of 8, 8, 6: 3 steps)
    return [[(Xl[0:24], yl[0:24]), (Xl[24:48], yl[24:48])], [(Xl[48:70], yl[48:70])]]


def test_local_sgd_momentum_ends_a_call_with_the_mean_velocity_and_starts_the_next_from_it(client):
    Xl, yl, X, y = _data(5, (48, 22))
    net = _classifier(6)
    start = net.copy()
    opt = make_optimizer("momentum", lr=0.1)
    options = {"mode": "local-sgd", "epochs": 1, "batch_size": 8, "local_steps": 3, "replicas": 2, "shuffle": False}
    deltaprop_dask.fit(net, X, y, client=client, optimizer=opt, **options)

    blocks = _blocks(Xl, yl)
    replicas = [make_optimizer("momentum", lr=0.1) for _ in range(2)]  # each replica's own, fresh
    after = _replica_call(_params(start), replicas, blocks, start)
    assert [o.t for o in replicas] == [6, 3]
    for l, (got, want) in enumerate(zip(_params(net), after)):
        np.testing.assert_array_equal(got, want, err_msg=f"parameter {l}")
    mean = [(a + b) / 2 for a, b in zip(replicas[0].velocity, replicas[1].velocity)]
    assert len(opt.velocity) == 2 * net.L
    for l, (got, want) in enumerate(zip(opt.velocity, mean)):
        assert got.shape == want.shape, f"velocity[{l}]"
        np.testing.assert_array_equal(got, want, err_msg=f"velocity[{l}]")
    assert not np.allclose(opt.velocity[0], replicas[0].velocity[0])  # the mean is not one replica's
    assert opt.t == 5 and opt.epoch == 0 and opt.eta == 0.1  # t: the mean step count, 4.5, rounded up

    # the second call: both replicas start from the mean velocity
    deltaprop_dask.fit(net, X, y, client=client, optimizer=opt, **options)
    replicas = [make_optimizer("momentum", lr=0.1) for _ in range(2)]
    for o in replicas:
        o.load_state_dict({**o.state_dict(), "velocity": mean, "t": 5})
    after = _replica_call(after, replicas, blocks, start)
    for l, (got, want) in enumerate(zip(_params(net), after)):
        np.testing.assert_array_equal(got, want, err_msg=f"second call: parameter {l}")
    mean = [(a + b) / 2 for a, b in zip(replicas[0].velocity, replicas[1].velocity)]
    for l, (got, want) in enumerate(zip(opt.velocity, mean)):
        np.testing.assert_array_equal(got, want, err_msg=f"second call: velocity[{l}]")
    assert opt.t == 5 + 5 and opt.epoch == 1


def test_local_sgd_adam_averages_the_bias_corrected_moments(client):
    # replicas that made 6 and 3 steps: t = ceil(4.5) = 5, and m / (1 - beta1^t) is the mean of the replicas'
    # m_r / (1 - beta1^t_r) (v likewise with beta2), so Adam's next step sees the mean of their corrected moments
    Xl, yl, X, y = _data(7, (48, 22))
    net = _classifier(8)
    start = net.copy()
    opt = make_optimizer("adam", lr=0.01, beta1=0.8, beta2=0.9)
    deltaprop_dask.fit(net, X, y, client=client, optimizer=opt, mode="local-sgd", epochs=1, batch_size=8,
                       local_steps=3, replicas=2, shuffle=False)
    replicas = [make_optimizer("adam", lr=0.01, beta1=0.8, beta2=0.9) for _ in range(2)]
    after = _replica_call(_params(start), replicas, _blocks(Xl, yl), start)
    for l, (got, want) in enumerate(zip(_params(net), after)):
        np.testing.assert_array_equal(got, want, err_msg=f"parameter {l}")
    assert opt.t == 5 and [o.t for o in replicas] == [6, 3]
    for key, beta in (("m", 0.8), ("v", 0.9)):
        corrected = [[a / (1 - beta**o.t) for a in getattr(o, key)] for o in replicas]
        for l, (got, a, b) in enumerate(zip(getattr(opt, key), *corrected)):
            assert got.shape == a.shape, f"{key}[{l}]"
            np.testing.assert_allclose(got / (1 - beta**5), (a + b) / 2, rtol=1e-13, atol=0, err_msg=f"{key}[{l}]")


def test_local_sgd_a_replica_that_made_no_step_counts_a_zero_state(client):
    # replica 1's rows all weigh 0: it makes no step (t_r = 0, no velocity), as its unchanged parameters count in
    # the parameters' mean, its zero velocity counts in the velocity's: v = (v_0 + 0) / 2, t = ceil((6 + 0) / 2)
    Xl, yl, X, y = _data(9, (48, 22))
    wl = np.r_[np.ones(48), np.zeros(22)]
    net = _classifier(10)
    start = net.copy()
    opt = make_optimizer("momentum", lr=0.1)
    deltaprop_dask.fit(net, X, y, client=client, optimizer=opt, mode="local-sgd", epochs=1, batch_size=8,
                       local_steps=3, replicas=2, shuffle=False, sample_weight=da.from_array(wl, chunks=((48, 22),)))
    replicas = [make_optimizer("momentum", lr=0.1)]
    params = _params(start)
    for j, rows in enumerate((slice(0, 24), slice(24, 48))):  # replica 0's two rounds; round 1 meets replica 1's
        replica = start.copy()
        replica.weights, replica.biases = params[:net.L], params[net.L:]
        train(replica, Xl[rows], yl[rows], epochs=1, batch_size=8, shuffle=False, optimizer=replicas[0])
        params = _params(replica) if j else [(a + b) / 2 for a, b in zip(_params(replica), params)]
    for l, (got, want) in enumerate(zip(_params(net), params)):
        np.testing.assert_array_equal(got, want, err_msg=f"parameter {l}")
    assert opt.t == 3 and replicas[0].t == 6
    for l, (got, v) in enumerate(zip(opt.velocity, replicas[0].velocity)):
        np.testing.assert_array_equal(got, v / 2, err_msg=f"velocity[{l}]")
