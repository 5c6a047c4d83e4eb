"""The engine's in-place layer helpers against the plain expressions of ``activations`` and ``costs``, and the
one-hot decision that ``make_kernel`` takes once for the NumPy kernel."""

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.activations import ACTIVATIONS
from deltaprop.engine import DenseKernel, make_kernel
from deltaprop.engine._inplace import (Buffers, inplace_affine, inplace_hidden, inplace_hidden_delta,
                                       inplace_output, inplace_sigmoid, sigmoid_slope)

HIDDEN = ["identity", "relu", "sigmoid", "tanh"]


def assert_close(name, got, want, rtol=1e-12, atol=1e-15):
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)


def test_buffers_have_a_row_per_chunk_row_and_a_column_per_unit():
    # sizes=[5, 4, 3]: L = 2, a[1] is (rows, 4), a[2], zL and delta[2] are (rows, 3); masks for hidden l only
    buf = Buffers(Network([5, 4, 3], ["relu", "softmax"], "cross_entropy", dtype="float32"), 7)
    assert {l: A.shape for l, A in buf.a.items()} == {1: (7, 4), 2: (7, 3)}
    assert buf.zL.shape == (7, 3) and buf.zL.dtype == np.float32
    assert {l: D.shape for l, D in buf.delta.items()} == {1: (7, 4), 2: (7, 3)}
    assert {l: M.shape for l, M in buf.mask.items()} == {1: (7, 4)} and buf.mask[1].dtype == bool


@pytest.mark.parametrize("relu", [False, True])
def test_inplace_affine_is_a_W_plus_b(relu):
    rng = np.random.default_rng(0)
    a_prev, W, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    out = np.full((6, 3), np.nan)
    got = inplace_affine(a_prev, W, b, out, relu)
    want = a_prev @ W + b
    assert got is out
    assert_close("z", got, np.maximum(want, 0) if relu else want)


@pytest.mark.parametrize("name", HIDDEN)
def test_inplace_hidden_and_its_delta_are_g_and_grad_times_g_prime(name):
    rng = np.random.default_rng(1)
    g = ACTIVATIONS[name]()
    z = rng.standard_normal((8, 4)) * 3
    z[0, 0] = 0.5  # (a ReLU kink at 0 is never drawn)
    a = inplace_hidden(g, z.copy())
    assert_close(f"{name}(z)", a, g.value(z), rtol=1e-14, atol=2 * np.finfo(np.float64).eps)
    grad = rng.standard_normal((8, 4))
    mask, tmp = np.empty((10, 4), bool), np.full((10, 4), np.nan)  # scratch with more rows than the chunk
    got = grad.copy()
    assert inplace_hidden_delta(g, a, got, mask, tmp) is got
    assert_close(f"delta through {name}", got, grad * g.derivative(z), rtol=1e-12)


def test_sigmoid_in_place_and_its_slope():
    z = np.linspace(-30, 30, 121)
    a = ACTIVATIONS["sigmoid"]().value(z)
    eps = np.finfo(np.float64).eps
    assert_close("sigma(z)", inplace_sigmoid(z.copy()), a, rtol=8 * eps, atol=2 * eps)
    out = np.empty_like(z)
    assert sigmoid_slope(a, out) is out
    assert_close("a (1 - a)", out, a * (1 - a))


@pytest.mark.parametrize("name", ["softmax", "sigmoid", "identity"])
def test_inplace_output_is_g_L_and_leaves_z(name):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 3)) * 10
    z[0] = [800.0, 799.0, -800.0]  # softmax shifts by the row maximum: no overflow
    z0, a = z.copy(), np.full((5, 3), np.nan)
    got = inplace_output(ACTIVATIONS[name](), z, a)
    assert got is a and np.array_equal(z, z0)
    eps = np.finfo(np.float64).eps  # sigma(z) = (1 + tanh(z/2)) / 2 loses relative precision below eps
    assert_close(f"{name}(z)", got, ACTIVATIONS[name]().value(z0), rtol=8 * eps, atol=2 * eps)


def rows_and_targets(rng, m, one_hot):
    X = rng.standard_normal((m, 6))
    Y = np.eye(4)[rng.integers(0, 4, m)] if one_hot else rng.dirichlet(np.ones(4), m)
    return X, Y


@pytest.mark.parametrize("one_hot", [True, False])
def test_make_kernel_skips_the_row_sums_only_for_rows_that_sum_to_exactly_one(one_hot):
    rng = np.random.default_rng(3)
    net = Network([6, 5, 4], ["tanh", "softmax"], "cross_entropy", dtype="float64", seed=4)
    X, Y = rows_and_targets(rng, 40, one_hot)
    if not one_hot:
        Y[0] = [0.2, 0.2, 0.2, 0.3995]  # accepted (within 1e-3 of 1), but a^(L) - y would be wrong here
    kernel = make_kernel(net, 16, X, Y, kind="numpy")
    assert type(kernel) is DenseKernel and kernel.unit_rows == one_hot
    idx = np.arange(16)
    kernel.batch(X, Y, idx)
    dW, db = net.gradients(X[idx], Y[idx])  # the chain rule with a^(L) sum_j y_j - y
    for l in range(2):
        assert_close(f"dW[{l + 1}]", kernel.dW[l], dW[l], rtol=1e-12, atol=1e-15)
        assert_close(f"db[{l + 1}]", kernel.db[l], db[l], rtol=1e-12, atol=1e-15)


def test_the_one_hot_shortcut_changes_no_bit():
    # a^(L) * 1 - y is a^(L) - y exactly: the kernel that skips the row sums gives the same bits.
    rng = np.random.default_rng(5)
    net = Network([6, 5, 4], ["relu", "softmax"], "cross_entropy", dtype="float32", seed=6)
    X, Y = rows_and_targets(rng, 50, True)
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    grads = []
    for unit in (False, True):
        kernel = DenseKernel(net, 50, one_hot_targets=unit)
        cost_sum, correct = kernel.gradients(X, Y)
        grads.append((cost_sum, correct, [g.copy() for g in kernel.dW + kernel.db]))
    assert grads[0][:2] == grads[1][:2]
    assert all(np.array_equal(a, b) for a, b in zip(grads[0][2], grads[1][2]))
