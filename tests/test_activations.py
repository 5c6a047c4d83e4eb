"""Each activation's derivative against central differences, and the seeds' slips pinned."""

import numpy as np
import pytest

from deltaprop import ACTIVATIONS, get_activation

Z = np.array([[-30.0, -2.0, -0.5, -1e-3, 1e-3, 0.5, 2.0, 30.0]])


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "softmax"])
def test_derivative_matches_central_differences(name):
    g = get_activation(name)
    eps = 1e-6
    fd = (g.value(Z + eps) - g.value(Z - eps)) / (2 * eps)
    d = g.derivative(Z)
    assert d.shape == Z.shape
    np.testing.assert_allclose(d, fd, rtol=1e-6, atol=1e-9, err_msg=f"{name}'")
    a = g.value(Z)
    np.testing.assert_allclose(g.derivative_from(Z, a), d, rtol=1e-12, atol=1e-15, err_msg=f"{name}' from a")


def test_relu_derivative_is_the_step_not_seed_002s_max0s():
    g = get_activation("relu")
    z = np.array([[2.0, -3.0, 0.5]])
    assert g.derivative(z).tolist() == [[1.0, 0.0, 1.0]]
    seed_002 = np.maximum(0, z)  # what seed 002 writes for g'(s)
    assert not np.allclose(g.derivative(z), seed_002)  # at z = 2 it gives 2, the derivative is 1


def test_sigmoid_derivative_is_s_times_one_minus_s_not_seed_003s_form():
    g = get_activation("sigmoid")
    z = np.array([[0.0, 1.0, -2.0]])
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(g.derivative(z), s * (1 - s), rtol=1e-14)
    seed_003 = g.derivative(z) * (1 - s)  # sigma'(z)(1 - sigma(z)): the derivative applied twice
    assert abs(g.derivative(z)[0, 0] - 0.25) < 1e-15 and abs(seed_003[0, 0] - 0.125) < 1e-15


def test_softmax_jacobian_and_jvp():
    g = get_activation("softmax")
    rng = np.random.default_rng(0)
    z, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    eps = 1e-6
    J = g.jacobian(z)
    assert J.shape == (3, 4, 4)
    for k in range(4):
        e = np.zeros(4)
        e[k] = eps
        np.testing.assert_allclose(J[:, :, k], (g.value(z + e) - g.value(z - e)) / (2 * eps), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(g.jvp(z, v), np.einsum("mij,mj->mi", J, v), rtol=1e-12, atol=1e-15)
    with pytest.raises(TypeError, match="no elementwise derivative"):
        g.derivative(z)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_values_finite_at_extremes(name):
    g = get_activation(name)
    z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = g.value(z)
    assert np.isfinite(a).all() and a.dtype == np.float32
    if name == "sigmoid":
        assert a[0, 0] == 0.0 and a[0, -1] == 1.0


# ----- the further built-ins: elu, selu, gelu, swish/silu, hard_sigmoid ------------------------------
ELEMENTWISE = [n for n in ACTIVATIONS if n != "softmax"]
NEW = ["elu", "selu", "gelu", "swish", "silu", "hard_sigmoid"]
# moderate z away from the kinks (0 for the ReLU family, +-3 for hard_sigmoid)
ZGRID = np.array([[-6.0, -2.9, -1.3, -0.4, -1e-3, 1e-3, 0.4, 1.3, 2.9, 6.0]])


def test_hand_worked_values_of_the_new_activations():
    from deltaprop.activations_extra import SELU

    # elu(-1) = e^-1 - 1; elu(2) = 2; elu'(-1) = e^-1; elu'(2) = 1
    z = np.array([[-1.0, 2.0]])
    elu = get_activation("elu")
    np.testing.assert_allclose(elu.value(z), [[np.exp(-1) - 1, 2.0]], rtol=1e-15)
    np.testing.assert_allclose(elu.derivative(z), [[np.exp(-1), 1.0]], rtol=1e-15)
    # selu(1) = lambda; selu(z) -> -lambda alpha = -1.7580993408473766 as z -> -inf
    selu = get_activation("selu")
    assert SELU.scale == 1.0507009873554805 and SELU.alpha == 1.6732632423543772
    np.testing.assert_allclose(selu.value(np.array([[1.0, -50.0]])), [[1.0507009873554805, -1.7580993408473766]],
                               rtol=1e-15)
    # gelu(0) = 0, gelu'(0) = 1/2 (the tanh term vanishes and z = 0 kills the second term)
    gelu = get_activation("gelu")
    assert gelu.value(np.array([[0.0]]))[0, 0] == 0.0 and gelu.derivative(np.array([[0.0]]))[0, 0] == 0.5
    # swish(0) = 0 * 1/2 = 0, swish'(0) = sigma(0) (1 + 0) = 1/2; swish(2) = 2 sigma(2)
    sw = get_activation("swish")
    np.testing.assert_allclose(sw.value(np.array([[0.0, 2.0]])), [[0.0, 2 / (1 + np.exp(-2))]], rtol=1e-15)
    assert sw.derivative(np.array([[0.0]]))[0, 0] == 0.5
    # hard_sigmoid: clip(z/6 + 1/2, 0, 1): -4 -> 0, -3 -> 0, 0 -> 1/2, 1.5 -> 3/4, 3 -> 1, 4 -> 1
    hs = get_activation("hard_sigmoid")
    z = np.array([[-4.0, -3.0, 0.0, 1.5, 3.0, 4.0]])
    np.testing.assert_allclose(hs.value(z), [[0.0, 0.0, 0.5, 0.75, 1.0, 1.0]], rtol=0, atol=1e-16)
    np.testing.assert_allclose(hs.derivative(z), [[0.0, 0.0, 1 / 6, 1 / 6, 0.0, 0.0]], rtol=0, atol=1e-16)
    assert hs.probability and not hs.positive


def test_swish_and_silu_are_one_function_under_two_names():
    sw, si = get_activation("swish"), get_activation("silu")
    assert (sw.name, si.name) == ("swish", "silu")
    assert np.array_equal(sw.value(ZGRID), si.value(ZGRID))
    assert np.array_equal(sw.derivative(ZGRID), si.derivative(ZGRID))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_value_and_derivative_match_autograd(name):
    import oracle
    from autograd import elementwise_grad

    g = get_activation(name)
    a, d = g.value(ZGRID), g.derivative(ZGRID)
    assert a.shape == ZGRID.shape and d.shape == ZGRID.shape
    np.testing.assert_allclose(a, oracle.G[name](ZGRID), rtol=1e-13, atol=1e-15, err_msg=f"{name}(z)")
    np.testing.assert_allclose(d, elementwise_grad(oracle.G[name])(ZGRID), rtol=1e-12, atol=1e-15,
                               err_msg=f"{name}'(z)")


TORCH = {  # deltaprop name -> torch.nn.functional call
    "elu": lambda F, t: F.elu(t, alpha=1.0), "selu": lambda F, t: F.selu(t),
    "gelu": lambda F, t: F.gelu(t, approximate="tanh"), "swish": lambda F, t: F.silu(t),
    "silu": lambda F, t: F.silu(t), "hard_sigmoid": lambda F, t: F.hardsigmoid(t),
    "softplus": lambda F, t: F.softplus(t), "sigmoid": lambda F, t: t.sigmoid(),
}


@pytest.mark.parametrize("name", list(TORCH))
def test_value_and_derivative_match_pytorch(name):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    g = get_activation(name)
    t = torch.tensor(ZGRID, dtype=torch.float64, requires_grad=True)
    out = TORCH[name](F, t)
    out.sum().backward()
    a, d = g.value(ZGRID), g.derivative(ZGRID)
    assert a.shape == tuple(out.shape)
    np.testing.assert_allclose(a, out.detach().numpy(), rtol=1e-13, atol=1e-15, err_msg=f"{name}(z) vs torch")
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32 even in float64
    rtol = 1e-7 if name == "hard_sigmoid" else 1e-12
    np.testing.assert_allclose(d, t.grad.numpy(), rtol=rtol, atol=1e-15, err_msg=f"{name}'(z) vs torch")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_value_and_derivative_finite_at_1e4(name, dtype):
    g = get_activation(name)
    z = np.array([[-1e4, -100.0, -1e-3, 0.0, 1e-3, 100.0, 1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a, d = g.value(z), g.derivative(z)
        d_from = g.derivative_from(z, a)
    for what, x in (("value", a), ("derivative", d), ("derivative_from", d_from)):
        assert x.shape == z.shape and x.dtype == dtype, f"{name} {what}: {x.shape} {x.dtype}"
        assert np.isfinite(x).all(), f"{name} {what} not finite at |z| = 1e4: {x}"
    # the limits: g(1e4) is 1e4 for the ReLU-like units, 1 for the sigmoids
    limit = {"elu": 1e4, "selu": 1.0507009873554805e4, "gelu": 1e4, "swish": 1e4, "silu": 1e4, "hard_sigmoid": 1.0}
    if name in limit:
        np.testing.assert_allclose(a[0, -1], limit[name], rtol=1e-6)


@pytest.mark.parametrize("hidden", NEW)
def test_networks_with_the_new_activations_match_autograd_and_finite_differences(hidden):
    import oracle
    from deltaprop import Network, gradcheck

    rng = np.random.default_rng(0)
    net = Network([3, 5, 4, 2], [hidden, hidden, "identity"], "quadratic", dtype="float64", seed=1)
    net.biases = [0.1 * rng.standard_normal(b.shape) for b in net.biases]  # z off the kinks
    X, Y = 2 * rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    dW, db = net.gradients(X, Y)
    oW, ob = oracle.gradients(net, X, Y)
    for l in range(net.L):
        assert dW[l].shape == oW[l].shape and db[l].shape == ob[l].shape
        np.testing.assert_allclose(dW[l], oW[l], rtol=1e-10, atol=1e-13, err_msg=f"dW[{l + 1}] ({hidden})")
        np.testing.assert_allclose(db[l], ob[l], rtol=1e-10, atol=1e-13, err_msg=f"db[{l + 1}] ({hidden})")
    assert gradcheck(net, X, Y) <= 1e-6


def test_hard_sigmoid_output_feeds_binary_cross_entropy():
    import oracle
    from deltaprop import Network

    rng = np.random.default_rng(1)
    net = Network([3, 4, 2], ["tanh", "hard_sigmoid"], "binary_cross_entropy", dtype="float64", seed=0)
    X, Y = rng.standard_normal((5, 3)), rng.random((5, 2))
    assert net.is_classifier
    a = net.forward(X)
    assert ((a > 0) & (a < 1)).all()  # inside the linear part, where the oracle's log is finite
    dW, db = net.gradients(X, Y)
    oW, ob = oracle.gradients(net, X, Y)
    for l in range(2):
        np.testing.assert_allclose(dW[l], oW[l], rtol=1e-10, atol=1e-13, err_msg=f"dW[{l + 1}]")
        np.testing.assert_allclose(db[l], ob[l], rtol=1e-10, atol=1e-13, err_msg=f"db[{l + 1}]")
