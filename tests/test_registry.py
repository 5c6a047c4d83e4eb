"""Custom activations and costs: checked on arrival (seeds 002 and 003's slips refused), then usable everywhere."""

import copy
import json
import math
import re

import autograd.numpy as anp
import numpy as np
import pytest

import oracle
from deltaprop import (ACTIVATIONS, COSTS, Activation, Cost, Network, get_activation, gradcheck, load,
                       register_activation, register_cost, unregister_activation, unregister_cost)
from deltaprop.activations import Softmax
from deltaprop.registry import verify_activation, verify_cost


@pytest.fixture(autouse=True)
def registries():
    """Every test leaves ACTIVATIONS and COSTS exactly as it found them."""
    before = dict(ACTIVATIONS), dict(COSTS)
    yield
    for registry, saved in zip((ACTIVATIONS, COSTS), before):
        registry.clear()
        registry.update(saved)


def softsign(z):
    return z / (1 + np.abs(z))


def softsign_prime(z):
    return 1 / (1 + np.abs(z)) ** 2


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def log_cosh(a, y):
    return np.log(np.cosh(a - y)).sum(axis=1)


def log_cosh_grad(a, y):
    return np.tanh(a - y)


def registry_state():
    return dict(ACTIVATIONS), dict(COSTS)


# ----- the seeds' slips are refused, correct derivatives (kinks included) accepted -------------------------
def test_seed_002_relu_derivative_is_refused_showing_z_2_should_be_1_was_2():
    before = registry_state()
    with pytest.raises(ValueError) as info:
        register_activation("relu_002", lambda z: np.maximum(z, 0), lambda z: np.maximum(0, z))
    message = str(info.value)
    assert "derivative of activation 'relu_002'" in message
    assert "at z = 2 it should be 1 and was 2" in message
    assert registry_state() == before and "relu_002" not in ACTIVATIONS


def test_seed_003_sigmoid_derivative_is_refused():
    # seed 003: sigma'(z)(1 - sigma(z)) = s(1 - s)(1 - s); at z = 2, s = 0.880797:
    # the derivative is s(1 - s) = 0.104994, the slip gives 0.104994 * 0.119203 = 0.0125155
    with pytest.raises(ValueError, match=re.escape("at z = 2 it should be 0.104994 and was 0.0125155")):
        register_activation("sigmoid_003", sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z)) * (1 - sigmoid(z)))
    assert "sigmoid_003" not in ACTIVATIONS


@pytest.mark.parametrize("value,derivative", [
    (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),  # ReLU: kink at 0
    (np.abs, np.sign),  # |z|: kink at 0
    (lambda z: np.clip(z, -1, 1), lambda z: (np.abs(z) < 1).astype(float)),  # hard tanh: kinks at +-1, check points
    (lambda z: np.where(z > 0, z, 0.2 * z), lambda z: np.where(z > 0, 1.0, 0.2)),
    (softsign, softsign_prime),
    (np.arctan, lambda z: 1 / (1 + z * z)),
])
def test_correct_derivatives_are_accepted_kinks_included(value, derivative):
    register_activation("custom", value, derivative)
    assert "custom" in ACTIVATIONS
    g = get_activation("custom")
    z = np.array([[-3.0, -0.5, 0.25, 2.0]], dtype=np.float32)
    assert g.name == "custom" and g.value(z).dtype == np.float32 and g.derivative(z).shape == (1, 4)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_builtin_activation_passes_the_check(name):
    verify_activation(get_activation(name))


@pytest.mark.parametrize("name", list(COSTS))
def test_every_builtin_cost_passes_the_check(name):
    verify_cost(COSTS[name]())


def test_a_derivative_off_by_a_tenth_of_a_percent_is_caught():
    with pytest.raises(ValueError, match="disagrees with central differences"):
        register_activation("tanh_off", np.tanh, lambda z: 1.001 * (1 - np.tanh(z) ** 2))


def test_check_false_registers_without_checking():
    register_activation("relu_002", lambda z: np.maximum(z, 0), lambda z: np.maximum(0, z), check=False)
    assert get_activation("relu_002").derivative(np.array([[2.0]]))[0, 0] == 2.0  # the user's choice, unchecked


# ----- a registered function works wherever a built-in name does ---------------------------------------------
def test_registered_activation_in_a_network_matches_autograd_and_finite_differences(monkeypatch):
    register_activation("softsign", softsign, softsign_prime)
    monkeypatch.setitem(oracle.G, "softsign", lambda z: z / (1 + anp.abs(z)))
    rng = np.random.default_rng(0)
    net = Network([3, 5, 4, 2], ["softsign", "softsign", "softmax"], "cross_entropy", dtype="float64", seed=0)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    dW, db = net.gradients(X, y)
    oW, ob = oracle.gradients(net, X, np.eye(2)[y])
    for l in range(3):
        assert dW[l].shape == oW[l].shape
        np.testing.assert_allclose(dW[l], oW[l], rtol=1e-10, atol=1e-13, err_msg=f"dW[{l + 1}]")
        np.testing.assert_allclose(db[l], ob[l], rtol=1e-10, atol=1e-13, err_msg=f"db[{l + 1}]")
    assert gradcheck(net, X, y) <= 1e-6
    net32 = Network([3, 5, 2], ["softsign", "softmax"], "cross_entropy", seed=0)
    assert net32.forward(X).dtype == np.float32
    history = net32.fit(X, y, epochs=3, batch_size=2, seed=0)
    assert history.epochs == 3 and np.isfinite(history.train_cost).all()


def test_registered_cost_in_a_network_matches_autograd_and_finite_differences(monkeypatch):
    register_cost("log_cosh", log_cosh, log_cosh_grad)
    monkeypatch.setitem(oracle.C, "log_cosh", lambda a, y: anp.sum(anp.log(anp.cosh(a - y)), axis=1))
    rng = np.random.default_rng(1)
    net = Network([3, 4, 2], ["tanh", "identity"], "log_cosh", dtype="float64", seed=0)
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    w = rng.random(5) + 0.1
    dW, db = net.gradients(X, Y, sample_weight=w)
    oW, ob = oracle.gradients(net, X, Y, w)
    for l in range(2):
        np.testing.assert_allclose(dW[l], oW[l], rtol=1e-10, atol=1e-13, err_msg=f"dW[{l + 1}]")
        np.testing.assert_allclose(db[l], ob[l], rtol=1e-10, atol=1e-13, err_msg=f"db[{l + 1}]")
    assert gradcheck(net, X, Y, sample_weight=w) <= 1e-6
    assert net.cost_name == "log_cosh"


def test_probability_and_positive_costs_are_checked_in_their_domain():
    # a hand-written cross-entropy has ln a: checked at probabilities, it passes
    register_cost("my_ce", lambda a, y: -(y * np.log(a)).sum(axis=1), lambda a, y: -y / a, probability=True)
    with pytest.raises(ValueError, match=re.escape("cost 'my_ce' needs outputs in [0, 1]")):
        Network([2, 3], ["identity"], "my_ce")
    net = Network([2, 3], ["softmax"], "my_ce", dtype="float64", seed=0)
    assert gradcheck(net, [[0.5, -1.0], [1.0, 2.0]], [0, 2]) <= 1e-6
    # Poisson's negative log-likelihood a - y ln a: NaN at negative a unless declared positive
    nll, nll_grad = (lambda a, y: (a - y * np.log(a)).sum(axis=1)), (lambda a, y: 1 - y / a)
    with pytest.raises(ValueError, match=re.escape("cost 'nll': value(a, y) returned NaN at a = [2, -2, 0.5]")):
        register_cost("nll", nll, nll_grad)
    register_cost("nll", nll, nll_grad, positive=True)
    assert COSTS["nll"]().positive


def test_a_wrong_cost_gradient_shows_the_pair_and_unit():
    with pytest.raises(ValueError) as info:
        register_cost("half", lambda a, y: ((a - y) ** 2).sum(axis=1), lambda a, y: a - y)  # forgot the 2
    message = str(info.value)
    assert message.startswith("grad_a of cost 'half' disagrees with central differences")
    # a = 2, y = 0.5: d/da (a - y)^2 = 2 (a - y) = 3; given a - y = 1.5
    assert "at a = [2, -2, 0.5], y = [0.5, 0.25, -1] (unit j = 0) it should be 3 and was 1.5" in message
    assert "half" not in COSTS


# ----- classes and instances ----------------------------------------------------------------------------
class ScaledTanh(Activation):
    """g(z) = tanh(k z), g'(z) = k (1 - tanh^2(k z))."""

    name = "scaled_tanh"

    def __init__(self, k=2.0):
        self.k = k

    def value(self, z):
        return np.tanh(self.k * z)

    def derivative(self, z):
        return self.k * (1 - np.tanh(self.k * z) ** 2)


class TemperatureSoftmax(Softmax):
    """softmax(z / T): its Jacobian is (diag(a) - a a^T) / T, so softmax's jvp must be divided by T."""

    name = "softmax_t"
    T = 2.0

    def value(self, z):
        return super().value(z / self.T)

    def backward(self, z, a, grad_a):
        return super().backward(z, a, grad_a) / self.T

    def jacobian(self, z):
        a = self.value(z)
        return (np.einsum("mi,ij->mij", a, np.eye(a.shape[1])) - a[:, :, None] * a[:, None, :]) / self.T


class ForgotTheTemperature(TemperatureSoftmax):
    name = "softmax_t_wrong"

    def backward(self, z, a, grad_a):
        return Softmax.backward(self, z, a, grad_a)  # the 1/T of the chain rule is missing


def test_activation_class_and_instance_can_be_registered():
    register_activation("scaled_tanh", ScaledTanh)
    proto = ScaledTanh(k=3.0)
    register_activation("tanh3", proto)
    proto.k = 100.0  # later changes to the caller's object do not reach the registry
    assert proto.name == "scaled_tanh"  # and its name was not touched
    g3 = get_activation("tanh3")
    assert g3.name == "tanh3" and g3.k == 3.0 and g3 is not get_activation("tanh3")
    net = Network([2, 2, 1], ["tanh3", "identity"], "quadratic", dtype="float64", seed=0)
    X = np.array([[0.1, -0.2]])
    h = np.tanh(3.0 * (X @ net.weights[0] + net.biases[0]))
    np.testing.assert_allclose(net.forward(X), h @ net.weights[1] + net.biases[1], rtol=1e-14)
    assert gradcheck(net, X, [[0.3]]) <= 1e-6
    register_activation("other_name", ScaledTanh)  # a class registered under another name carries that name
    assert get_activation("other_name").name == "other_name" and ScaledTanh.name == "scaled_tanh"


def test_an_output_activation_that_is_not_elementwise_is_checked_by_its_jacobian():
    register_activation("softmax_t", TemperatureSoftmax)
    net = Network([3, 4], ["softmax_t"], "cross_entropy", dtype="float64", seed=0)
    X, y = np.random.default_rng(2).standard_normal((5, 3)), np.array([0, 1, 2, 3, 0])
    assert gradcheck(net, X, y) <= 1e-6
    with pytest.raises(ValueError, match=re.escape("backward(z, a, v) of activation 'softmax_t_wrong' disagrees")):
        register_activation("softmax_t_wrong", ForgotTheTemperature)
    with pytest.raises(ValueError, match="softmax_t is for the output layer only"):
        Network([3, 4, 4], ["softmax_t", "softmax"], "cross_entropy")


def test_cost_class_and_instance_can_be_registered():
    class LogCosh(Cost):
        name = "log_cosh_cls"

        def value(self, a, y):
            return log_cosh(a, y)

        def grad_a(self, a, y):
            return log_cosh_grad(a, y)

    register_cost("log_cosh_cls", LogCosh)
    register_cost("log_cosh_obj", LogCosh())
    assert COSTS["log_cosh_obj"]().name == "log_cosh_obj"
    assert Network([2, 1], ["identity"], "log_cosh_cls").cost_name == "log_cosh_cls"


# ----- bad registrations: refused with their message, the registries unchanged ------------------------------
def boom(z):
    if np.abs(z).max() > 100:
        raise OverflowError("too big")
    return np.tanh(z)


def in_place(z):
    z[z < 0] = 0
    return z


BAD_ACTIVATIONS = [
    (("relu", np.tanh, np.tanh), {}, ValueError, "'relu' is a built-in activation; pass replace=True to replace it"),
    (("my act", np.tanh, np.tanh), {}, ValueError, "the activation name must start with a letter"),
    (("", np.tanh, np.tanh), {}, ValueError, "the activation name must start with a letter"),
    ((3, np.tanh, np.tanh), {}, TypeError, "the activation name must be a str, got int"),
    (("x", 3.0, np.tanh), {}, TypeError, "value must be a function, or a subclass or instance of Activation; got float"),
    (("x", np.tanh), {}, TypeError, "derivative must be a function of the same arguments as value, got NoneType"),
    (("x", np.tanh, "1 - tanh^2"), {}, TypeError, "derivative must be a function"),
    (("x", np.tanh, np.tanh), {"probability": "yes"}, TypeError, "probability must be True, False or None"),
    (("x", np.tanh, np.tanh), {"check": 1}, TypeError, "check must be True or False"),
    (("x", np.tanh, np.tanh), {"replace": None}, TypeError, "replace must be True or False"),
    (("x", ScaledTanh, np.tanh), {}, TypeError, "when value is a class or instance of Activation, pass no derivative"),
    (("x", ScaledTanh), {"he_init": True}, TypeError, "pass no derivative and no probability/positive/he_init"),
    (("x", lambda z: z.sum(axis=1), np.ones_like), {}, ValueError,
     "activation 'x': value(z) must return an array of shape (2, 8) for inputs of shape (2, 8), got shape (2,)"),
    (("x", np.tanh, lambda z: np.ones(3)), {}, ValueError, "activation 'x': derivative(z) must return an array of shape"),
    (("x", lambda z: np.where(z > 100, np.nan, z), np.ones_like), {}, ValueError,
     "activation 'x': value(z) returned NaN at z = 1000"),
    (("x", np.tanh, lambda z: np.where(z < -100, np.nan, 1.0)), {}, ValueError,
     "activation 'x': derivative(z) returned NaN at z = -1000"),
    (("x", boom, lambda z: 1 - np.tanh(z) ** 2), {}, ValueError,
     "activation 'x': value(z) raised OverflowError (too big) at z = 1000"),
    (("x", lambda z: math.tanh(z), np.ones_like), {}, ValueError, "activation 'x': value(z) raised TypeError"),
    (("x", in_place, lambda z: (z > 0) * 1.0), {}, ValueError, "value(z) changed its input in place"),
    (("x", lambda z: z - z.mean(axis=1, keepdims=True), np.ones_like), {}, ValueError,
     "activation 'x' is not elementwise: at z = 2 it gives 0 alone but"),
    (("x", np.tanh, lambda z: 1 - np.tanh(z) ** 2), {"probability": True}, ValueError,
     "activation 'x' declares probability (outputs in [0, 1]) but gives -0.964028 at z = -2"),
    (("x", lambda z: np.sin(1e7 * z), lambda z: 1e7 * np.cos(1e7 * z)), {}, ValueError, "kinks or jumps at"),
]


@pytest.mark.parametrize("args,kwargs,error,message", BAD_ACTIVATIONS)
def test_bad_activation_registrations_are_refused_and_change_nothing(args, kwargs, error, message):
    before = registry_state()
    with pytest.raises(error, match=re.escape(message)):
        register_activation(*args, **kwargs)
    assert registry_state() == before


BAD_COSTS = [
    (("quadratic", log_cosh, log_cosh_grad), {}, ValueError, "'quadratic' is a built-in cost; pass replace=True"),
    (("c", log_cosh), {}, TypeError, "grad_a must be a function of the same arguments as value"),
    (("c", lambda a, y: (a - y) ** 2, lambda a, y: 2 * (a - y)), {}, ValueError,
     "cost 'c': value(a, y) must return an array of shape (6,) for inputs of shape (6, 3), got shape (6, 3)"),
    (("c", lambda a, y: ((a - y) ** 2).mean(), lambda a, y: 2 * (a - y)), {}, ValueError,
     "cost 'c': value(a, y) must return an array of shape (6,)"),
    (("c", log_cosh, lambda a, y: np.tanh(a - y).sum(axis=1)), {}, ValueError,
     "cost 'c': grad_a(a, y) must return an array of shape (6, 3)"),
    (("c", lambda a, y: ((a - y) ** 2).sum(1) - ((a - y) ** 2).sum(1).mean(), lambda a, y: 2 * (a - y)), {},
     ValueError, "cost 'c' mixes samples: at a = [2, -2, 0.5], y = [0.5, 0.25, -1] value(a, y) gives 0 alone"),
    (("c", log_cosh, log_cosh_grad), {"positive": 1}, TypeError, "positive must be True, False or None"),
]


@pytest.mark.parametrize("args,kwargs,error,message", BAD_COSTS)
def test_bad_cost_registrations_are_refused_and_change_nothing(args, kwargs, error, message):
    before = registry_state()
    with pytest.raises(error, match=re.escape(message)):
        register_cost(*args, **kwargs)
    assert registry_state() == before


def test_names_are_not_taken_twice_and_builtins_come_back():
    register_activation("softsign", softsign, softsign_prime)
    with pytest.raises(ValueError, match=re.escape("'softsign' is an already registered activation; pass replace=True")):
        register_activation("softsign", np.tanh, lambda z: 1 - np.tanh(z) ** 2)
    assert get_activation("softsign").value(np.array([[1.0]]))[0, 0] == 0.5
    register_activation("softsign", np.tanh, lambda z: 1 - np.tanh(z) ** 2, replace=True)
    assert get_activation("softsign").value(np.array([[1.0]]))[0, 0] == np.tanh(1.0)
    builtin = ACTIVATIONS["relu"]
    register_activation("relu", lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0, replace=True)
    assert ACTIVATIONS["relu"] is not builtin
    unregister_activation("relu")  # the built-in comes back
    assert ACTIVATIONS["relu"] is builtin
    with pytest.raises(ValueError, match=re.escape("'relu' is a built-in activation and cannot be unregistered")):
        unregister_activation("relu")
    unregister_activation("softsign")
    with pytest.raises(ValueError, match=re.escape("no activation named 'softsign' is registered")):
        unregister_activation("softsign")
    with pytest.raises(ValueError, match=re.escape("unknown activation 'softsign'")):
        Network([2, 1], ["softsign"], "quadratic")
    register_cost("log_cosh", log_cosh, log_cosh_grad)
    unregister_cost("log_cosh")
    with pytest.raises(ValueError, match=re.escape("'mae' is a built-in cost and cannot be unregistered")):
        unregister_cost("mae")


# ----- model files and the command line refer to registered functions by name ----------------------------------
def test_model_files_name_registered_functions_and_need_them_registered_to_load(tmp_path):
    register_activation("softsign", softsign, softsign_prime)
    register_cost("log_cosh", log_cosh, log_cosh_grad)
    net = Network([3, 4, 2], ["softsign", "identity"], "log_cosh", dtype="float64", seed=0)
    path = tmp_path / "m.safetensors"
    net.save(path)
    X = np.random.default_rng(0).standard_normal((3, 3))
    back = load(path)
    assert back.activations == ("softsign", "identity") and back.cost_name == "log_cosh"
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    unregister_activation("softsign")
    with pytest.raises(ValueError, match=re.escape("unknown activation 'softsign'")) as info:
        load(path)
    assert "register it first (deltaprop.register_activation / register_cost)" in str(info.value)
    register_activation("softsign", softsign, softsign_prime)
    unregister_cost("log_cosh")
    with pytest.raises(ValueError, match=re.escape("unknown cost 'log_cosh'")) as info:
        load(path)
    assert "register it first" in str(info.value)


def test_the_command_line_offers_registered_names(tmp_path, capsys):
    from deltaprop.cli import main

    assert main(["train", "--activation", "softsign", "--hidden", "4", "--epochs", "1", "--quiet"]) == 2
    assert "invalid choice: 'softsign'" in capsys.readouterr().err
    register_activation("softsign", softsign, softsign_prime)
    # a hand-written binary cross-entropy (probability=True, so `train` feeds it a sigmoid output and labels)
    register_cost("my_bce", lambda a, y: -(y * np.log(a) + (1 - y) * np.log(1 - a)).sum(axis=1),
                  lambda a, y: (a - y) / (a * (1 - a)), probability=True)
    metrics, model = tmp_path / "m.json", tmp_path / "m.safetensors"
    code = main(["train", "--activation", "softsign", "--cost", "my_bce", "--hidden", "8", "--epochs", "1",
                 "--quiet", "--metrics-json", str(metrics), "--out", str(model)])
    assert code == 0, capsys.readouterr().err
    config = json.loads(metrics.read_text())["config"]
    assert config["activation"] == "softsign" and config["cost"] == "my_bce"
    back = load(model)
    assert back.activations == ("softsign", "sigmoid") and back.cost_name == "my_bce"


def test_registry_entries_for_instances_answer_like_classes():
    register_activation("tanh3", ScaledTanh(k=3.0))
    entry = ACTIVATIONS["tanh3"]
    assert entry.elementwise is True and entry.probability is False  # what the CLI's choices read
    assert copy.deepcopy(entry()).k == 3.0
