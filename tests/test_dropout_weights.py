"""Dropout (active in training only, seeded, the same mask forward and backward) and sample weights
(integer weights = repeated rows, zero weights = dropped rows), each against independent truth."""

import importlib
import re

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from deltaprop import Network, load, train
from deltaprop.engine import support

training = importlib.import_module("deltaprop.train")  # the module (deltaprop.train is the function)


@pytest.fixture
def recorded_masks(monkeypatch):
    """The dropout masks that ``train`` draws, in order (the function itself is unchanged)."""
    seen = []
    original = training._dropout_masks

    def spy(net, rng, m):
        masks = original(net, rng, m)
        seen.append(masks)
        return masks

    monkeypatch.setattr(training, "_dropout_masks", spy)
    return seen


def data(rng, m=12, n_0=4, K=3):
    return rng.standard_normal((m, n_0)), rng.integers(0, K, m)


def snapshot(net):
    return [p.copy() for p in net.weights + net.biases]


def unchanged(net, snap):
    return all(np.array_equal(p, q) for p, q in zip(net.weights + net.biases, snap))


def manual_forward(net, X):
    """a^(L) of a relu ... relu, softmax network in plain NumPy, no masks."""
    a = X
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        z = a @ W + b
        if l < net.L:
            a = np.maximum(z, 0)
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
    return a


# ----- dropout ------------------------------------------------------------------------------------
def test_training_applies_dropout_and_steps_along_the_masked_gradient(recorded_masks):
    rng = np.random.default_rng(0)
    X, y = data(rng)
    net = Network([4, 6, 3], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=0, dropout=[0.5])
    start = net.copy()
    train(net, X, y, epochs=1, batch_size=100, optimizer="sgd", lr=0.1, shuffle=False, seed=3)  # one full batch
    assert len(recorded_masks) == 1 and set(recorded_masks[0]) == {1}
    mask = recorded_masks[0][1]
    assert mask.shape == (12, 6) and set(np.unique(mask)) <= {0.0, 2.0}  # kept units scaled by 1/(1 - p)
    dW, db = start.gradients(X, y, masks={1: mask})
    for got, before, g in zip(net.weights + net.biases, start.weights + start.biases, dW + db):
        assert got.shape == before.shape
        np.testing.assert_allclose(got, before - 0.1 * g, rtol=1e-12, atol=1e-15)  # W <- W - eta dC/dW (masked)
    plain_dW, _ = start.gradients(X, y)
    assert not np.allclose(net.weights[0], start.weights[0] - 0.1 * plain_dW[0])  # the mask mattered


def test_forward_and_predict_use_no_dropout_after_training():
    rng = np.random.default_rng(1)
    X, y = data(rng, m=40)
    net = Network([4, 8, 6, 3], ["relu", "relu", "softmax"], "cross_entropy", dtype="float64", seed=0,
                  dropout=[0.5, 0.3])
    train(net, X, y, epochs=3, batch_size=8, seed=0)
    a1, a2 = net.forward(X), net.forward(X)
    assert a1.shape == (40, 3)
    assert np.array_equal(a1, a2)  # deterministic
    np.testing.assert_allclose(a1, manual_forward(net, X), rtol=1e-13, atol=1e-15)  # and unmasked
    np.testing.assert_array_equal(net.predict(X), a1.argmax(axis=1))
    t = net.trace(X, y)
    assert t.masks == {}
    np.testing.assert_array_equal(t.a[1], np.maximum(t.z[1], 0))


def test_dropout_training_is_seeded():
    rng = np.random.default_rng(2)
    X, y = data(rng, m=30)

    def run(seed):
        net = Network([4, 10, 3], ["relu", "softmax"], "cross_entropy", seed=5, dropout=[0.4])
        train(net, X, y, epochs=2, batch_size=4, seed=seed)
        return net.weights + net.biases

    same, again, other = run(11), run(11), run(12)
    assert all(np.array_equal(p, q) for p, q in zip(same, again))
    assert not all(np.array_equal(p, q) for p, q in zip(same, other))
    # with no train seed the shuffling and masks are drawn from the network's own seeded generator
    nets = [Network([4, 10, 3], ["relu", "softmax"], "cross_entropy", seed=5, dropout=[0.4]) for _ in range(2)]
    for n in nets:
        train(n, X, y, epochs=1, batch_size=4)
    assert all(np.array_equal(p, q) for p, q in zip(nets[0].weights, nets[1].weights))


def masked_cost(params, X, Y, masks, w):
    """The cost of a tanh, relu, softmax network with fixed dropout masks, re-stated in autograd.numpy."""
    W1, W2, W3, b1, b2, b3 = params
    a1 = anp.tanh(anp.dot(X, W1) + b1) * masks[1]
    a2 = anp.maximum(anp.dot(a1, W2) + b2, 0) * masks[2]
    z3 = anp.dot(a2, W3) + b3
    log_a3 = z3 - anp.max(z3, axis=1, keepdims=True)
    log_a3 = log_a3 - anp.log(anp.sum(anp.exp(log_a3), axis=1, keepdims=True))
    c = -anp.sum(Y * log_a3, axis=1)
    return anp.sum(w * c) / anp.sum(w)


@pytest.mark.parametrize("weighted", [False, True])
def test_fixed_mask_gradients_match_autograd_and_finite_differences(weighted):
    rng = np.random.default_rng(3)
    net = Network([3, 5, 4, 2], ["tanh", "relu", "softmax"], "cross_entropy", dtype="float64", seed=0,
                  dropout=[0.3, 0.5])
    net.biases = [0.1 * rng.standard_normal(b.shape) for b in net.biases]
    m = 6
    X, Y = rng.standard_normal((m, 3)), np.eye(2)[rng.integers(0, 2, m)]
    masks = {1: (rng.random((m, 5)) >= 0.3) / 0.7, 2: (rng.random((m, 4)) >= 0.5) / 0.5}
    w = rng.random(m) + 0.2 if weighted else np.ones(m)
    t = net.trace(X, Y, masks=masks, sample_weight=w if weighted else None)
    params = [p.copy() for p in net.weights + net.biases]
    auto = grad(masked_cost)(params, X, Y, masks, w)
    ours = [t.dW[l] for l in (1, 2, 3)] + [t.db[l] for l in (1, 2, 3)]
    assert t.cost == pytest.approx(masked_cost(params, X, Y, masks, w), rel=1e-13)
    for i, (g, ref) in enumerate(zip(ours, auto)):
        assert g.shape == ref.shape
        np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-14, err_msg=f"parameter {i} vs autograd")
    eps = 1e-6
    for i, P in enumerate(net.weights + net.biases):
        fd = np.empty_like(P)
        for k in range(P.size):
            keep = P.flat[k]
            P.flat[k] = keep + eps
            up = net.trace(X, Y, masks=masks, sample_weight=w).cost
            P.flat[k] = keep - eps
            down = net.trace(X, Y, masks=masks, sample_weight=w).cost
            P.flat[k] = keep
            fd.flat[k] = (up - down) / (2 * eps)
        np.testing.assert_allclose(ours[i], fd, rtol=1e-5, atol=1e-8, err_msg=f"parameter {i} vs differences")


def test_trace_shows_the_masks_and_dropped_units_pass_no_gradient():
    rng = np.random.default_rng(4)
    net = Network([3, 5, 2], ["sigmoid", "softmax"], "cross_entropy", dtype="float64", seed=0, dropout=[0.4])
    X, y = rng.standard_normal((4, 3)), np.array([0, 1, 1, 0])
    mask = (rng.random((4, 5)) >= 0.4) / 0.6
    assert (mask == 0).any()
    t = net.trace(X, y, masks={1: mask})
    assert set(t.masks) == {1}
    np.testing.assert_array_equal(t.masks[1], mask)
    np.testing.assert_allclose(t.a[1], 1 / (1 + np.exp(-t.z[1])) * mask, rtol=1e-15)  # a = g(z) * mask
    assert (t.delta[1][mask == 0] == 0).all()  # delta = g'(z) * (delta W^T * mask): no gradient through a dropped unit


def test_mask_entries_are_dropped_with_probability_p(recorded_masks):
    rng = np.random.default_rng(5)
    X, y = data(rng, m=500)
    net = Network([4, 40, 20, 3], ["relu", "relu", "softmax"], "cross_entropy", seed=0, dropout=[0.3, 0.0])
    train(net, X, y, epochs=1, batch_size=100, seed=0)
    assert len(recorded_masks) == 5 and all(set(masks) == {1} for masks in recorded_masks)  # p = 0: no mask
    entries = np.concatenate([masks[1].ravel() for masks in recorded_masks])  # 5 x 100 x 40 = 20,000
    assert entries.size == 20_000 and entries.dtype == np.float32
    # the fraction of zeros has standard deviation sqrt(0.3 * 0.7 / 20000) = 0.0032; allow 6 of them
    assert abs(np.mean(entries == 0) - 0.3) < 0.02
    np.testing.assert_allclose(np.unique(entries), [0.0, 1 / 0.7], rtol=1e-6)
    assert abs(entries.mean() - 1) < 0.03  # inverted dropout keeps the expected activation
    assert not any(np.array_equal(recorded_masks[0][1], other[1]) for other in recorded_masks[1:])


# ----- sample weights -------------------------------------------------------------------------------
NETS = [(["tanh", "softmax"], "cross_entropy"), (["relu", "identity"], "quadratic"),
        (["tanh", "sigmoid"], "binary_cross_entropy"), (["elu", "identity"], "huber")]


def make(acts, cost, seed=0):
    return Network([3, 5, 2], acts, cost, dtype="float64", seed=seed)


def targets(rng, cost, m):
    return np.eye(2)[rng.integers(0, 2, m)] if cost != "quadratic" and cost != "huber" else rng.standard_normal((m, 2))


@pytest.mark.parametrize("acts,cost", NETS)
def test_integer_weights_equal_repeated_rows_and_zero_weights_equal_dropped_rows(acts, cost):
    rng = np.random.default_rng(6)
    net = make(acts, cost)
    X, Y = rng.standard_normal((6, 3)), targets(rng, cost, 6)
    w = np.array([2, 0, 1, 3, 0, 1])
    rep = np.repeat(np.arange(6), w)  # rows 0, 0, 2, 3, 3, 3, 5
    kept = np.flatnonzero(w)
    for sw, X2, Y2 in ((w, X[rep], Y[rep]), ((w > 0).astype(float), X[kept], Y[kept])):
        dW, db = net.gradients(X, Y, sample_weight=sw)
        rW, rb = net.gradients(X2, Y2)
        for l in range(2):
            assert dW[l].shape == rW[l].shape
            np.testing.assert_allclose(dW[l], rW[l], rtol=1e-12, atol=1e-15, err_msg=f"dW[{l + 1}]")
            np.testing.assert_allclose(db[l], rb[l], rtol=1e-12, atol=1e-15, err_msg=f"db[{l + 1}]")
        assert net.cost(X, Y, sample_weight=sw) == pytest.approx(net.cost(X2, Y2), rel=1e-13)
    # only the ratios matter: C = sum w_i c_i / sum w_i
    g1, g3 = net.gradients(X, Y, sample_weight=w), net.gradients(X, Y, sample_weight=3.5 * w)
    for u, v in zip(g1[0] + g1[1], g3[0] + g3[1]):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_full_batch_training_with_weights_equals_training_on_repeated_rows(optimizer):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
    w = np.array([1, 3, 0, 2, 1, 0, 4, 1, 1, 2])
    rep, kept = np.repeat(np.arange(10), w), np.flatnonzero(w)
    options = dict(epochs=6, batch_size=1000, optimizer=optimizer, lr=0.05, seed=0)  # batch >= m: full batch
    weighted, repeated, zeroed, dropped = (make(["tanh", "softmax"], "cross_entropy") for _ in range(4))
    hw = train(weighted, X, y, sample_weight=w, **options)
    hr = train(repeated, X[rep], y[rep], **options)
    hz = train(zeroed, X, y, sample_weight=(w > 0).astype(float), **options)
    hd = train(dropped, X[kept], y[kept], **options)
    assert hw.epochs == hr.epochs == hz.epochs == hd.epochs == 6
    for (a, b), (ha, hb) in (((weighted, repeated), (hw, hr)), ((zeroed, dropped), (hz, hd))):
        for got, want in zip(a.weights + a.biases, b.weights + b.biases):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(ha.train_cost, hb.train_cost, rtol=1e-10)
    assert not np.allclose(weighted.weights[0], zeroed.weights[0])  # the weights did change the run


WEIGHT_KERNELS = ["reference", "numpy"] + (["compiled"] if support.available() else [])


@pytest.mark.parametrize("kernel", WEIGHT_KERNELS)
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_batch_of_zero_weight_makes_no_update_and_training_goes_on(kernel, optimizer, batch_size):
    # Unshuffled batches; rows 3, 4, 5 weigh 0, so with batch_size 3 the second batch has weight 0,
    # and with batch_size 1 (one sample per step) three steps do. Such a batch carries no weight: the
    # run must take exactly the steps of the same training without those rows (no update, no
    # optimizer step: momentum and Adam's t included), and report the same cost.
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((12, 3)), rng.integers(0, 2, 12)
    w = np.ones(12)
    w[3:6] = 0
    kept = np.flatnonzero(w)
    options = dict(epochs=3, batch_size=batch_size, optimizer=optimizer, lr=0.05, seed=0, shuffle=False,
                   kernel=kernel)
    weighted, dropped = make(["tanh", "softmax"], "cross_entropy"), make(["tanh", "softmax"], "cross_entropy")
    hw = train(weighted, X, y, sample_weight=w, **options)
    hd = train(dropped, X[kept], y[kept], **options)
    assert hw.epochs == hd.epochs == 3
    for got, want in zip(weighted.weights + weighted.biases, dropped.weights + dropped.biases):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # train_cost: sum w_i c_i / sum w_i over the epoch's rows; a batch of weight 0 adds 0 to both sums
    np.testing.assert_allclose(hw.train_cost, hd.train_cost, rtol=1e-12)
    assert not any("diverged" in e for e in hw.events)


def test_the_classifier_fits_through_batches_of_zero_weight():
    # One sample per step, half the rows of weight 0: Adam must count a step for each row of weight > 0
    # only (t is the number of updates), and the fit must succeed.
    from deltaprop.sklearn import DeltapropClassifier

    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    w = np.tile([1.0, 0.0], 10)
    clf = DeltapropClassifier((4,), batch_size=1, epochs=2, random_state=0).fit(X, y, sample_weight=w)
    assert clf.optimizer_.t == 2 * 10
    assert len(clf.loss_curve_) == 2 and np.all(np.isfinite(clf.loss_curve_))


# ----- bad input: refused with its message, the network unchanged ------------------------------------
@pytest.mark.parametrize("dropout,error,message", [
    ([1.0], ValueError, "dropout rates must lie in [0, 1), got 1.0"),
    ([1.5], ValueError, "dropout rates must lie in [0, 1), got 1.5"),
    ([-0.1], ValueError, "dropout rates must lie in [0, 1), got -0.1"),
    ([float("nan")], ValueError, "dropout rates must lie in [0, 1), got nan"),
    ([True], ValueError, "dropout rates must lie in [0, 1), got True"),
    (["0.5"], ValueError, "dropout rates must lie in [0, 1), got '0.5'"),
    ([0.1, 0.2], ValueError, "dropout must be a list of L - 1 = 1 rates (one per hidden layer), got [0.1, 0.2]"),
    ([], ValueError, "dropout must be a list of L - 1 = 1 rates"),
    (0.5, ValueError, "dropout must be a list of L - 1 = 1 rates (one per hidden layer), got 0.5"),
    ("0.5", ValueError, "dropout must be a list of L - 1 = 1 rates"),
])
def test_bad_dropout_is_refused(dropout, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Network([3, 4, 2], ["relu", "softmax"], "cross_entropy", dropout=dropout)


@pytest.mark.parametrize("w,error,message", [
    ([1, -1, 1, 1], ValueError, "sample_weight must be non-negative, found a negative weight"),
    ([0, 0, 0, 0], ValueError, "sample_weight must not be all zero (the cost would be 0/0)"),
    ([1, 1, 1], ValueError, "sample_weight must have shape (m,) = (4,), got shape (3,)"),
    ([[1, 1, 1, 1]], ValueError, "sample_weight must have shape (m,) = (4,), got shape (1, 4)"),
    ([1, np.nan, 1, 1], ValueError, "sample_weight must be finite"),
    ([1, np.inf, 1, 1], ValueError, "sample_weight must be finite"),
    (["a", "b", "c", "d"], TypeError, "sample_weight must be numeric"),
    # the network is float32: a weight it cannot hold, a sum it cannot hold, weights that round to 0
    ([1, 1e39, 1, 1], ValueError, "sample_weight has the value 1e+39 at index (1), too large for float32"),
    ([3e38, 3e38, 1, 1], ValueError, "sample_weight sums to 6e+38, more than float32 holds (largest 3.40282e+38)"),
    ([1e-50] * 4, ValueError, "sample_weight must not be all zero (the cost would be 0/0): as float32 every "
                              "weight given (the largest 1e-50) rounds to 0"),
])
@pytest.mark.parametrize("call", ["gradients", "cost", "trace", "train"])
def test_bad_sample_weights_are_refused_and_change_nothing(w, error, message, call):
    net = Network([3, 4, 2], ["relu", "softmax"], "cross_entropy", seed=0)
    X, y = np.ones((4, 3)), np.array([0, 1, 1, 0])
    snap, rng_state = snapshot(net), net.rng.bit_generator.state
    with pytest.raises(error, match=re.escape(message)):
        if call == "train":
            train(net, X, y, sample_weight=w, epochs=1)
        else:
            getattr(net, call)(X, y, sample_weight=w)
    assert unchanged(net, snap) and net.rng.bit_generator.state == rng_state


def test_command_line_dropout_sets_every_hidden_layer(tmp_path, capsys):
    from deltaprop.cli import main

    model = tmp_path / "m.safetensors"
    assert main(["train", "--hidden", "8", "6", "--dropout", "0.25", "--epochs", "1", "--quiet", "--out", str(model)]) == 0
    assert load(model).dropout == (0.25, 0.25)
    capsys.readouterr()
    assert main(["train", "--dropout", "1", "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dropout" in err and "[0, 1)" in err and "Traceback" not in err
