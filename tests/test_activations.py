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
