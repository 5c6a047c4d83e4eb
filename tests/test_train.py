"""train() against hand computation and plain loops; reproducibility, resuming, divergence, bad input."""

import re
import tracemalloc

import numpy as np
import pytest

from deltaprop import DivergenceError, Network, train
from deltaprop.engine import support
from deltaprop.optim import make_optimizer

KERNELS = ["reference", "numpy"] + (["compiled"] if support.available() else [])


def sparse_data(seed=0, m=60, n_0=10, K=3):
    """Rows with about 70 % exact zeros (like images) and integer labels 0..K-1."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, n_0))
    X[rng.random(X.shape) < 0.7] = 0.0
    return X, rng.integers(0, K, m)


def params(net):
    return [p.copy() for p in net.weights + net.biases]


def assert_same(got, want, rtol=0.0, atol=0.0, what="parameters"):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"{what}[{i}]: shape {g.shape} != {w.shape}"
        if rtol == atol == 0.0:
            assert np.array_equal(g, w), f"{what}[{i}] differs"
        else:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{what}[{i}]")


# ----- reproducibility ------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size,optimizer", [(8, "momentum"), (1, "sgd"), (60, "adam")])
def test_same_seed_same_weights_bit_for_bit_and_other_seeds_differ(batch_size, optimizer):
    X, y = sparse_data()
    runs = {}
    for seed in (1, 1, 2):
        net = Network([10, 6, 3], ["relu", "softmax"], "cross_entropy", seed=0)
        train(net, X, y, epochs=3, batch_size=batch_size, optimizer=optimizer, seed=seed)
        runs.setdefault(seed, []).append(params(net))
    assert_same(runs[1][0], runs[1][1])
    if batch_size < 60:  # a single full batch does not depend on the shuffle
        assert not all(np.array_equal(a, b) for a, b in zip(runs[1][0], runs[2][0]))


# ----- the update rule --------------------------------------------------------------------------------
def hand_step(W1, b1, W2, b2, x, y, eta):
    """Seed 002's per-sample rule for a sigmoid hidden layer, identity output and quadratic cost."""
    z1 = x @ W1 + b1
    a1 = 1 / (1 + np.exp(-z1))
    a2 = a1 @ W2 + b2  # identity output
    d2 = a2 - y  # dc/dz2 for c = |a2 - y|^2 / 2
    d1 = (d2 @ W2.T) * a1 * (1 - a1)
    return W1 - eta * np.outer(x, d1), b1 - eta * d1, W2 - eta * np.outer(a1, d2), b2 - eta * d2


@pytest.mark.parametrize("kernel", KERNELS)
def test_batch_size_1_takes_two_steps_of_seed_002s_rule(kernel):
    net = Network([2, 2, 1], ["sigmoid", "identity"], "quadratic", dtype="float64")
    W1, b1 = np.array([[1.0, -1.0], [0.0, 2.0]]), np.array([0.1, -0.2])
    W2, b2 = np.array([[1.0], [-1.0]]), np.array([0.5])
    net.weights, net.biases = [W1, W2], [b1, b2]
    X, Y = np.array([[0.0, 0.0], [0.5, -1.0]]), np.array([[1.0], [0.0]])
    # Step 1 on x = (0, 0): z1 = b1, so only b1, W2 and b2 move; step 2 on x = (0.5, -1) from there.
    W1, b1, W2, b2 = hand_step(W1, b1, W2, b2, X[0], Y[0], 0.1)
    assert np.array_equal(W1, net.weights[0])  # x = 0 leaves W1 as it was
    W1, b1, W2, b2 = hand_step(W1, b1, W2, b2, X[1], Y[1], 0.1)
    train(net, X, Y, epochs=1, batch_size=1, optimizer="sgd", lr=0.1, shuffle=False, kernel=kernel)
    assert_same(params(net), [W1, W2, b1, b2], rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_batch_of_all_rows_is_full_batch_gradient_descent(kernel):
    X, y = sparse_data(1, m=30)
    net = Network([10, 5, 3], ["tanh", "softmax"], "cross_entropy", dtype="float64", seed=3)
    manual, first_cost = net.copy(), net.cost(X, y)
    for _ in range(4):
        dW, db = manual.gradients(X, y)
        for p, g in zip(manual.weights + manual.biases, dW + db):
            p -= 0.5 * g
    history = train(net, X, y, epochs=4, batch_size=100, optimizer="sgd", lr=0.5, seed=0, kernel=kernel)
    assert_same(params(net), params(manual), rtol=1e-12, atol=1e-14)
    assert history.train_cost[0] == pytest.approx(first_cost, rel=1e-12)  # the cost before epoch 1's step


@pytest.mark.parametrize("batch_size,optimizer", [(7, "momentum"), (7, "nesterov"), (7, "adam"), (1, "sgd")])
def test_fast_kernels_give_the_reference_weights_after_three_epochs(batch_size, optimizer):
    X, y = sparse_data(2, m=50)
    w = np.random.default_rng(3).random(50) + 0.5
    for weights in (None, w):
        results = {}
        for kernel in KERNELS:
            net = Network([10, 8, 6, 3], ["relu", "tanh", "softmax"], "cross_entropy", dtype="float64", seed=4)
            h = train(net, X, y, epochs=3, batch_size=batch_size, optimizer=optimizer, lr=0.05, seed=5,
                      sample_weight=weights, kernel=kernel)
            results[kernel] = (params(net), h.train_cost)
        for kernel in KERNELS[1:]:
            assert_same(results[kernel][0], results["reference"][0], rtol=1e-9, atol=1e-12, what=kernel)
            np.testing.assert_allclose(results[kernel][1], results["reference"][1], rtol=1e-9)


def test_the_chosen_kernel_is_reported_to_callbacks():
    X, y = sparse_data()
    seen = set()
    net = Network([10, 4, 3], ["relu", "softmax"], "cross_entropy", seed=0)
    train(net, X, y, epochs=1, batch_size=4, callbacks=[lambda e: seen.add(e.trainer.kernel)])
    assert seen == {"compiled" if support.available() else "numpy"}
    seen.clear()
    train(net, X, y, epochs=1, batch_size=1, callbacks=[lambda e: seen.add(e.trainer.kernel)])
    assert seen == {"compiled per-sample loop" if support.available() else "numpy"}


# ----- early stopping, resuming, callbacks ----------------------------------------------------------
def test_early_stopping_restores_the_weights_of_the_best_epoch():
    X, y = sparse_data(4, m=80)
    val = (X[:20], (y[:20] + 1) % 3)  # labels the training data contradicts: val cost rises
    recorded = []

    def record(event):
        if event.kind == "epoch":
            recorded.append((event.history.val_cost[-1], params(event.trainer.net)))

    net = Network([10, 16, 3], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=6)
    h = train(net, X, y, epochs=50, batch_size=8, optimizer="momentum", lr=0.1, validation=val,
              early_stopping=3, seed=7, callbacks=[record])
    best = int(np.argmin([c for c, _ in recorded]))
    assert h.stopped_early and h.best_epoch == best and h.epochs == best + 4
    assert_same(params(net), recorded[best][1])


@pytest.mark.parametrize("batch_size,optimizer,dropout", [
    (8, "momentum", None), (8, "adam", None), (1, "sgd", None), (8, "sgd", [0.3]),
])
def test_resume_from_a_mid_epoch_state_is_bit_identical(batch_size, optimizer, dropout):
    X, y = sparse_data(5, m=44)
    options = {"epochs": 3, "batch_size": batch_size, "optimizer": optimizer, "lr": 0.05, "seed": 8}
    full = Network([10, 6, 3], ["relu", "softmax"], "cross_entropy", seed=9, dropout=dropout)
    first = full.copy()
    h_full = train(full, X, y, **options)
    saved = {}

    def stop_mid_epoch(event):
        if event.kind == "batch" and (event.epoch, event.batch) == (1, 3):
            saved["state"], saved["params"] = event.trainer.state(), params(event.trainer.net)
            event.trainer.stop = True

    train(first, X, y, callbacks=[stop_mid_epoch], **options)
    again = Network([10, 6, 3], ["relu", "softmax"], "cross_entropy", dropout=dropout)
    again.weights, again.biases = saved["params"][:2], saved["params"][2:]
    h = train(again, X, y, resume=saved["state"], **options)
    assert_same(params(again), params(full))
    assert h.train_cost == h_full.train_cost


def test_callbacks_see_every_batch_and_every_epoch():
    X, y = sparse_data(m=10)
    for batch_size in (1, 3):
        events: list = []
        net = Network([10, 4, 3], ["relu", "softmax"], "cross_entropy", seed=0)
        train(net, X, y, epochs=2, batch_size=batch_size, callbacks=[lambda e, seen=events: seen.append((e.kind, e.batch))])
        per_epoch = -(-10 // batch_size)
        assert [k for k, _ in events].count("batch") == 2 * per_epoch
        assert [b for k, b in events if k == "epoch"] == [per_epoch, per_epoch]


class Every:
    """A callback that records (epoch, batch) of its batch events and asks for every k-th batch only."""

    def __init__(self, k):
        self.batch_every, self.seen = k, []

    def __call__(self, event):
        if event.kind == "batch":
            self.seen.append((event.epoch, event.batch))


@pytest.mark.parametrize("batch_size", [1, 3])  # 1: the compiled per-sample loop (plain SGD)
def test_a_callback_with_batch_every_sees_the_first_batch_and_every_kth_and_changes_no_step(batch_size):
    X, y = sparse_data(m=10)
    per_epoch = -(-10 // batch_size)
    nets = [Network([10, 4, 3], ["relu", "softmax"], "cross_entropy", seed=0) for _ in range(2)]
    every4, never = Every(4), Every(0)
    train(nets[0], X, y, epochs=3, batch_size=batch_size, seed=1, callbacks=[every4, never])
    train(nets[1], X, y, epochs=3, batch_size=batch_size, seed=1)
    counts = [1] + [c for c in range(1, 3 * per_epoch + 1) if c % 4 == 0]  # batches counted across epochs
    assert every4.seen == [((c - 1) // per_epoch, (c - 1) % per_epoch + 1) for c in counts]
    assert never.seen == [(0, 1)]  # the first batch only: it shows the callback the Trainer
    assert_same(params(nets[0]), params(nets[1]))


def test_a_callback_with_batch_seconds_is_called_by_the_clock():
    X, y = sparse_data(m=10)
    clocked = Every(1)
    clocked.batch_seconds = 3600.0
    train(Network([10, 4, 3], ["relu", "softmax"], "cross_entropy", seed=0), X, y, epochs=2, batch_size=1,
          seed=1, callbacks=[clocked])
    assert clocked.seen == [(0, 1)]  # the first batch; the next is due in an hour


@pytest.mark.parametrize("attribute, value", [("batch_every", -1), ("batch_every", 1.5), ("batch_seconds", -1.0),
                                              ("batch_seconds", float("nan")), ("batch_seconds", "1")])
def test_a_bad_callback_schedule_is_refused(attribute, value):
    X, y = sparse_data(m=10)
    cb = Every(1)
    setattr(cb, attribute, value)
    net = Network([10, 4, 3], ["relu", "softmax"], "cross_entropy", seed=0)
    before = params(net)
    with pytest.raises(ValueError, match=f"a callback's {attribute} must be"):
        train(net, X, y, epochs=1, callbacks=[cb])
    assert_same(params(net), before)


# ----- divergence --------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [4, 1])
def test_divergence_stops_with_finite_weights_naming_epoch_and_batch(batch_size):
    rng = np.random.default_rng(10)
    X, Y = rng.standard_normal((16, 3)), 100 * rng.standard_normal((16, 2))
    net = Network([3, 8, 2], ["relu", "identity"], "quadratic", dtype="float64", seed=11)
    with pytest.raises(DivergenceError, match=r"training diverged at epoch \d+, batch \d+: .*learning rate 1e\+08"):
        train(net, X, Y, epochs=5, batch_size=batch_size, optimizer="sgd", lr=1e8)
    assert all(np.isfinite(p).all() for p in net.weights + net.biases)


@pytest.mark.parametrize("batch_size", [4, 1])
def test_halve_lr_goes_on_and_finishes(batch_size):
    rng = np.random.default_rng(12)
    X, Y = rng.standard_normal((16, 3)), 100 * rng.standard_normal((16, 2))
    net = Network([3, 8, 2], ["relu", "identity"], "quadratic", dtype="float64", seed=13)
    h = train(net, X, Y, epochs=3, batch_size=batch_size, optimizer="sgd", lr=1e8, on_divergence="halve-lr")
    assert h.epochs == 3 and any("learning rate halved" in e for e in h.events)
    assert all(np.isfinite(p).all() for p in net.weights + net.biases)
    assert np.isfinite(h.train_cost).all()


# ----- bad arguments ----------------------------------------------------------------------------------
@pytest.mark.parametrize("options,error,message", [
    ({"epochs": 0}, ValueError, "epochs must be >= 1, got 0"),
    ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
    ({"batch_size": 2.0}, TypeError, "batch_size must be an integer, got 2.0"),
    ({"optimizer": "rmsprop"}, ValueError, "unknown optimizer 'rmsprop'; known: sgd, momentum, nesterov, adam"),
    ({"validation": np.zeros((2, 10))}, TypeError, "validation must be a pair (X_val, Y_val), got ndarray"),
    ({"early_stopping": 3}, ValueError, "early_stopping needs validation data: pass validation=(X_val, Y_val)"),
    ({"on_divergence": "ignore"}, ValueError, "on_divergence must be 'stop' or 'halve-lr', got 'ignore'"),
    ({"kernel": "gpu"}, ValueError, "kernel must be one of auto, reference, numpy, compiled, got 'gpu'"),
    ({"optimizer_options": {"momentum": 0.9}, "optimizer": "adam"}, TypeError, "optimizer 'adam' has no option momentum"),
    ({"optimizer": make_optimizer("sgd"), "lr": 0.1}, TypeError, "lr and optimizer_options apply to an optimizer given by name"),
    ({"resume": {"epoch": 0}}, ValueError, "resume is missing acc, batch, history, optimizer, perm, rng"),
    ({"callbacks": [1]}, TypeError, "callbacks must be a list of callables"),
    ({"lr": 10**400}, ValueError, "lr is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),
])
def test_bad_arguments_raise_and_change_nothing(options, error, message):
    X, y = sparse_data()
    net = Network([10, 4, 3], ["relu", "softmax"], "cross_entropy", seed=0)
    before, rng_state = params(net), net.rng.bit_generator.state
    with pytest.raises(error, match=re.escape(message)):
        train(net, X, y, **options)
    assert_same(params(net), before)
    assert net.rng.bit_generator.state == rng_state


def test_adam_with_its_default_options_trains():
    X, y = sparse_data(6, m=90)
    net = Network([10, 16, 3], ["relu", "softmax"], "cross_entropy", seed=14)
    h = train(net, X, y, epochs=20, batch_size=10, optimizer="adam", seed=0)
    assert h.train_cost[-1] < h.train_cost[0]


# ----- real data and memory ------------------------------------------------------------------------
def test_mnist_trains_and_the_fast_kernel_tracks_the_reference(mnist_dir):
    from deltaprop.datasets import load_mnist

    ds = load_mnist(mnist_dir, subset=(3000, 1000))
    nets = {}
    for kernel in ("reference", "auto"):
        net = Network([784, 64, 10], ["relu", "softmax"], "cross_entropy", seed=0)
        train(net, ds.X_train, ds.y_train, epochs=2, batch_size=64, optimizer="momentum", lr=0.05, seed=1,
              kernel=kernel)
        nets[kernel] = net
    assert_same(params(nets["auto"]), params(nets["reference"]), rtol=2e-3, atol=2e-4)
    accuracy = np.mean(nets["auto"].predict(ds.X_test) == ds.y_test)
    assert accuracy > 0.85


def test_training_copies_no_full_batch_of_the_data():
    rng = np.random.default_rng(15)
    X = rng.random((20_000, 200)).astype(np.float32)
    X[X < 0.7] = 0
    y = rng.integers(0, 10, 20_000)
    net = Network([200, 32, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    train(net, X[:100], y[:100], epochs=1, batch_size=64)  # compile and warm up outside the measurement
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        train(net, X, y, epochs=2, batch_size=64)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    # X is 16 MB; validation may scan it with a boolean temporary (4 MB); buffers are per batch.
    assert peak < X.nbytes / 3


def test_halve_lr_gives_up_on_runaway_weights_after_a_bounded_number_of_halvings():
    # lr 1e30: the first steps leave finite weights far too large to step from; halving goes back to
    # weights that were good, and after 30 halvings (eta still ~1e21) it stops instead of retrying
    # until the rate underflows, with weights whose outputs are finite.
    from deltaprop.datasets import load_digits

    ds = load_digits()
    net = Network([64, 32, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    with pytest.raises(DivergenceError, match="did not recover after 30 halvings"):
        train(net, ds.X_train, ds.y_train, epochs=3, batch_size=32, optimizer="sgd", lr=1e30, seed=0,
              on_divergence="halve-lr")
    assert all(np.isfinite(p).all() for p in net.weights + net.biases)
    assert np.isfinite(net.forward(ds.X_test)).all()


def test_cosine_by_name_spans_the_epochs_of_the_call():
    # "cosine" alone in optimizer_options means a cosine over this call's epochs: the same weights as total_epochs=4
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    nets = [Network([3, 5, 2], ["tanh", "softmax"], "cross_entropy", seed=1, dtype="float64") for _ in range(2)]
    h0 = train(nets[0], X, y, epochs=4, batch_size=8, optimizer_options={"schedule": "cosine"}, seed=0)
    h1 = train(nets[1], X, y, epochs=4, batch_size=8, seed=0,
               optimizer_options={"schedule": {"name": "cosine", "total_epochs": 4}})
    assert h0.lr == h1.lr and h0.lr[0] > h0.lr[-1] > 0
    for W0, W1 in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_array_equal(W0, W1)


# ----- an optimiser object carries its schedule from one call to the next --------------------------
STEP = {"name": "step", "step_size": 2, "gamma": 0.5}  # factor 0.5 ** (epoch // 2)


@pytest.mark.parametrize("batch_size,optimizer", [(8, "momentum"), (1, "sgd"), (40, "adam")])
def test_train_calls_on_one_optimizer_continue_its_schedule(batch_size, optimizer):
    # five calls of one epoch each are one call of five epochs: the same etas and the same weights, bit for bit
    X, y = sparse_data(11, m=40)
    once = Network([10, 6, 3], ["tanh", "softmax"], "cross_entropy", seed=12, dtype="float64")
    calls = once.copy()
    h = train(once, X, y, epochs=5, batch_size=batch_size, shuffle=False,
              optimizer=make_optimizer(optimizer, lr=0.1, schedule=STEP))
    opt, lrs, costs = make_optimizer(optimizer, lr=0.1, schedule=STEP), [], []
    for _ in range(5):
        step = train(calls, X, y, epochs=1, batch_size=batch_size, shuffle=False, optimizer=opt)
        lrs, costs = lrs + step.lr, costs + step.train_cost
    assert h.lr == [0.1, 0.1, 0.05, 0.05, 0.025]  # 0.1 * 0.5 ** (epoch // 2), epochs 0..4
    assert lrs == h.lr, "the schedule restarted in a later call"
    assert costs == h.train_cost
    assert_same(params(calls), params(once))


def test_resuming_a_continued_call_keeps_its_place_in_the_schedule():
    # a second call (schedule epochs 2..4) stopped mid-epoch and resumed from its state equals the call run through
    X, y = sparse_data(13, m=40)
    options = {"epochs": 3, "batch_size": 8, "seed": 3}
    net = Network([10, 6, 3], ["tanh", "softmax"], "cross_entropy", seed=14, dtype="float64")
    opt = make_optimizer("momentum", lr=0.1, schedule=STEP)
    train(net, X, y, epochs=2, batch_size=8, optimizer=opt, seed=2)  # schedule epochs 0 and 1
    stopped, stopped_opt = net.copy(), make_optimizer("momentum", lr=0.1, schedule=STEP)
    stopped_opt.load_state_dict(opt.state_dict())
    h_full = train(net, X, y, optimizer=opt, **options)
    assert h_full.lr == [0.05, 0.05, 0.025]  # schedule epochs 2, 3, 4
    saved = {}

    def stop_mid_epoch(event):
        if event.kind == "batch" and (event.epoch, event.batch) == (1, 2):
            saved["state"], saved["params"] = event.trainer.state(), params(event.trainer.net)
            event.trainer.stop = True

    train(stopped, X, y, optimizer=stopped_opt, callbacks=[stop_mid_epoch], **options)
    again = stopped.copy()
    again.weights, again.biases = saved["params"][:2], saved["params"][2:]
    h = train(again, X, y, optimizer=make_optimizer("momentum", lr=0.1, schedule=STEP), resume=saved["state"],
              **options)
    assert h.lr == h_full.lr and h.train_cost == h_full.train_cost
    assert_same(params(again), params(net))
