"""Each cost's value and grad_a against hand arithmetic, central differences, autograd and PyTorch / scikit-learn."""

import re

import numpy as np
import pytest

import oracle
from deltaprop import COSTS, Network, get_cost, gradcheck


def points(name, rng, m=5, n=3):
    """(a, y) of shape (m, n) in each cost's domain, with every a_j - y_j away from 0 and +-1 (the kinks)."""
    if get_cost(name).probability:
        a = rng.uniform(0.05, 0.95, (m, n))
        y = np.eye(n)[rng.integers(0, n, m)]
        return a, y
    if get_cost(name).positive:
        return rng.uniform(0.1, 5.0, (m, n)), rng.integers(0, 6, (m, n)).astype(float)
    a = 3 * rng.standard_normal((m, n))
    r = rng.uniform(0.1, 0.9, (m, n)) * rng.choice([-1, 1], (m, n)) + rng.choice([0, -2, 2], (m, n))
    return a, a - r


def central_differences(c, a, y, eps=1e-6):
    g = np.empty_like(a)
    for j in range(a.shape[1]):
        e = np.zeros_like(a)
        e[:, j] = eps
        g[:, j] = (c.value(a + e, y) - c.value(a - e, y)) / (2 * eps)
    return g


@pytest.mark.parametrize("name", list(COSTS))
def test_grad_a_matches_central_differences_and_autograd(name):
    from autograd import grad

    c = get_cost(name)
    a, y = points(name, np.random.default_rng(0))
    v, g = c.value(a, y), c.grad_a(a, y)
    assert v.shape == (5,) and g.shape == (5, 3)
    np.testing.assert_allclose(g, central_differences(c, a, y), rtol=1e-6, atol=1e-8, err_msg=f"{name} grad_a vs fd")
    np.testing.assert_allclose(v, oracle.C[name](a, y), rtol=1e-13, atol=1e-14, err_msg=f"{name} value vs autograd")
    auto = grad(lambda a_: oracle.C[name](a_, y).sum())(a)  # rows are independent: d(sum c)/da = dc/da
    np.testing.assert_allclose(g, auto, rtol=1e-12, atol=1e-14, err_msg=f"{name} grad_a vs autograd")


def test_hand_worked_values():
    # mae: |0.5 - 1| + |-2 - 1| = 0.5 + 3 = 3.5; grad = sign(a - y) = [-1, -1]
    mae = get_cost("mae")
    a, y = np.array([[0.5, -2.0]]), np.array([[1.0, 1.0]])
    assert mae.value(a, y)[0] == 3.5 and mae.grad_a(a, y).tolist() == [[-1.0, -1.0]]
    # huber, r = a - y: r = 0.5 -> 1/2 0.25 = 0.125; r = 3 -> 3 - 1/2 = 2.5; r = -2 -> 2 - 1/2 = 1.5
    hub = get_cost("huber")
    a, y = np.array([[0.5, 3.0, -2.0]]), np.zeros((1, 3))
    assert hub.value(a, y)[0] == 0.125 + 2.5 + 1.5
    assert hub.grad_a(a, y).tolist() == [[0.5, 1.0, -1.0]]  # clip(r, -1, 1)
    # huber at |r| = 1: both pieces give 1/2 (continuous), gradient 1
    assert hub.value(np.array([[1.0]]), np.zeros((1, 1)))[0] == 0.5
    # poisson deviance 2 [y ln(y/a) - (y - a)]: y = 0, a = 2 -> 2 (0 - 0 + 2) = 4; y = a = 2 -> 0;
    # y = 1, a = e -> 2 (ln(1/e) - 1 + e) = 2 (e - 2)
    poi = get_cost("poisson")
    a, y = np.array([[2.0, 2.0, np.e]]), np.array([[0.0, 2.0, 1.0]])
    np.testing.assert_allclose(poi.value(a, y), [4.0 + 0.0 + 2 * (np.e - 2)], rtol=1e-15)
    np.testing.assert_allclose(poi.grad_a(a, y), [[2.0, 0.0, 2 * (1 - 1 / np.e)]], rtol=1e-15)


def test_the_subgradient_at_a_equals_y_is_zero():
    a = np.array([[1.0, -2.0, 0.0]])
    assert get_cost("mae").grad_a(a, a.copy()).tolist() == [[0.0, 0.0, 0.0]]
    assert get_cost("huber").grad_a(a, a.copy()).tolist() == [[0.0, 0.0, 0.0]]
    assert get_cost("mae").value(a, a.copy())[0] == 0.0


def test_mae_and_huber_match_pytorch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    a, y = points("huber", np.random.default_rng(3), m=7, n=4)
    for name, loss in (("mae", lambda u, v: F.l1_loss(u, v, reduction="none")),
                       ("huber", lambda u, v: F.huber_loss(u, v, reduction="none", delta=1.0))):
        t = torch.tensor(a, requires_grad=True)
        per_sample = loss(t, torch.tensor(y)).sum(dim=1)  # (m,)
        per_sample.sum().backward()
        c = get_cost(name)
        assert c.value(a, y).shape == tuple(per_sample.shape)
        np.testing.assert_allclose(c.value(a, y), per_sample.detach().numpy(), rtol=1e-14, err_msg=name)
        np.testing.assert_allclose(c.grad_a(a, y), t.grad.numpy(), rtol=1e-14, atol=0, err_msg=f"{name} grad")


def test_poisson_matches_scikit_learn_and_pytorch():
    torch = pytest.importorskip("torch")
    from sklearn.metrics import mean_poisson_deviance

    rng = np.random.default_rng(4)
    a, y = rng.uniform(0.1, 6.0, (50, 1)), rng.poisson(2.0, (50, 1)).astype(float)
    assert (y == 0).any()  # 0 ln 0 is exercised
    c = get_cost("poisson")
    np.testing.assert_allclose(c.value(a, y).mean(), mean_poisson_deviance(y[:, 0], a[:, 0]), rtol=1e-13)
    # the deviance is twice PyTorch's negative log-likelihood a - y ln a, shifted to 0 at a = y
    t = torch.tensor(a, requires_grad=True)
    nll = torch.nn.functional.poisson_nll_loss(t, torch.tensor(y), log_input=False, full=False, eps=0.0,
                                               reduction="sum")
    nll.backward()
    np.testing.assert_allclose(c.grad_a(a, y), 2 * t.grad.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("out,cost", [("identity", "mae"), ("tanh", "mae"), ("identity", "huber"),
                                      ("softplus", "huber"), ("softplus", "poisson"), ("sigmoid", "poisson"),
                                      ("softmax", "poisson")])
def test_networks_with_the_new_costs_match_autograd_and_finite_differences(out, cost):
    rng = np.random.default_rng(5)
    net = Network([3, 6, 3], ["tanh", out], cost, dtype="float64", seed=2)
    X = 2 * rng.standard_normal((7, 3))
    aL = net.forward(X)
    Y = (rng.integers(0, 4, (7, 3)).astype(float) if cost == "poisson"
         else aL + rng.uniform(0.1, 0.9, aL.shape) * rng.choice([-1, 1], aL.shape) + rng.choice([0, -3, 3], aL.shape))
    w = rng.random(7) + 0.1
    for sw in (None, w):
        dW, db = net.gradients(X, Y, sample_weight=sw)
        oW, ob = oracle.gradients(net, X, Y, sw)
        for l in range(net.L):
            assert dW[l].shape == oW[l].shape
            np.testing.assert_allclose(dW[l], oW[l], rtol=1e-10, atol=1e-13, err_msg=f"dW[{l + 1}] {out}+{cost}")
            np.testing.assert_allclose(db[l], ob[l], rtol=1e-10, atol=1e-13, err_msg=f"db[{l + 1}] {out}+{cost}")
    assert gradcheck(net, X, Y) <= 1e-6


def test_poisson_refuses_negative_predictions_and_targets():
    c = get_cost("poisson")
    a, y = np.array([[-1.0, 2.0]]), np.array([[1.0, 1.0]])
    with pytest.raises(ValueError, match=re.escape("cost 'poisson' needs predictions a >= 0 (a positive output "
                                                   "activation: softplus, sigmoid or softmax); got a = -1")):
        c.value(a, y)
    net = Network([2, 2], ["softplus"], "poisson", dtype="float64", seed=0)
    snap = [p.copy() for p in net.weights + net.biases]
    with pytest.raises(ValueError, match=re.escape("cost 'poisson' needs count targets y >= 0; got y = -2")):
        net.gradients([[1.0, 2.0]], [[1.0, -2.0]])
    assert all(np.array_equal(p, q) for p, q in zip(net.weights + net.biases, snap))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_poisson_stays_finite_when_the_output_underflows_to_zero(dtype):
    c = get_cost("poisson")
    a, y = np.array([[0.0, 1e-30, 3.0]], dtype=dtype), np.array([[5.0, 0.0, 0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v, g = c.value(a, y), c.grad_a(a, y)
    assert v.shape == (1,) and g.shape == (1, 3)
    assert np.isfinite(v).all() and np.isfinite(g).all()
    assert g[0, 0] < 0 and g[0, 2] == 2  # pulls a up towards y = 5; 2 (1 - 0/3) = 2


def test_poisson_training_lowers_the_deviance():
    from deltaprop import train

    rng = np.random.default_rng(6)
    X = rng.standard_normal((200, 2))
    y = rng.poisson(np.exp(0.8 * X[:, :1] - 0.5 * X[:, 1:]))  # counts, (200, 1)
    net = Network([2, 8, 1], ["tanh", "softplus"], "poisson", dtype="float64", seed=0)
    before = net.cost(X, y)
    history = train(net, X, y, epochs=30, batch_size=20, optimizer="adam", lr=0.02, seed=0)
    assert history.train_cost[-1] < 0.7 * before
    assert net.cost(X, y) < 0.7 * before


# ----- fused output deltas on every accepted target ----------------------------------------------------
# Cross-entropy targets are accepted when each row sums to 1 within 1e-3, and binary cross-entropy
# targets anywhere in [0, 1]. For c = sum_j y_j (lse(z) - z_j), dc/dz_j = a_j sum_k y_k - y_j: the
# fused a - y holds only for rows that sum to exactly 1. Every path must give the gradient of the cost
# it reports, checked against autograd (tests/oracle.py) and central differences.
FUSED = [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy")]


def accepted_targets(rng, m, n, cost):
    """Rows of 0.333 (sum 0.999) and probability rows scaled by 1 -+ 9e-4; soft targets for binary."""
    if cost == "cross_entropy":
        Y = rng.dirichlet(np.ones(n), m) * rng.choice([1 - 9e-4, 1 + 9e-4], (m, 1))
        Y[0] = 0.333
        return Y
    return rng.random((m, n))


@pytest.mark.parametrize("out,cost", FUSED)
def test_the_fused_delta_is_the_cost_gradient_for_rows_not_summing_to_one(out, cost):
    from deltaprop.activations import get_activation
    from deltaprop.costs import output_cost, output_delta

    rng = np.random.default_rng(12)
    Y, z = accepted_targets(rng, 6, 3, cost), 2 * rng.standard_normal((6, 3))
    g, c = get_activation(out), get_cost(cost)
    delta = output_delta(g, c, z, g.value(z), Y)
    fd = np.empty_like(z)
    for j in range(3):
        e = np.zeros_like(z)
        e[:, j] = 1e-6
        fd[:, j] = (output_cost(g, c, z + e, g.value(z + e), Y) - output_cost(g, c, z - e, g.value(z - e), Y)) / 2e-6
    assert delta.shape == (6, 3)
    np.testing.assert_allclose(delta, fd, rtol=1e-7, atol=1e-9, err_msg="delta^(L) vs central differences")
    if cost == "cross_entropy":  # by hand: row 0 is (0.333, 0.333, 0.333), so delta = 0.999 a - 0.333
        np.testing.assert_allclose(delta[0], 0.999 * g.value(z)[:1][0] - 0.333, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("out,cost", FUSED)
def test_gradcheck_is_exact_on_rows_not_summing_to_one(out, cost):
    rng = np.random.default_rng(13)
    net = Network([4, 5, 3], ["tanh", out], cost, dtype="float64", seed=1)
    X, Y = rng.standard_normal((7, 4)), accepted_targets(rng, 7, 3, cost)
    assert gradcheck(net, X, Y) < 1e-7
    assert gradcheck(net, X, np.full((7, 3), 0.333)) < 1e-7  # the rows: 3.2e-3 before


def kernel_paths():
    from deltaprop.engine import support

    paths = ["reference", "numpy"]
    return paths + (["compiled", "per-sample"] if support.available() else [])


@pytest.mark.parametrize("path", kernel_paths())
@pytest.mark.parametrize("sizes", [[5, 4, 3], [5, 3]], ids=["L2", "L1"])
@pytest.mark.parametrize("out,cost", FUSED)
def test_every_kernel_gives_autograds_gradient_on_accepted_targets(path, sizes, out, cost):
    from deltaprop.engine import BatchKernel, DenseKernel, SampleLoop, SparseKernel, make_kernel

    rng = np.random.default_rng(14)
    L = len(sizes) - 1
    net = Network(sizes, ["relu"] * (L - 1) + [out], cost, dtype="float64", seed=2)
    X, Y = rng.standard_normal((9, 5)), accepted_targets(rng, 9, 3, cost)
    X[rng.random(X.shape) < 0.5] = 0.0  # zeros, as the compiled first layer skips them
    w = rng.random(9) + 0.1
    if path == "per-sample":  # one step of the compiled loop on row 4: W <- W - eta dc/dW of that row
        before = net.copy()
        dW, db = oracle.gradients(before, X[4:5], Y[4:5])
        _, _, done = SampleLoop(net).run(X, Y, np.array([4]), 0.5)
        assert done == 1
        for name, p, p0, g in zip(["W"] * L + ["b"] * L, net.weights + net.biases, before.weights + before.biases,
                                  list(dW) + list(db)):
            np.testing.assert_allclose((p0 - p) / 0.5, g, rtol=1e-9, atol=1e-12, err_msg=f"{name} step")
        return
    Kernel = {"reference": BatchKernel, "numpy": DenseKernel}.get(path) or SparseKernel
    idx = np.array([7, 0, 3, 5, 1, 8])
    kind = {"numpy": "numpy", "compiled": "compiled"}.get(path, "reference")
    for weights, call in [(None, "gradients"), (w, "gradients"), (None, "batch"), (w, "batch")]:
        if call == "gradients":
            kernel = Kernel(net, 9)
            kernel.gradients(X, Y, weights)
            dW, db = oracle.gradients(net, X, Y, weights)
        else:  # as train makes and calls it: a kernel for these targets, then batches of their rows
            kernel = make_kernel(net, 9, X, Y, kind=kind)
            assert type(kernel) is Kernel
            kernel.batch(X, Y, idx, weights)
            dW, db = oracle.gradients(net, X[idx], Y[idx], None if weights is None else weights[idx])
        for l in range(L):
            assert kernel.dW[l].shape == dW[l].shape
            np.testing.assert_allclose(kernel.dW[l], dW[l], rtol=1e-9, atol=1e-12, err_msg=f"{path} dW[{l + 1}]")
            np.testing.assert_allclose(kernel.db[l], db[l], rtol=1e-9, atol=1e-12, err_msg=f"{path} db[{l + 1}]")
