"""The core engine against independent truth: hand arithmetic, autograd, finite differences."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import oracle
from deltaprop import Network, gradcheck

ELEMENTWISE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"]
# (output activation, cost) pairs that make sense: the cross-entropies need outputs in [0, 1].
OUTPUTS = [(g, "quadratic") for g in ELEMENTWISE + ["softmax"]] + [
    ("softmax", "cross_entropy"), ("sigmoid", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"), ("softmax", "binary_cross_entropy"),
]


def targets(rng, m, n_L, out, cost):
    if cost == "cross_entropy":
        return np.eye(n_L)[rng.integers(0, n_L, m)]  # one-hot rows
    if cost == "binary_cross_entropy" or out in ("sigmoid", "softmax"):
        return rng.random((m, n_L))
    return rng.standard_normal((m, n_L))


def assert_close(name, got, want, rtol, atol=0.0):
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)


# ----- 1. a hand-worked example -------------------------------------------------------------
def test_hand_worked_two_layer_example():
    # sizes [2, 2, 1], sigmoid hidden layer, identity output, quadratic cost, one sample.
    net = Network([2, 2, 1], ["sigmoid", "identity"], "quadratic", dtype="float64")
    net.weights = [np.array([[1.0, -1.0], [0.0, 2.0]]), np.array([[1.0], [-1.0]])]
    net.biases = [np.array([0.0, 0.0]), np.array([0.5])]
    x, y = np.array([[0.0, 0.0]]), np.array([[1.0]])
    t = net.trace(x, y)
    # z1 = x W1 + b1 = [0, 0]; a1 = sigmoid(0) = [0.5, 0.5]
    assert_close("a[1]", t.a[1], np.array([[0.5, 0.5]]), 0, 1e-15)
    # z2 = 0.5*1 + 0.5*(-1) + 0.5 = 0.5 = a2; c = 1/2 (0.5 - 1)^2 = 0.125
    assert t.cost == pytest.approx(0.125, abs=1e-15)
    # delta2 = (a2 - y) * 1 = -0.5
    assert_close("delta[2]", t.delta[2], np.array([[-0.5]]), 0, 1e-15)
    # delta1 = (delta2 W2^T) * sigmoid'(z1) = [-0.5, 0.5] * 0.25 = [-0.125, 0.125]
    assert_close("delta[1]", t.delta[1], np.array([[-0.125, 0.125]]), 0, 1e-15)
    # dW2 = a1^T delta2 = [[-0.25], [-0.25]]; db2 = [-0.5]; dW1 = x^T delta1 = 0; db1 = delta1
    assert_close("dW[2]", t.dW[2], np.array([[-0.25], [-0.25]]), 0, 1e-15)
    assert_close("db[2]", t.db[2], np.array([-0.5]), 0, 1e-15)
    assert_close("dW[1]", t.dW[1], np.zeros((2, 2)), 0, 1e-15)
    assert_close("db[1]", t.db[1], np.array([-0.125, 0.125]), 0, 1e-15)


def test_batch_mean_is_the_mean_of_single_samples():
    rng = np.random.default_rng(3)
    net = Network([3, 4, 2], ["tanh", "softmax"], "cross_entropy", seed=1, dtype="float64")
    X, Y = rng.standard_normal((5, 3)), np.eye(2)[[0, 1, 1, 0, 1]]
    dW, db = net.gradients(X, Y)
    singles = [net.gradients(X[i:i + 1], Y[i:i + 1]) for i in range(5)]
    for l in range(2):
        assert_close(f"dW[{l + 1}]", dW[l], np.mean([s[0][l] for s in singles], axis=0), 1e-12, 1e-15)
        assert_close(f"db[{l + 1}]", db[l], np.mean([s[1][l] for s in singles], axis=0), 1e-12, 1e-15)


# ----- 2 and 3. autograd and finite differences over random architectures -------------------
@st.composite
def architectures(draw):
    L = draw(st.integers(1, 5))
    sizes = [draw(st.integers(1, 20)) for _ in range(L + 1)]
    hidden = [draw(st.sampled_from(ELEMENTWISE)) for _ in range(L - 1)]
    out, cost = draw(st.sampled_from(OUTPUTS))
    if cost == "cross_entropy" and out == "softmax" or out == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    m = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**31))
    return sizes, hidden + [out], cost, m, seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures())
@example(([8, 4, 8, 1], ["relu", "relu", "identity"], "quadratic", 7, 4))  # a z^(2) of 3.4e-7: a kink within eps
def test_gradients_match_autograd_and_finite_differences(arch):
    sizes, acts, cost, m, seed = arch
    rng = np.random.default_rng(seed)
    net = Network(sizes, acts, cost, dtype="float64", seed=seed)
    # random biases keep every z off ReLU's kink at exactly 0, where any subgradient is right
    net.biases = [0.1 * rng.standard_normal(b.shape) for b in net.biases]
    X = rng.standard_normal((m, sizes[0]))
    Y = targets(rng, m, sizes[-1], acts[-1], cost)
    dW, db = net.gradients(X, Y)
    oW, ob = oracle.gradients(net, X, Y)
    scale = max(max(np.abs(g).max() for g in oW + ob), 1e-300)
    for l in range(net.L):
        # relative error <= 1e-10 measured against the largest gradient entry
        assert_close(f"dW[{l + 1}]", dW[l], oW[l], 1e-10, 1e-10 * scale)
        assert_close(f"db[{l + 1}]", db[l], ob[l], 1e-10, 1e-10 * scale)
    # Central differences step eps = 1e-6 on each parameter; a ReLU-family z within reach of that step crosses the
    # kink, where the difference quotient is no derivative at all. Autograd (above) is checked on every draw.
    t = net.trace(X, Y)
    kinked = [l for l in range(1, net.L + 1) if acts[l - 1] in ("relu", "leaky_relu")]
    if min((np.abs(t.z[l]).min() for l in kinked), default=np.inf) > 1e-4:
        assert gradcheck(net, X, Y) <= 1e-6


@pytest.mark.parametrize("out,cost", OUTPUTS)
@pytest.mark.parametrize("hidden", ELEMENTWISE)
def test_every_activation_and_cost_pair(hidden, out, cost):
    rng = np.random.default_rng(0)
    sizes = [3, 5, 4, 3]
    net = Network(sizes, [hidden, hidden, out], cost, dtype="float64", seed=1)
    X, Y = rng.standard_normal((6, 3)), targets(rng, 6, 3, out, cost)
    w = rng.random(6) + 0.1
    for sw in (None, w):
        dW, db = net.gradients(X, Y, sample_weight=sw)
        oW, ob = oracle.gradients(net, X, Y, sw)
        for l in range(3):
            assert_close(f"dW[{l + 1}]", dW[l], oW[l], 1e-10, 1e-14)
            assert_close(f"db[{l + 1}]", db[l], ob[l], 1e-10, 1e-14)
    assert gradcheck(net, X, Y) <= 1e-6


def test_fused_delta_equals_the_generic_chain_rule():
    from deltaprop.costs import get_cost, output_delta
    from deltaprop.activations import get_activation

    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 3))
    for g_name, c_name, y in [("softmax", "cross_entropy", np.eye(3)[[0, 2, 1, 1]]),
                              ("sigmoid", "binary_cross_entropy", rng.random((4, 3)))]:
        g, c = get_activation(g_name), get_cost(c_name)
        a = g.value(z)
        generic = g.backward(z, a, c.grad_a(a, y))  # dc/da then J^T, no fusion
        assert_close(f"delta {g_name}+{c_name}", output_delta(g, c, z, a, y), generic, 1e-12, 1e-14)
        assert_close("a - y", output_delta(g, c, z, a, y), a - y, 0, 0)


# ----- the input Jacobian: seed 004 -------------------------------------------------------------
@pytest.mark.parametrize("acts", [["sigmoid", "sigmoid", "sigmoid"], ["tanh", "relu", "softmax"],
                                  ["softplus", "leaky_relu", "identity"]])
def test_input_jacobian_three_ways(acts):
    rng = np.random.default_rng(4)
    net = Network([2, 2, 3, 2], acts, "quadratic", dtype="float64", seed=5)
    X = rng.standard_normal((3, 2))
    J = net.input_jacobian(X)
    assert J.shape == (3, 2, 2)
    eps = 1e-6
    for i in range(3):
        # (a) central finite differences, column by column
        fd = np.stack([(net.forward(X[i:i + 1] + eps * e) - net.forward(X[i:i + 1] - eps * e))[0] / (2 * eps)
                       for e in np.eye(2)], axis=1)
        assert_close(f"J[{i}] vs finite differences", J[i], fd, 1e-7, 1e-9)
        # (b) seed 004's product D^[L] W^[L] ... D^[1] W^[1], with W^[l] = W^(l)T (column-major notes)
        t = net.trace(X[i:i + 1], np.zeros((1, 2)))
        P = np.eye(2)
        for l in range(1, 4):
            D = net.g[l].jacobian(t.z[l])[0]  # diag(g'(z)) or softmax's Jacobian
            P = D @ net.weights[l - 1].T @ P
        assert_close(f"J[{i}] vs D W product", J[i], P, 1e-12, 1e-14)
        # (c) autograd
        assert_close(f"J[{i}] vs autograd", J[i], oracle.input_jacobian(net, X[i]), 1e-10, 1e-14)


def test_input_gradient_against_finite_differences():
    rng = np.random.default_rng(6)
    net = Network([3, 4, 2], ["tanh", "softmax"], "cross_entropy", dtype="float64", seed=7)
    X, Y = rng.standard_normal((2, 3)), np.eye(2)[[1, 0]]
    G = net.input_gradient(X, Y)
    assert G.shape == (2, 3)
    eps = 1e-6
    for i in range(2):
        fd = [(net.cost(X[i:i + 1] + eps * e, Y[i:i + 1]) - net.cost(X[i:i + 1] - eps * e, Y[i:i + 1])) / (2 * eps)
              for e in np.eye(3)]
        assert_close(f"dc/dx[{i}]", G[i], np.array(fd), 1e-7, 1e-10)


# ----- extremes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("out,cost", OUTPUTS)
def test_extreme_logits_stay_finite(dtype, out, cost):
    net = Network([2, 3], [out], cost, dtype=dtype)
    net.weights = [np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 1e4]])]
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # |z| = 1e4
    Y = np.eye(3)[[1, 0, 2, 0]] if cost == "cross_entropy" else np.tile([1.0, 0.0, 1.0], (4, 1))
    assert np.isfinite(net.cost(X, Y))
    dW, db = net.gradients(X, Y)
    assert all(np.isfinite(g).all() for g in dW + db)
    assert np.isfinite(net.forward(X)).all()


def test_probability_of_exactly_one_gives_zero_cost():
    net = Network([1, 2], ["softmax"], "cross_entropy", dtype="float64")
    net.weights = [np.array([[1e4, -1e4]])]
    assert net.cost([[1.0]], [[1.0, 0.0]]) == pytest.approx(0.0, abs=1e-300)
    # the wrong class: c = lse(z) - z_2 = 2e4, finite
    assert net.cost([[1.0]], [[0.0, 1.0]]) == pytest.approx(2e4)


def test_single_sample_single_unit():
    net = Network([1, 1], ["sigmoid"], "binary_cross_entropy", dtype="float64", seed=0)
    assert gradcheck(net, [[0.3]], [[1.0]]) < 1e-8


# ----- parameters, labels, defaults -----------------------------------------------------------
def test_weights_are_live_and_assignment_is_validated():
    net = Network([2, 3, 1], ["relu", "identity"], "quadratic", seed=0)
    net.weights[0][0, 0] = 5.0
    assert net.forward([[1.0, 0.0]]).shape == (1, 1)
    assert net.weights[0][0, 0] == 5.0
    new = [np.ones((2, 3)), np.ones((3, 1))]
    net.weights = new
    new[0][0, 0] = 9.0  # the caller's array is copied, not shared
    assert net.weights[0][0, 0] == 1.0 and net.weights[0].dtype == np.float32


def test_default_init_he_for_relu_glorot_otherwise():
    net = Network([400, 300, 200], ["relu", "tanh"], "quadratic", seed=0, dtype="float64")
    assert np.std(net.weights[0]) == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert np.std(net.weights[1]) == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    same = Network([400, 300, 200], ["relu", "tanh"], "quadratic", seed=0, dtype="float64")
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, same.weights))


def test_integer_labels_become_one_hot():
    rng = np.random.default_rng(0)
    net = Network([3, 4], ["softmax"], "cross_entropy", seed=0, dtype="float64")
    X, y = rng.standard_normal((5, 3)), np.array([0, 3, 1, 2, 3])
    a = net.gradients(X, y)
    b = net.gradients(X, np.eye(4)[y])
    assert all(np.array_equal(u, v) for u, v in zip(a[0] + a[1], b[0] + b[1]))
    assert net.predict(X).shape == (5,)


def test_sample_weights_integer_equal_repeats_and_zero_equal_drops():
    rng = np.random.default_rng(1)
    net = Network([3, 4, 2], ["tanh", "softmax"], "cross_entropy", seed=0, dtype="float64")
    X, Y = rng.standard_normal((4, 3)), np.eye(2)[[0, 1, 1, 0]]
    w = np.array([2, 0, 1, 3])
    rep = np.repeat(np.arange(4), w)
    g_w = net.gradients(X, Y, sample_weight=w)
    g_r = net.gradients(X[rep], Y[rep])
    for u, v in zip(g_w[0] + g_w[1], g_r[0] + g_r[1]):
        assert_close("weighted vs repeated", u, v, 1e-12, 1e-15)
    assert net.cost(X, Y, sample_weight=w) == pytest.approx(net.cost(X[rep], Y[rep]), rel=1e-12)


def test_dropout_gradient_with_a_fixed_mask_matches_finite_differences():
    rng = np.random.default_rng(2)
    net = Network([3, 5, 2], ["relu", "softmax"], "cross_entropy", seed=0, dtype="float64", dropout=[0.4])
    X, Y = rng.standard_normal((4, 3)), np.eye(2)[[0, 1, 1, 0]]
    mask = (rng.random((4, 5)) >= 0.4) / 0.6
    t = net.trace(X, Y, masks={1: mask})
    assert np.array_equal(t.masks[1], mask)
    eps, W = 1e-6, net.weights[0]
    for (i, j) in [(0, 0), (1, 3), (2, 4)]:
        keep = W[i, j]
        W[i, j] = keep + eps
        up = net.trace(X, Y, masks={1: mask}).cost
        W[i, j] = keep - eps
        down = net.trace(X, Y, masks={1: mask}).cost
        W[i, j] = keep
        assert t.dW[1][i, j] == pytest.approx((up - down) / (2 * eps), rel=1e-6, abs=1e-10)
    assert np.array_equal(net.forward(X), net.forward(X))  # no dropout outside training


# ----- bad input: each refused with its message, nothing changed -------------------------------------
def snapshot(net):
    return [p.copy() for p in net.weights + net.biases]


def unchanged(net, snap):
    return all(np.array_equal(p, q) for p, q in zip(net.weights + net.biases, snap))


@pytest.mark.parametrize("call,message", [
    (lambda n: n.forward(np.ones((2, 5))), "X has 5 columns; this network expects n_0 = 3"),
    (lambda n: n.forward(np.ones(3)), "X must be 2-D"),
    (lambda n: n.forward(np.ones((0, 3))), "X has no rows"),
    (lambda n: n.forward([[1.0, np.nan, 0.0]]), "X must be finite"),
    (lambda n: n.forward([[1.0, np.inf, 0.0]]), "X must be finite"),
    (lambda n: n.forward(np.array([[1.0, 2.0, 0.0], [0.0, -np.inf, 3e38]], np.float32)), "X must be finite"),
    (lambda n: n.forward([["a", "b", "c"]]), "X must be numeric"),
    (lambda n: n.cost(np.ones((2, 3)), np.ones((2, 3))), "Y must have shape (m, n_L) = (2, 2)"),
    (lambda n: n.cost(np.ones((2, 3)), [[0.5, np.nan]] * 2), "Y must be finite"),
    (lambda n: n.cost(np.ones((2, 3)), [[0.5, 0.4]] * 2), "rows summing to 1"),
    (lambda n: n.cost(np.ones((2, 3)), [0, 2]), "class labels must lie in 0..1"),
    (lambda n: n.cost(np.ones((2, 3)), [0, 1, 1]), "Y has 3 labels; X has m = 2 rows"),
    (lambda n: n.gradients(np.ones((2, 3)), [0, 1], sample_weight=[1, -1]), "non-negative"),
    (lambda n: n.gradients(np.ones((2, 3)), [0, 1], sample_weight=[0, 0]), "all zero"),
    (lambda n: n.gradients(np.ones((2, 3)), [0, 1], sample_weight=[1, 1, 1]), "sample_weight must have shape"),
    (lambda n: setattr(n, "weights", [np.ones((3, 4)), np.ones((2, 2))]), "weights[1] (layer l = 2) must have shape (4, 2)"),
    (lambda n: setattr(n, "weights", [np.ones((3, 4))]), "weights must have 2 arrays"),
    (lambda n: setattr(n, "biases", [np.ones(4), np.full(2, np.nan)]), "biases[1] must be finite"),
    (lambda n: n.trace(np.ones((2, 3)), [0, 1], masks={1: np.full((2, 4), np.nan)}),
     "masks[1] must be finite; found nan at index (0, 0)"),
    (lambda n: n.gradients(np.ones((2, 3)), [0, 1], masks={1: [[1, 1, np.inf, 1], [1, 1, 1, 1]]}),
     "masks[1] must be finite; found inf at index (0, 2)"),
])
def test_bad_input_is_refused_and_changes_nothing(call, message):
    net = Network([3, 4, 2], ["relu", "softmax"], "cross_entropy", seed=0)
    snap = snapshot(net)
    with pytest.raises(ValueError if "numeric" not in message else TypeError, match=re.escape(message)):
        call(net)
    assert unchanged(net, snap)


CALLS = {"forward": lambda n, X, y: n.forward(X), "predict": lambda n, X, y: n.predict(X),
         "cost": lambda n, X, y: n.cost(X, y), "gradients": lambda n, X, y: n.gradients(X, y),
         "trace": lambda n, X, y: n.trace(X, y), "input_gradient": lambda n, X, y: n.input_gradient(X, y),
         "input_jacobian": lambda n, X, y: n.input_jacobian(X), "fit": lambda n, X, y: n.fit(X, y, epochs=1)}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("where,l,index,bad", [("weights", 1, (3, 1), np.nan), ("biases", 0, (2,), -np.inf)])
def test_a_non_finite_parameter_set_in_place_is_refused_by_name(call, where, l, index, bad):
    # net.weights[l] and net.biases[l] are the live arrays: an entry set in place bypasses the setter's
    # check, so every call that reads the parameters checks them (cheaply: O(n_params), not O(m n_params)).
    net = Network([3, 4, 2], ["relu", "softmax"], "cross_entropy", seed=0)
    getattr(net, where)[l][index] = bad
    snap = snapshot(net)
    where_at = ", ".join(map(str, index))
    with pytest.raises(ValueError, match=re.escape(f"{where}[{l}] (layer l = {l + 1}) must be finite; found {bad} "
                                                   f"at index ({where_at})")):
        CALLS[call](net, np.ones((2, 3)), [0, 1])
    assert all(np.array_equal(p, q, equal_nan=True) for p, q in zip(net.weights + net.biases, snap))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_single_non_finite_entry_is_found_in_any_block_of_a_large_x(dtype, bad):
    # The check runs over blocks of FINITE_BLOCK entries: an entry at the start, inside and at the end of
    # each block, in the last partial block, and in a non-contiguous view, is each found and reported.
    from deltaprop import _checks

    net = Network([64, 2, 2], ["relu", "softmax"], "cross_entropy", dtype=dtype.__name__, seed=0)
    block = _checks.FINITE_BLOCK
    X = np.ones((3 * block // 64 + 5, 64), dtype)  # three blocks and 320 entries more
    for i in (0, 1, block - 1, block, 2 * block + 77, X.size - 1):
        X.flat[i] = bad
        with pytest.raises(ValueError, match=f"X must be finite; found {bad}"):
            net.forward(X)
        with pytest.raises(ValueError, match="X must be finite"):
            net.forward(X[::2] if (i // 64) % 2 == 0 else X[1::2])  # the rows that hold it, not contiguous
        X.flat[i] = 1
    assert net.forward(X).shape == (X.shape[0], 2)


@pytest.mark.parametrize("args,kwargs,error,message", [
    (([3], ["relu"], "quadratic"), {}, ValueError, "sizes needs at least two entries"),
    (([3, 0, 2], ["relu", "identity"], "quadratic"), {}, ValueError, "sizes[1] must be a positive width, got 0"),
    (([3, -2], ["relu"], "quadratic"), {}, ValueError, "sizes[1] must be a positive width, got -2"),
    (([3, 2.5], ["relu"], "quadratic"), {}, TypeError, "sizes[1] must be an integer"),
    (([3, 4, 2], ["relu"], "quadratic"), {}, ValueError, "activations must have one entry per layer: sizes gives L = 2, got 1"),
    (([3, 4, 2], "relu", "quadratic"), {}, TypeError, "activations must be a list of 2 names"),
    (([3, 4, 2], ["relu", "swishy"], "quadratic"), {}, ValueError, "unknown activation 'swishy'; known: elu, gelu, hard_sigmoid, identity, leaky_relu"),
    (([3, 4, 2], ["relu", "identity"], "hinge"), {}, ValueError, "unknown cost 'hinge'; known: binary_cross_entropy, cross_entropy, huber, mae, poisson, quadratic"),
    (([3, 4, 2], ["softmax", "identity"], "quadratic"), {}, ValueError, "softmax is for the output layer only"),
    (([3, 2], ["identity"], "cross_entropy"), {}, ValueError, "needs outputs in [0, 1]"),
    (([3, 2], ["identity"], "poisson"), {}, ValueError, "cost 'poisson' needs positive outputs a > 0"),
    (([3, 2], ["identity"], "quadratic"), {"dtype": "float16"}, ValueError, "dtype must be one of float32, float64, got 'float16'"),
    (([3, 2], ["identity"], "quadratic"), {"dtype": "int64"}, ValueError, "dtype must be one of float32, float64"),
    (([3, 4, 2], ["relu", "identity"], "quadratic"), {"dropout": [1.0]}, ValueError, "dropout rates must lie in [0, 1)"),
    (([3, 4, 2], ["relu", "identity"], "quadratic"), {"init": "xavier"}, ValueError, "init must be 'he', 'glorot'"),
    (([3, 4, 2], ["relu", "identity"], "quadratic"), {"init": 10**400}, ValueError, "init is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),
])
def test_bad_constructor_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Network(*args, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rowwise_forward_sums_each_row_in_one_order_and_agrees_with_blas(dtype):
    # forward(X, rowwise=True): z_ik = (...((x_i0 W_0k + x_i1 W_1k) + x_i2 W_2k) ...) + b_k, rounded in dtype
    # after every operation, so a row's output is that of its row alone. Checked against a scalar loop
    # in the same order, against BLAS to rounding, and across 1,500 rows (two blocks of 1,024).
    rng = np.random.default_rng(5)
    net = Network([6, 5, 3], ["tanh", "softmax"], "cross_entropy", dtype=dtype, seed=1)
    X = rng.standard_normal((1500, 6)).astype(dtype)
    W, b = net.weights[0], net.biases[0]
    Z = net._forward(X, rowwise=True)[0][1]  # z^(1), (1500, 5)
    for i in (0, 1023, 1024, 1499):
        for k in range(5):
            z = X[i, 0] * W[0, k]
            for j in range(1, 6):
                z = z + X[i, j] * W[j, k]  # NumPy scalars of dtype: each step rounded as in the array code
            z = z + b[k]
            assert Z[i, k] == z, f"z^(1)[{i}, {k}]"
    A = net.forward(X, rowwise=True)
    assert A.shape == (1500, 3) and A.dtype == dtype
    np.testing.assert_allclose(A, net.forward(X), rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-7)
    perm = rng.permutation(1500)
    np.testing.assert_array_equal(net.forward(X[perm], rowwise=True), A[perm])
    np.testing.assert_array_equal(np.vstack([net.forward(X[i:i + 1], rowwise=True) for i in range(0, 1500, 97)]),
                                  A[::97])


# ----- the prediction rule: written once, in Network.prediction --------------------------------------------------
def test_prediction_argmax_takes_the_first_of_tied_outputs():
    net = Network([2, 3], ["softmax"], "cross_entropy", seed=0, dtype="float64")
    aL = np.array([[0.2, 0.5, 0.3],    # the largest is column 1
                   [0.4, 0.4, 0.2],    # a tie between 0 and 1: the first, 0
                   [0.1, 0.45, 0.45],  # a tie between 1 and 2: 1
                   [1 / 3, 1 / 3, 1 / 3]])  # all tied: 0
    got = net.prediction(aL)
    assert got.shape == (4,) and got.dtype == np.int64
    assert got.tolist() == [1, 0, 1, 0]


def test_prediction_of_one_output_is_a_at_least_one_half():
    net = Network([2, 1], ["sigmoid"], "binary_cross_entropy", seed=0, dtype="float64")
    aL = np.array([[0.5], [np.nextafter(0.5, 0.0)], [1.0], [0.0], [0.75]])  # exactly 1/2 counts as class 1
    assert net.prediction(aL).tolist() == [1, 0, 1, 0, 1]


def test_prediction_maps_indices_to_the_models_class_labels():
    net = Network([2, 3], ["softmax"], "cross_entropy", seed=0, dtype="float64")
    net.classes = ("cat", "dog", "eel")
    aL = np.array([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2], [0.1, 0.2, 0.7]])
    assert net.prediction(aL, labels=True).tolist() == ["dog", "cat", "eel"]
    binary = Network([2, 1], ["sigmoid"], "binary_cross_entropy", seed=0, dtype="float64")
    binary.classes = (3, 7)
    got = binary.prediction(np.array([[0.5], [0.2]]), labels=True).tolist()
    assert got == [7, 3] and all(type(v) is int for v in got)  # the labels themselves, not numpy scalars
    unlabelled = Network([2, 3], ["softmax"], "cross_entropy", seed=0, dtype="float64")
    assert unlabelled.prediction(aL, labels=True).tolist() == [1, 0, 2]  # no labels: the indices


def test_a_network_that_carries_class_labels_predicts_classes_even_with_a_quadratic_cost():
    # Nielsen's MNIST network: sigmoid outputs and the quadratic cost, trained on labelled data.
    net = Network([2, 3], ["sigmoid"], "quadratic", seed=0, dtype="float64")
    aL = np.array([[0.9, 0.1, 0.3], [0.1, 0.2, 0.8]])
    assert net.prediction(aL).tolist() == aL.tolist()  # no labels: the outputs are values
    net.classes = (0, 1, 2)
    assert net.classifies and net.prediction(aL).tolist() == [0, 2]


def test_a_regression_predicts_in_the_targets_units():
    from deltaprop.datasets import Scaling

    net = Network([1, 1], ["identity"], "quadratic", seed=0, dtype="float64")
    net.weights, net.biases = [np.array([[2.0]])], [np.array([0.5])]
    net.target_scaling = Scaling("standardize", mean=(10.0,), std=(2.0,))
    # a^(L) = 2 x + 0.5 is the standardised target; the target itself is 10 + 2 a^(L).
    X = np.array([[1.0], [-0.5], [0.0]])  # a^(L) = 2.5, -0.5, 0.5
    got = net.predict(X)
    assert got.shape == (3, 1)
    np.testing.assert_allclose(got, [[15.0], [9.0], [11.0]], rtol=0, atol=1e-12)
    assert not net.classifies


def test_the_modules_that_predict_call_the_rule_instead_of_writing_it():
    from pathlib import Path

    import deltaprop

    root = Path(deltaprop.__file__).parent
    users = [root / "plots.py", root / "playground" / "session.py", *root.glob("commands/*.py"),
             *root.glob("sklearn/*.py")]
    found = [f"{p.relative_to(root)}: {line.strip()}" for p in users for line in p.read_text().splitlines()
             if re.search(r"argmax\(|>=? ?0?\.5\b", line) and not line.lstrip().startswith("#")]
    assert len(users) > 10 and not found, "prediction rule written outside Network.prediction:\n" + "\n".join(found)
