"""The training kernels against independent truth: autograd, the reference kernel, hand arithmetic.

Every fast path (``DenseKernel`` in NumPy, ``SparseKernel`` and the per-sample loop compiled by
numba) must give the gradients and updates of the plain derivation, up to rounding.
"""

import os
import re

import numpy as np
import oracle
import pytest

from deltaprop import DivergenceError, Network
from deltaprop.engine import BatchKernel, DenseKernel, make_kernel, per_sample, sparse, support
from deltaprop.engine.reference import CHUNK

needs_numba = pytest.mark.skipif(not support.available(), reason="numba is not installed")


def kernel_with_helper(net, batch_size):
    """A SparseKernel for net that has its helper thread; the test is skipped on a machine with one CPU."""
    kernel = sparse.SparseKernel(net, batch_size)
    if kernel.pair is None:
        pytest.skip("one CPU: no helper thread")
    return kernel


@pytest.fixture
def alternate(monkeypatch):
    """Each call site of the helper alone on odd calls and shared on even ones (normally it starts shared
    and tries alone now and then): both ways are then compared within a few calls."""
    if support.available():
        from deltaprop.engine import _helper

        monkeypatch.setattr(_helper._Site, "choose", lambda site: site.calls % 2 == 0)
HIDDEN = ["identity", "relu", "sigmoid", "tanh"]
OUTPUTS = [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "quadratic"),
           ("sigmoid", "quadratic")]
KERNELS = [DenseKernel] + ([sparse.SparseKernel] if support.available() else [])


def data(rng, m, n_0, n_L, cost, zeros=0.7):
    """X with a share ``zeros`` of exact zeros (as in images), and targets that suit the cost."""
    X = rng.standard_normal((m, n_0))
    X[rng.random(X.shape) < zeros] = 0.0
    Y = np.eye(n_L)[rng.integers(0, n_L, m)] if cost == "cross_entropy" else rng.random((m, n_L))
    return X, Y


def assert_close(name, got, want, rtol, atol=0.0):
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)


def assert_grads(kernel, dW, db, rtol, atol):
    for l in range(1, len(dW) + 1):
        assert_close(f"dW[{l}]", kernel.dW[l - 1], np.asarray(dW[l - 1]), rtol, atol)
        assert_close(f"db[{l}]", kernel.db[l - 1], np.asarray(db[l - 1]), rtol, atol)


# ----- gradients of one batch ---------------------------------------------------------------------
@pytest.mark.parametrize("Kernel", KERNELS, ids=lambda k: k.name)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("out,cost", OUTPUTS)
def test_kernel_gradients_equal_autograd(Kernel, hidden, out, cost):
    rng = np.random.default_rng(0)
    net = Network([7, 6, 5, 3], [hidden, hidden, out], cost, dtype="float64", seed=2)
    X, Y = data(rng, 9, 7, 3, cost)
    w = rng.random(9) + 0.1
    for weights in (None, w):
        kernel = Kernel(net, 9)
        cost_sum, correct = kernel.gradients(X, Y, weights)
        dW, db = oracle.gradients(net, X, Y, weights)
        assert_grads(kernel, dW, db, 1e-9, 1e-12)
        c = oracle.C[cost](oracle.forward([*net.weights, *net.biases], X, net.activations), Y)
        assert cost_sum == pytest.approx(float(np.sum(c if weights is None else weights * c)), rel=1e-10)
        assert correct == BatchKernel(net, 9).gradients(X, Y, weights)[1]


@pytest.mark.parametrize("Kernel", KERNELS, ids=lambda k: k.name)
def test_gathered_rows_equal_network_gradients(Kernel):
    rng = np.random.default_rng(1)
    net = Network([12, 10, 4], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=3)
    X, Y = data(rng, 40, 12, 4, "cross_entropy")
    w = rng.random(40)
    idx = rng.permutation(40)[:13]
    kernel = Kernel(net, 13)
    for weights in (None, w):
        kernel.batch(X, Y, idx, weights)
        dW, db = net.gradients(X[idx], Y[idx], sample_weight=None if weights is None else weights[idx])
        assert_grads(kernel, dW, db, 1e-10, 1e-13)


@pytest.mark.parametrize("Kernel", KERNELS, ids=lambda k: k.name)
def test_batches_larger_than_a_chunk_are_summed_over_chunks(Kernel):
    rng = np.random.default_rng(2)
    m = CHUNK + 37
    net = Network([5, 4, 2], ["tanh", "sigmoid"], "binary_cross_entropy", dtype="float64", seed=4)
    X, Y = data(rng, m, 5, 2, "binary_cross_entropy")
    w = rng.random(m)
    kernel = Kernel(net, m)
    for weights in (None, w):
        cost_sum, _ = kernel.gradients(X, Y, weights)
        dW, db = net.gradients(X, Y, sample_weight=weights)
        assert_grads(kernel, dW, db, 1e-10, 1e-13)
        assert cost_sum / (m if weights is None else weights.sum()) == pytest.approx(
            net.cost(X, Y, sample_weight=weights), rel=1e-10)


@pytest.mark.parametrize("Kernel", KERNELS, ids=lambda k: k.name)
def test_edge_cases_one_row_one_output_all_zero_and_dense_rows(Kernel):
    rng = np.random.default_rng(3)
    net = Network([6, 3, 1], ["relu", "sigmoid"], "binary_cross_entropy", dtype="float64", seed=5)
    net.biases = [np.array([0.3, -0.2, 0.1]), np.array([0.1])]  # z^(1) of a zero row is b: no ReLU kink at 0
    X = np.vstack([np.zeros(6), rng.standard_normal(6), np.zeros(6)])  # rows without any nonzero input
    Y = np.array([[1.0], [0.0], [1.0]])
    for rows in ([0], [1], [0, 1, 2]):
        kernel = Kernel(net, len(rows))
        kernel.gradients(X[rows], Y[rows])
        dW, db = oracle.gradients(net, X[rows], Y[rows])
        assert_grads(kernel, dW, db, 1e-10, 1e-14)


def test_logits_of_1e4_give_finite_costs_and_gradients():
    net = Network([2, 3], ["softmax"], "cross_entropy", dtype="float64")
    net.weights = [np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]])]
    X, Y = np.array([[1.0, 0.0]]), np.array([[0.0, 0.0, 1.0]])
    for Kernel in KERNELS:
        kernel = Kernel(net, 1)
        cost_sum, correct = kernel.gradients(X, Y)
        # z = (1e4, 0, -1e4): c = lse(z) - z_3 = 1e4 + 1e4 (to double precision); delta = a - y = (1, 0, -1)
        assert cost_sum == pytest.approx(2e4, rel=1e-12) and correct == 0
        assert_close("dW[1]", kernel.dW[0], np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]), 0, 1e-12)


@needs_numba
def test_float32_sparse_kernel_matches_float64_reference():
    rng = np.random.default_rng(4)
    net64 = Network([30, 20, 5], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=6)
    net32 = Network([30, 20, 5], ["relu", "softmax"], "cross_entropy", dtype="float32")
    net32.weights, net32.biases = net64.weights, net64.biases
    X, Y = data(rng, 64, 30, 5, "cross_entropy")
    kernel = sparse.SparseKernel(net32, 64)
    kernel.gradients(X.astype(np.float32), Y.astype(np.float32))
    dW, db = net64.gradients(X, Y)
    assert_grads(kernel, dW, db, 1e-4, 1e-6)


# ----- which kernel ------------------------------------------------------------------------------
def test_make_kernel_picks_by_layers_dropout_and_sparsity():
    rng = np.random.default_rng(5)
    X, _ = data(rng, 50, 8, 3, "cross_entropy", zeros=0.8)
    dense = rng.standard_normal((50, 8))
    net = Network([8, 4, 3], ["relu", "softmax"], "cross_entropy")
    assert type(make_kernel(net, 10, dense)) is DenseKernel
    assert type(make_kernel(net, 10, X)) is (sparse.SparseKernel if support.available() else DenseKernel)
    assert type(make_kernel(net, 10, X, kind="numpy")) is DenseKernel
    assert type(make_kernel(net, 10, X, kind="reference")) is BatchKernel
    assert type(make_kernel(net, 10, X, dropout=True)) is BatchKernel
    odd = Network([8, 4, 3], ["leaky_relu", "softmax"], "cross_entropy")
    assert type(make_kernel(odd, 10, X)) is BatchKernel
    with pytest.raises(ValueError, match=re.escape("this network needs kernel='reference'")):
        make_kernel(odd, 10, X, kind="numpy")
    with pytest.raises(ValueError, match="kernel must be one of auto, reference, numpy, compiled, got 'fastest'"):
        make_kernel(net, 10, X, kind="fastest")


def test_a_replaced_builtin_is_not_taken_for_the_builtin():
    # The fast paths match exact classes: a user subclass of ReLU with another derivative must
    # fall back to the reference, which calls its methods.
    from deltaprop.activations import ReLU

    class Clipped(ReLU):
        name = "clipped"

        def value(self, z):
            return np.clip(z, 0, 1)

    net = Network([3, 2, 2], ["relu", "softmax"], "cross_entropy")
    net.g[1] = Clipped()
    assert type(make_kernel(net, 4, np.zeros((4, 3)))) is BatchKernel


# ----- the compiled per-sample loop ---------------------------------------------------------------
def numpy_sgd(net, X, Y, order, eta):
    """Seed 002's rule written with Network.gradients: W <- W - eta dW for each single row."""
    for r in order:
        dW, db = net.gradients(X[r:r + 1], Y[r:r + 1])
        for p, g in zip(net.weights + net.biases, dW + db):
            p -= eta * g


@needs_numba
def test_one_compiled_step_is_seed_002s_rule_by_hand():
    net = Network([2, 2, 1], ["sigmoid", "identity"], "quadratic", dtype="float64")
    net.weights = [np.array([[1.0, -1.0], [0.0, 2.0]]), np.array([[1.0], [-1.0]])]
    net.biases = [np.array([0.0, 0.0]), np.array([0.5])]
    X, Y = np.array([[0.0, 0.0]]), np.array([[1.0]])
    c, _, done = per_sample.SampleLoop(net).run(X, Y, np.array([0]), 0.1)
    # z1 = 0 -> a1 = (0.5, 0.5); z2 = a2 = 0.5; c = (0.5 - 1)^2 / 2 = 0.125; delta2 = -0.5;
    # delta1 = (delta2 W2^T) * a1 (1 - a1) = (-0.5, 0.5) * 0.25 = (-0.125, 0.125).
    # W2 <- W2 - 0.1 a1^T delta2 = (1.025, -0.975); b2 <- 0.5 + 0.05 = 0.55;
    # W1 <- W1 - 0.1 x^T delta1 = W1 (x = 0); b1 <- (0.0125, -0.0125).
    assert (c, done) == (pytest.approx(0.125, abs=1e-15), 1)
    assert_close("W[2]", net.weights[1], np.array([[1.025], [-0.975]]), 0, 1e-15)
    assert_close("b[2]", net.biases[1], np.array([0.55]), 0, 1e-15)
    assert_close("W[1]", net.weights[0], np.array([[1.0, -1.0], [0.0, 2.0]]), 0, 0)
    assert_close("b[1]", net.biases[0], np.array([0.0125, -0.0125]), 0, 1e-15)


@needs_numba
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("out,cost", OUTPUTS)
def test_compiled_steps_equal_numpy_steps(hidden, out, cost):
    rng = np.random.default_rng(6)
    net = Network([6, 5, 4, 3], [hidden, hidden, out], cost, dtype="float64", seed=7)
    X, Y = data(rng, 20, 6, 3, cost)
    order = rng.integers(0, 20, 60)
    ref = net.copy()
    numpy_sgd(ref, X, Y, order, 0.05)
    _, _, done = per_sample.SampleLoop(net).run(X, Y, order, 0.05)
    assert done == 60
    for l in range(3):
        assert_close(f"W[{l + 1}]", net.weights[l], ref.weights[l], 1e-10, 1e-13)
        assert_close(f"b[{l + 1}]", net.biases[l], ref.biases[l], 1e-10, 1e-13)


@needs_numba
def test_compiled_loop_stops_before_a_non_finite_step():
    net = Network([2, 2], ["softmax"], "cross_entropy", dtype="float64")
    X = np.array([[1.0, 0.0], [np.inf, 0.0]])  # row 1 cannot pass validation; the loop is internal
    Y = np.eye(2)
    before = [W.copy() for W in net.weights]
    c, _, done = per_sample.SampleLoop(net).run(X, Y, np.array([1, 0]), 0.1)
    assert done == 0 and c == 0.0
    assert_close("W[1]", net.weights[0], before[0], 0, 0)


# ----- sgd_steps -------------------------------------------------------------------------------------
@pytest.mark.parametrize("replacement", [True, False])
def test_sgd_steps_draws_from_rng_and_applies_the_rule(replacement):
    rng = np.random.default_rng(8)
    net = Network([4, 3, 2], ["tanh", "sigmoid"], "quadratic", dtype="float64", seed=9)
    X, Y = data(rng, 7, 4, 2, "quadratic")
    ref = net.copy()
    draws = np.random.default_rng(10)
    order = draws.integers(0, 7, 25) if replacement else np.concatenate(
        [draws.permutation(7) for _ in range(4)])[:25]
    numpy_sgd(ref, X, Y, order, 0.3)
    mean = per_sample.sgd_steps(net, X, Y, 25, 0.3, np.random.default_rng(10), replacement=replacement)
    assert np.isfinite(mean)
    for l in range(2):
        assert_close(f"W[{l + 1}]", net.weights[l], ref.weights[l], 1e-10, 1e-13)


def test_sgd_steps_without_numba_takes_the_same_steps(monkeypatch):
    rng = np.random.default_rng(11)
    net = Network([5, 4, 3], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=12)
    X, Y = data(rng, 10, 5, 3, "cross_entropy")
    other = net.copy()
    per_sample.sgd_steps(net, X, Y, 30, 0.1, 13)
    monkeypatch.setattr(support, "_LOOPS", False)  # as if numba were absent
    assert not support.available()
    per_sample.sgd_steps(other, X, Y, 30, 0.1, 13)
    for l in range(2):
        assert_close(f"W[{l + 1}]", other.weights[l], net.weights[l], 1e-10, 1e-13)


def test_sgd_steps_learns_highams_points():
    from deltaprop.datasets import higham_points

    X, Y = higham_points()
    net = Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64", seed=1, init=0.5)
    before = net.cost(X, Y)
    per_sample.sgd_steps(net, X, Y, 200_000 if support.available() else 2_000, 0.05, np.random.default_rng(0))
    assert net.cost(X, Y) < before


@pytest.mark.parametrize("args,error,message", [
    ((0, 0.1), ValueError, "steps must be >= 1, got 0"),
    ((2.5, 0.1), TypeError, "steps must be an integer, got 2.5"),
    ((5, 0.0), ValueError, "eta must be a positive finite number, got 0.0"),
    ((5, float("nan")), ValueError, "eta must be a positive finite number, got nan"),
    ((5, 10**400), ValueError, "eta is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),
    ((5, 0.1, "seed"), TypeError, "rng must be a numpy.random.Generator, an int seed or None, got str"),
])
def test_sgd_steps_refuses_bad_arguments_and_changes_nothing(args, error, message):
    net = Network([2, 2], ["softmax"], "cross_entropy", seed=0)
    before = [W.copy() for W in net.weights + net.biases]
    with pytest.raises(error, match=re.escape(message)):
        per_sample.sgd_steps(net, np.eye(2), np.array([0, 1]), *args)
    for p, q in zip(net.weights + net.biases, before):
        assert np.array_equal(p, q)


def test_sgd_steps_divergence_restores_the_weights():
    net = Network([2, 3, 1], ["relu", "identity"], "quadratic", dtype="float64", seed=0)
    X, Y = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[1e3], [-1e3]])
    before = [W.copy() for W in net.weights + net.biases]
    with pytest.raises(DivergenceError, match=r"sgd_steps diverged at step \d+: .* eta = 1e\+10 too high"):
        per_sample.sgd_steps(net, X, Y, 50, 1e10, 0)
    for p, q in zip(net.weights + net.biases, before):
        assert np.array_equal(p, q)


@pytest.mark.parametrize("Kernel", KERNELS, ids=lambda k: k.name)
def test_finite_flags_an_overflowing_first_layer_gradient(Kernel):
    net = Network([3, 2, 2], ["relu", "softmax"], "cross_entropy", dtype="float64")
    net.weights = [np.array([[1e-300, 1e-300], [0.5, -0.5], [0.0, 1.0]]), np.array([[1e10, -1e10], [2.0, 1.0]])]
    Y = np.array([[0.0, 1.0], [0.0, 1.0]])
    kernel = Kernel(net, 2)
    kernel.gradients(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]), Y)
    assert kernel.finite(1.0)
    # x_1 = 1e300 gives h = (1, 1), z^(2) ~ 1e10 and delta^(1) ~ 1e10: only dW^(1) = x^T delta^(1) overflows.
    with np.errstate(over="ignore", invalid="ignore"):  # as train() computes it: the check replaces warnings
        cost_sum, _ = kernel.gradients(np.array([[1e300, 0.0, 0.0], [0.0, 3.0, 0.0]]), Y)
    assert np.isfinite(kernel.dW[1]).all() and not np.isfinite(kernel.dW[0]).all()
    assert not kernel.finite(cost_sum)



@pytest.mark.parametrize("Kernel", KERNELS, ids=lambda k: k.name)
def test_finite_flags_an_overflowing_last_layer_gradient(Kernel):
    net = Network([2, 2, 2], ["identity", "identity"], "quadratic", dtype="float32")
    net.weights = [np.eye(2, dtype=np.float32), np.array([[1e-30, 0.0], [0.0, 1.0]], np.float32)]
    Y = np.zeros((2, 2), np.float32)
    kernel = Kernel(net, 2)
    kernel.gradients(np.array([[1.0, 0.0], [0.0, 2.0]], np.float32), Y)
    assert kernel.finite(1.0)
    # a^(1) = x = (3e38, 0): z^(2) = (3e8, 0), delta^(2) = (1.5e8, 0) and the cost are finite,
    # delta^(1) = delta^(2) W^(2)T ~ 1e-22 keeps dW^(1) finite; dW^(2) = 3e38 * 1.5e8 overflows.
    with np.errstate(over="ignore", invalid="ignore"):
        cost_sum, _ = kernel.gradients(np.array([[3e38, 0.0], [0.0, 2.0]], np.float32), Y)
    assert np.isfinite(cost_sum) and np.isfinite(kernel.dW[0]).all() and not np.isfinite(kernel.dW[1]).all()
    assert not kernel.finite(cost_sum)


@needs_numba
@pytest.mark.parametrize("name,options", [("sgd", {}), ("momentum", {"momentum": 0.7}),
                                          ("nesterov", {"momentum": 0.6}), ("sgd", {"weight_decay": 0.1})])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_sgd_update_is_bit_identical_to_numpy(name, options, dtype):
    # The engine's compiled SGD rule (SparseKernel._sgd, handed to SGD.step as apply=) against optim's ufuncs.
    from deltaprop import optim

    rng = np.random.default_rng(14)
    net = Network([5, 3], ["softmax"], "cross_entropy", dtype=dtype)
    kernel = sparse.SparseKernel(net, 1)  # one row: no helper thread, the compiled rule alone
    assert kernel.pair is None
    start = [rng.normal(size=(5, 3)).astype(dtype), rng.normal(size=3).astype(dtype)]
    grads = [[rng.normal(size=p.shape).astype(dtype) for p in start] for _ in range(3)]
    results = []
    for compiled in (True, False):
        params, opt = [p.copy() for p in start], optim.make_optimizer(name, lr=0.3, **options)
        assert opt.rule == "sgd"
        for g in grads:
            opt.step(params, g, apply=kernel._sgd if compiled else None)
        results.append(params)
    for i, (a, b) in enumerate(zip(*results)):
        assert a.dtype == dtype and np.array_equal(a, b), f"params[{i}]"


@needs_numba
def test_the_sparse_kernel_hands_sgds_rule_compiled_and_leaves_other_rules_to_the_optimiser():
    from deltaprop import optim

    class Recorder(optim.SGD):
        def step(self, params, grads, *, apply=None):
            self.applied = apply
            super().step(params, grads, apply=apply)

    class Changed(optim.SGD):  # another rule under SGD's name: the engine must not replace it
        def _update(self, params, grads):
            super()._update(params, grads)

    net = Network([4, 3], ["softmax"], "cross_entropy")
    kernel = sparse.SparseKernel(net, 1)
    params, grads = net.weights + net.biases, [np.ones_like(p) for p in net.weights + net.biases]
    for opt in (optim.SGD(0.1), optim.Nesterov(0.1), optim.Adam(0.1), Changed(0.1)):
        calls = []
        opt.step = lambda p, g, apply=None, opt=opt, calls=calls: calls.append(apply)  # noqa: B023
        kernel.update(opt, params, grads)
        assert calls == [kernel._sgd if type(opt) in (optim.SGD, optim.Nesterov) else None], type(opt).__name__
    assert Recorder(0.1).rule is None and Changed(0.1).rule is None and optim.Momentum().rule == "sgd"


def assert_shared_update_is_the_optimizers_step(net, name, options, rng):
    """Six steps of SparseKernel.update (alone and shared in turn) equal opt.step on a copy, bit for bit."""
    from deltaprop.optim import make_optimizer

    other = net.copy()
    kernel = sparse.SparseKernel(net, 64)
    opt, opt2 = make_optimizer(name, lr=0.1, **options), make_optimizer(name, lr=0.1, **options)
    X, Y = (a.astype(np.float32) for a in data(rng, 64, net.sizes[0], net.sizes[-1], "cross_entropy"))
    for _ in range(6):  # alone, shared, alone, shared, ... (the fixture alternate)
        kernel.gradients(X, Y)
        grads = [g.copy() for g in kernel.dW + kernel.db]
        kernel.update(opt, net.weights + net.biases, kernel.dW + kernel.db)
        opt2.step(other.weights + other.biases, grads)
    kernel.close()
    for i, (a, b) in enumerate(zip(net.weights + net.biases, other.weights + other.biases)):
        assert np.array_equal(a, b), f"params[{i}]"


@needs_numba
@pytest.mark.parametrize("name,options", [("sgd", {}), ("momentum", {"momentum": 0.9}), ("nesterov", {}),
                                          ("momentum", {"weight_decay": 0.01})])
def test_update_shared_with_the_helper_thread_is_bit_identical(alternate, name, options):
    net = Network([300, 40, 3], ["relu", "softmax"], "cross_entropy", seed=16)
    assert_shared_update_is_the_optimizers_step(net, name, options, np.random.default_rng(15))


@needs_numba
def test_new_arrays_reach_the_running_helper_without_a_new_thread(alternate):
    # The first update hands the helper the optimiser's velocity (REBIND): the same thread goes on, on the
    # new arrays, and the gradients and the update stay those of the reference.
    from deltaprop.optim import make_optimizer

    rng = np.random.default_rng(31)
    net = Network([300, 40, 3], ["relu", "softmax"], "cross_entropy", seed=32)
    other = net.copy()
    X, Y = (a.astype(np.float32) for a in data(rng, 64, 300, 3, "cross_entropy"))
    kernel = kernel_with_helper(net, 64)
    opt, opt2 = make_optimizer("momentum", lr=0.1), make_optimizer("momentum", lr=0.1)
    kernel.gradients(X, Y)
    thread, bound = kernel.pair.thread, kernel.pair.arrays
    for _ in range(6):  # alone and shared, alternately, at each site
        kernel.gradients(X, Y)
        grads = [g.copy() for g in kernel.dW + kernel.db]
        dW, db = other.gradients(X, Y)
        for a, b in zip(grads, dW + db):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        kernel.update(opt, net.weights + net.biases, kernel.dW + kernel.db)
        opt2.step(other.weights + other.biases, grads)
    assert kernel.pair.arrays is not bound and kernel.pair.thread is thread and thread.is_alive()
    kernel.close()
    assert not thread.is_alive()
    for a, b in zip(net.weights + net.biases, other.weights + other.biases):  # the same steps, bit for bit
        assert np.array_equal(a, b)


@needs_numba
def test_a_closed_sparse_kernel_can_be_used_again(alternate):
    rng = np.random.default_rng(17)
    net = Network([50, 8, 3], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=18)
    X, Y = data(rng, 64, 50, 3, "cross_entropy")
    kernel = sparse.SparseKernel(net, 64)
    for _ in range(3):
        for _ in range(4):  # alone and shared, alternately
            kernel.gradients(X, Y)
        kernel.close()
    dW, db = net.gradients(X, Y)
    assert_grads(kernel, dW, db, 1e-10, 1e-13)


@needs_numba
def test_sharing_the_first_layer_with_the_helper_changes_no_bit(alternate):
    rng = np.random.default_rng(19)
    net = Network([200, 30, 4], ["relu", "softmax"], "cross_entropy", seed=20)
    X, Y = data(rng, 96, 200, 4, "cross_entropy")
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    kernel = sparse.SparseKernel(net, 96)
    assert kernel.pair is not None or (os.cpu_count() or 1) == 1
    results = []
    for _ in range(4):  # alone, shared, alone, shared at each site (the fixture alternate)
        cost_sum, _ = kernel.gradients(X, Y)
        results.append((cost_sum, [g.copy() for g in kernel.dW + kernel.db]))
    kernel.close()
    for cost_sum, grads in results[1:]:
        assert cost_sum == results[0][0]
        for i, (a, b) in enumerate(zip(grads, results[0][1])):
            assert np.array_equal(a, b), f"grads[{i}]"


@needs_numba
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("out,cost", OUTPUTS)
def test_upper_layers_shared_with_the_helper_equal_autograd(alternate, monkeypatch, hidden, out, cost):
    monkeypatch.setattr(sparse, "PAIR_PRODUCT", 1)  # share every product above the first layer
    rng = np.random.default_rng(21)
    net = Network([40, 12, 9, 3], ["relu", hidden, out], cost, dtype="float64", seed=22)
    X, Y = data(rng, 64, 40, 3, cost)
    kernel = kernel_with_helper(net, 64)
    assert kernel.upper.tolist() == [False, False, True, True]
    assert kernel.small_products()  # both threads run BLAS: one BLAS thread each
    dW, db = oracle.gradients(net, X, Y, None)
    results = []
    for _ in range(6):  # each site alone and shared in turn (the fixture alternate)
        cost_sum, _ = kernel.gradients(X, Y)
        assert_grads(kernel, dW, db, 1e-9, 1e-12)
        results.append((cost_sum, [g.copy() for g in kernel.dW + kernel.db]))
    kernel.close()
    for cost_sum, grads in results[1:]:  # sharing changes no bit
        assert cost_sum == results[0][0]
        for i, (a, b) in enumerate(zip(grads, results[0][1])):
            assert np.array_equal(a, b), f"grads[{i}]"


@needs_numba
def test_upper_layers_over_several_chunks_sum_their_parts(monkeypatch):
    monkeypatch.setattr(sparse, "PAIR_PRODUCT", 1)
    rng = np.random.default_rng(23)
    net = Network([30, 10, 8, 4], ["tanh", "relu", "softmax"], "cross_entropy", dtype="float64", seed=24)
    m = CHUNK + 77
    X, Y = data(rng, m, 30, 4, "cross_entropy")
    kernel = sparse.SparseKernel(net, m)
    for _ in range(3):
        kernel.gradients(X, Y)
        dW, db = net.gradients(X, Y)
        assert_grads(kernel, dW, db, 1e-9, 1e-12)
    kernel.close()


@needs_numba
def test_without_one_blas_thread_the_upper_layers_stay_with_numpy(monkeypatch):
    monkeypatch.setattr(sparse, "PAIR_PRODUCT", 1)
    monkeypatch.setattr(sparse, "_ONE_BLAS", False)  # as without SciPy or threadpoolctl
    rng = np.random.default_rng(25)
    net = Network([40, 12, 9, 3], ["relu", "relu", "softmax"], "cross_entropy", dtype="float64", seed=26)
    X, Y = data(rng, 64, 40, 3, "cross_entropy")
    kernel = sparse.SparseKernel(net, 64)
    assert not kernel.upper.any()
    kernel.gradients(X, Y)
    dW, db = oracle.gradients(net, X, Y, None)
    assert_grads(kernel, dW, db, 1e-9, 1e-12)
    kernel.close()


@needs_numba
@pytest.mark.parametrize("name,options", [("momentum", {"momentum": 0.9}), ("nesterov", {}), ("sgd", {})])
def test_every_large_weight_update_shared_is_bit_identical(alternate, monkeypatch, name, options):
    monkeypatch.setattr(sparse, "PAIR_ENTRIES", 64)  # W^(2) and W^(3) are shared too
    net = Network([100, 30, 20, 3], ["relu", "relu", "softmax"], "cross_entropy", seed=28)
    assert_shared_update_is_the_optimizers_step(net, name, options, np.random.default_rng(27))


@needs_numba
@pytest.mark.parametrize("late", [False, True])
def test_many_shared_batches_race_nothing(monkeypatch, late):
    # The first layer's forward pass leaves the helper regrouping the nonzeros while the layers
    # above post their own commands: each batch must still get the reference's gradients, also
    # when the helper is late (asleep) and has not claimed the regrouping yet.
    import time

    from deltaprop.engine import _helper

    monkeypatch.setattr(sparse, "PAIR_PRODUCT", 1)
    if late:
        def start(self, cmd, rows):
            self.ctl[_helper.MODE] = _helper.NAP
            while not self.napping[0]:
                time.sleep(1e-4)
            _helper.post(self.ctl, cmd, 0, 0, 0, rows, 1)
            return True

        monkeypatch.setattr(_helper.Helper, "start", start)
    rng = np.random.default_rng(29)
    net = Network([60, 16, 12, 3], ["relu", "tanh", "softmax"], "cross_entropy", dtype="float64", seed=30)
    X, Y = data(rng, 512, 60, 3, "cross_entropy")
    kernel = kernel_with_helper(net, 64)
    for s in range(0, 512 * 3, 64):
        rows = np.arange(s, s + 64) % 512
        kernel.batch(X, Y, rows)
        dW, db = net.gradients(X[rows], Y[rows])
        assert_grads(kernel, dW, db, 1e-9, 1e-12)
    kernel.close()


@needs_numba
@pytest.mark.parametrize("product", [1, 1000])  # every layer shared; or all but the last (top_layer)
def test_finite_flags_an_overflowing_shared_upper_layer_gradient(monkeypatch, product):
    monkeypatch.setattr(sparse, "PAIR_PRODUCT", product)
    net = Network([2, 4, 4, 2], ["identity"] * 3, "quadratic", dtype="float32")
    net.weights = [np.eye(2, 4, dtype=np.float32), np.eye(4, dtype=np.float32) * np.float32(1e-30),
                   np.eye(4, 2, dtype=np.float32)]
    X = np.zeros((64, 2), np.float32)
    X[1:, 1] = 2.0
    Y = np.zeros((64, 2), np.float32)
    kernel = kernel_with_helper(net, 64)
    assert kernel.upper[2] and kernel.upper[3] == (product == 1) and kernel.fuse_top == (product != 1)
    kernel.gradients(X, Y)
    assert kernel.finite(1.0)
    # x_0 = 3e38 gives a^(2) = 3e8 (W^(2) = 1e-30 I), delta^(3) = a^(3) / 64 ~ 4.7e6 = delta^(2): only
    # dW^(2) = a^(1)T delta^(2) ~ 3e38 * 4.7e6 overflows, in a block the helper or this thread computed.
    X[0, 0] = 3e38
    with np.errstate(over="ignore", invalid="ignore"):
        cost_sum, _ = kernel.gradients(X, Y)
    assert np.isfinite(cost_sum) and np.isfinite(kernel.dW[0]).all() and np.isfinite(kernel.dW[2]).all()
    assert not np.isfinite(kernel.dW[1]).all()
    assert not kernel.finite(cost_sum)
    kernel.close()


@needs_numba
def test_each_call_site_starts_shared_and_tries_alone_on_a_schedule():
    # Hand-worked: shared for calls 1..31, alone for the try at calls 32 and 33. Alone is faster from call
    # 33 on (0.5 s against 1.0 s shared; 2.0 s before): alone from then on, trying sharing at calls 65 and
    # 66 (the interval back to 32 after the switch), then at 98 and 99 (twice as far: the try lost).
    from deltaprop.engine._helper import _Site

    site, ways = _Site(), []
    for call in range(1, 101):
        site.calls = call
        share = site.choose()
        ways.append(share)
        site.record(site.shared if share else site.alone, 1.0 if share else 2.0 if call < 33 else 0.5)
    alone = [call for call, share in enumerate(ways, start=1) if not share]
    assert alone == [32, 33, *range(34, 65), *range(67, 98), 100]


@needs_numba
@pytest.mark.parametrize("shared", [False, True])
def test_a_shared_layers_step_gives_delta_below_and_its_weight_gradient(alternate, monkeypatch, shared):
    # One step of a layer that shares its products: delta^(2) = (delta^(3) W^(3)T) * g_2'(z^(2)) here and
    # dW^(3) = a^(2)T delta^(3) in the helper (shared) or both here (alone): the chain rule either way.
    monkeypatch.setattr(sparse, "PAIR_PRODUCT", 1)
    monkeypatch.setattr(_helper_site(), "choose", lambda site: shared)
    rng = np.random.default_rng(33)
    net = Network([40, 12, 9, 3], ["relu", "tanh", "softmax"], "cross_entropy", dtype="float64", seed=34)
    X, Y = data(rng, 64, 40, 3, "cross_entropy")
    kernel = kernel_with_helper(net, 64)
    kernel.gradients(X, Y)
    D3, A2 = kernel.buf.delta[3].copy(), kernel.buf.a[2].copy()
    kernel.buf.delta[2].fill(np.nan)
    out = kernel.dW[2]  # the helper writes into the kernel's own dW^(3) (or its part of a chunk)
    out.fill(np.nan)
    kernel._shared_backward(3, 64, out)
    kernel.close()
    np.testing.assert_allclose(kernel.buf.delta[2], (D3 @ net.weights[2].T) * (1 - A2 ** 2), rtol=1e-12,
                               atol=1e-15, err_msg="delta^(2)")  # tanh' = 1 - a^2
    np.testing.assert_allclose(out, A2.T @ D3, rtol=1e-12, atol=1e-15, err_msg="dW^(3)")


def _helper_site():
    from deltaprop.engine import _helper

    return _helper._Site


# ----- each rule once: the fast variants against the one place ------------------------------------------
@needs_numba
@pytest.mark.parametrize("n_L", [1, 2, 5])
def test_the_compiled_accuracy_count_is_network_classes(n_L):
    from deltaprop.engine import _loops
    from deltaprop.engine.reference import count_correct

    rng = np.random.default_rng(40)
    a = rng.random((200, n_L))
    a[:20] = 0.5  # ties and the threshold itself
    Y = np.eye(n_L)[rng.integers(0, n_L, 200)] if n_L > 1 else rng.integers(0, 2, (200, 1)).astype(float)
    compiled = sum(_loops._correct(a[i], Y[i]) for i in range(200))
    assert compiled == count_correct(a, Y) > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fast_sigmoids_equal_the_activation(dtype):
    from deltaprop.activations import Sigmoid
    from deltaprop.engine._inplace import inplace_sigmoid

    z = np.concatenate([np.linspace(-40, 40, 801), [-1e4, -700.0, 0.0, 700.0, 1e4]]).astype(dtype)
    want = Sigmoid().value(z)
    eps = np.finfo(dtype).eps
    assert_close("sigma(z) in place", inplace_sigmoid(z.copy()), want, 8 * eps, 2 * eps)
    if support.available():
        from deltaprop.engine import _loops

        compiled = np.array([_loops._hidden(v, 2) for v in z.astype(np.float64)])
        assert_close("sigma(z) compiled", compiled, want.astype(np.float64), 8 * eps, 2 * eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes,m", [([784, 256, 10], 100), ([6, 5, 3], 37), ([1, 1], 1), ([3, 17, 1], 16)])
def test_compiled_rowwise_forward_is_the_networks_rowwise_forward_bit_for_bit(dtype, sizes, m):
    # engine.forward_rowwise runs the products a^(l-1) W^(l) compiled; it must give net.forward(X, rowwise=True)'s
    # bits (each row summed j = 0..n-1, every product and sum rounded), and so stay the same under row reorderings.
    if not support.available():
        pytest.skip("numba is not installed: forward_rowwise is net.forward(X, rowwise=True) itself")
    from deltaprop.engine import forward_rowwise

    rng = np.random.default_rng(m)
    acts = ["relu"] * (len(sizes) - 2) + ["softmax" if sizes[-1] > 1 else "sigmoid"]
    net = Network(sizes, acts, "cross_entropy" if sizes[-1] > 1 else "binary_cross_entropy", dtype=dtype, seed=2)
    X = rng.standard_normal((m, sizes[0])).astype(dtype)
    X[rng.random(X.shape) < 0.5] = 0.0  # zeros (and negative zeros below) are summed like any number
    X[0, 0] = -0.0
    A = forward_rowwise(net, X)
    want = net.forward(X, rowwise=True)
    assert A.shape == (m, sizes[-1]) and A.dtype == dtype
    np.testing.assert_array_equal(A.view(f"u{A.itemsize}"), want.view(f"u{A.itemsize}"))  # bits, signed zeros too
    perm = rng.permutation(m)
    np.testing.assert_array_equal(forward_rowwise(net, X[perm]), A[perm])
    np.testing.assert_array_equal(forward_rowwise(net, X[m - 1:]), A[m - 1:])
