"""Tests for deltaprop.optim: hand-worked steps, plain-expression references, schedules, state and errors."""

from __future__ import annotations

import copy
import json
import math
import re
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltaprop.optim import (
    OPTIMIZERS,
    SCHEDULES,
    SGD,
    Adam,
    Constant,
    Cosine,
    Momentum,
    Nesterov,
    StepDecay,
    make_optimizer,
    make_schedule,
    optimizer_from_config,
)

RTOL, ATOL = 1e-12, 1e-15


def check(actual, expected, name, *, rtol=RTOL, atol=ATOL):
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape}, expected {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=name)


def start():
    """W = [[1, 2]], b = [3], and the first gradients dW = [[0.5, -1]], db = [0.2]."""
    return [np.array([[1.0, 2.0]]), np.array([3.0])], [np.array([[0.5, -1.0]]), np.array([0.2])]


SECOND = [np.array([[-1.0, 0.5]]), np.array([-0.4])]  # dW, db at step 2


# ---------------------------------------------------------------- hand-worked steps


def test_sgd_two_steps_by_hand():
    params, grads = start()
    optimizer = SGD(0.1)
    optimizer.step(params, grads)
    # W = [1, 2] - 0.1 * [0.5, -1] = [0.95, 2.1];  b = 3 - 0.1 * 0.2 = 2.98
    check(params[0], [[0.95, 2.1]], "W after step 1")
    check(params[1], [2.98], "b after step 1")
    optimizer.step(params, SECOND)
    # W = [0.95, 2.1] - 0.1 * [-1, 0.5] = [1.05, 2.05];  b = 2.98 - 0.1 * (-0.4) = 3.02
    check(params[0], [[1.05, 2.05]], "W after step 2")
    check(params[1], [3.02], "b after step 2")
    assert optimizer.velocity == [] and optimizer.t == 2


def test_heavy_ball_two_steps_by_hand():
    params, grads = start()
    optimizer = SGD(0.1, momentum=0.9)
    optimizer.step(params, grads)
    # v = 0.9 * 0 - 0.1 * [0.5, -1] = [-0.05, 0.1];  W = [1, 2] + v = [0.95, 2.1]
    check(optimizer.velocity[0], [[-0.05, 0.1]], "v after step 1")
    check(params[0], [[0.95, 2.1]], "W after step 1")
    # b: v = -0.1 * 0.2 = -0.02;  b = 2.98
    check(params[1], [2.98], "b after step 1")
    optimizer.step(params, SECOND)
    # v = 0.9 * [-0.05, 0.1] - 0.1 * [-1, 0.5] = [-0.045 + 0.1, 0.09 - 0.05] = [0.055, 0.04]
    # W = [0.95 + 0.055, 2.1 + 0.04] = [1.005, 2.14]
    check(optimizer.velocity[0], [[0.055, 0.04]], "v after step 2")
    check(params[0], [[1.005, 2.14]], "W after step 2")
    # b: v = 0.9 * (-0.02) - 0.1 * (-0.4) = -0.018 + 0.04 = 0.022;  b = 2.98 + 0.022 = 3.002
    check(params[1], [3.002], "b after step 2")


def test_nesterov_two_steps_by_hand():
    params, grads = start()
    optimizer = SGD(0.1, momentum=0.9, nesterov=True)
    optimizer.step(params, grads)
    # v = [-0.05, 0.1];  W = W - eta * g + mu * v = [1 - 0.05 - 0.045, 2 + 0.1 + 0.09] = [0.905, 2.19]
    check(optimizer.velocity[0], [[-0.05, 0.1]], "v after step 1")
    check(params[0], [[0.905, 2.19]], "W after step 1")
    optimizer.step(params, SECOND)
    # v = [0.055, 0.04] (as for heavy ball);  W = [0.905 + 0.1 + 0.9 * 0.055, 2.19 - 0.05 + 0.9 * 0.04]
    #   = [1.0545, 2.176]
    check(optimizer.velocity[0], [[0.055, 0.04]], "v after step 2")
    check(params[0], [[1.0545, 2.176]], "W after step 2")


def test_adam_two_steps_by_hand():
    params, grads = start()
    optimizer = Adam(0.1)  # beta1 = 0.9, beta2 = 0.999, eps = 1e-8
    optimizer.step(params, grads)
    # m = 0.1 * [0.5, -1] = [0.05, -0.1];  v = 0.001 * [0.25, 1] = [0.00025, 0.001]
    # m_hat = m / 0.1 = g;  v_hat = v / 0.001 = g * g;  W -= 0.1 * g / (|g| + 1e-8)
    # W = [1 - 0.1 * 0.5 / (0.5 + 1e-8), 2 + 0.1 / (1 + 1e-8)] = [0.900000002, 2.099999999]
    check(optimizer.m[0], [[0.05, -0.1]], "m after step 1")
    check(optimizer.v[0], [[0.00025, 0.001]], "v after step 1")
    check(params[0], [[0.900000002, 2.099999999]], "W after step 1")
    optimizer.step(params, SECOND)
    # m = 0.9 * [0.05, -0.1] + 0.1 * [-1, 0.5] = [-0.055, -0.04]
    # v = 0.999 * [0.00025, 0.001] + 0.001 * [1, 0.25] = [0.00124975, 0.001249]
    # 1 - 0.9^2 = 0.19;  1 - 0.999^2 = 0.001999
    # m_hat = [-0.289473684210526, -0.210526315789474]; v_hat = [0.625187593796907, 0.624812406203110]
    # sqrt(v_hat) = [0.790688050875253, 0.790450761403334]
    # W -= 0.1 * m_hat / (sqrt(v_hat) + 1e-8) = [-0.036610352240565, -0.026633703629097]
    check(optimizer.m[0], [[-0.055, -0.04]], "m after step 2")
    check(optimizer.v[0], [[0.00124975, 0.001249]], "v after step 2")
    check(params[0], [[0.936610354240565, 2.126633702629097]], "W after step 2", rtol=1e-13)
    assert optimizer.t == 2


def test_adam_first_step_moves_each_weight_by_about_lr_sign_g():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 3))
    dW = rng.normal(size=(4, 3)) * np.array([1e-2, 1.0, 1e3])  # the magnitude hardly matters
    W0 = W.copy()
    Adam(0.01).step([W], [dW])
    # m_hat = g, v_hat = g * g: the step is exactly 0.01 * g / (|g| + 1e-8), within 1e-8 / |g| of 0.01 * sign(g)
    check(W - W0, -0.01 * dW / (np.abs(dW) + 1e-8), "W - W0", rtol=1e-9, atol=0)
    check(W - W0, -0.01 * np.sign(dW), "W - W0 against sign", rtol=1e-5, atol=0)


def test_weight_decay_applies_to_weights_not_biases_and_leaves_grads_alone():
    params, grads = start()
    saved = [g.copy() for g in grads]
    SGD(0.1, weight_decay=0.01).step(params, grads)
    # g = [0.5, -1] + 0.01 * [1, 2] = [0.51, -0.98];  W = [1 - 0.051, 2 + 0.098] = [0.949, 2.098]
    check(params[0], [[0.949, 2.098]], "W")
    # b is 1-D: not decayed, b = 3 - 0.1 * 0.2 = 2.98 (decayed it would be 3 - 0.1 * 0.23 = 2.977)
    check(params[1], [2.98], "b")
    for g, g0 in zip(grads, saved):
        np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_weight_decay_never_mutates_grads(name):
    params, grads = start()
    saved = [g.copy() for g in grads]
    optimizer = make_optimizer(name, weight_decay=0.5)
    for _ in range(3):
        optimizer.step(params, grads)
    for i, (g, g0) in enumerate(zip(grads, saved)):
        np.testing.assert_array_equal(g, g0, err_msg=f"grads[{i}]")


# ---------------------------------------------------------------- independent derivations


def test_nesterov_matches_sutskevers_look_ahead_form():
    # f(theta) = 0.5 * sum(c * theta ** 2), grad f = c * theta. Sutskever et al. (2013):
    # v <- mu * v - eta * grad f(theta + mu * v);  theta <- theta + v.
    # The optimizer follows W = theta + mu * v with the gradient at W itself.
    c = np.array([[1.0, 3.0], [0.5, 2.0]])
    theta, v = np.array([[1.0, -2.0], [0.5, 3.0]]), np.zeros((2, 2))
    W = theta.copy()
    optimizer = Nesterov(0.1, momentum=0.8)
    for k in range(20):
        v = 0.8 * v - 0.1 * c * (theta + 0.8 * v)
        theta = theta + v
        optimizer.step([W], [c * W])
        check(W, theta + 0.8 * v, f"W at step {k + 1}")


def test_nesterov_matches_pytorch_buffer_form():
    # PyTorch: buf <- mu * buf + g;  W <- W - lr * (g + mu * buf)  (buf = -v / lr)
    rng = np.random.default_rng(1)
    W, reference, buffer = rng.normal(size=(3, 2)), None, np.zeros((3, 2))
    reference = W.copy()
    optimizer = SGD(0.05, momentum=0.7, nesterov=True)
    for k in range(10):
        g = rng.normal(size=(3, 2))
        buffer = 0.7 * buffer + g
        reference = reference - 0.05 * (g + 0.7 * buffer)
        optimizer.step([W], [g])
        check(W, reference, f"W at step {k + 1}")


def test_subclasses_are_sgd_with_one_knob_set():
    rng = np.random.default_rng(2)
    grads = [rng.normal(size=(3, 2)) for _ in range(4)]
    for thin, full in [(Momentum(0.1), SGD(0.1, momentum=0.9)),
                       (Nesterov(0.1), SGD(0.1, momentum=0.9, nesterov=True))]:
        a, b = np.ones((3, 2)), np.ones((3, 2))
        for g in grads:
            thin.step([a], [g])
            full.step([b], [g])
        np.testing.assert_array_equal(a, b)


def plain_step(name, W, g, state, t, eta, options):
    """The update written as plain NumPy expressions, in the order documented in the Notes."""
    if name == "sgd":
        return W - eta * g
    if name == "momentum":
        state["velocity"] = options["momentum"] * state["velocity"] - eta * g
        return W + state["velocity"]
    if name == "nesterov":
        mu = options["momentum"]
        state["velocity"] = mu * state["velocity"] - eta * g
        return W - eta * g + mu * state["velocity"]
    beta1, beta2, eps = options["beta1"], options["beta2"], options["eps"]
    state["m"] = beta1 * state["m"] + (1 - beta1) * g
    state["v"] = beta2 * state["v"] + (1 - beta2) * g * g
    denominator = np.sqrt(state["v"]) / math.sqrt(1 - beta2**t) + eps
    return W - (eta / (1 - beta1**t)) * (state["m"] / denominator)


OPTIONS = {
    "sgd": {"lr": 0.3},
    "momentum": {"lr": 0.2, "momentum": 0.7},
    "nesterov": {"lr": 0.2, "momentum": 0.6},
    "adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
}


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(list(OPTIMIZERS)), rows=st.integers(1, 5), cols=st.integers(1, 5),
       dtype=st.sampled_from([np.float32, np.float64]), weight_decay=st.sampled_from([0.0, 0.05]),
       seed=st.integers(0, 2**16))
def test_in_place_step_equals_plain_expression_bit_for_bit(name, rows, cols, dtype, weight_decay, seed):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(rows, cols)).astype(dtype), rng.normal(size=cols).astype(dtype)]
    expected = [p.copy() for p in params]
    states = [{key: np.zeros_like(p) for key in ("velocity", "m", "v")} for p in params]
    optimizer = make_optimizer(name, weight_decay=weight_decay, **OPTIONS[name])
    for t in range(1, 4):
        grads = [rng.normal(size=p.shape).astype(dtype) for p in params]
        for i, (W, g) in enumerate(zip(expected, grads)):
            g = g + weight_decay * W if W.ndim == 2 and weight_decay else g
            expected[i] = plain_step(name, W, g, states[i], t, optimizer.eta, OPTIONS[name])
        optimizer.step(params, grads)
        for i, (p, e) in enumerate(zip(params, expected)):
            assert p.shape == e.shape and p.dtype == dtype, f"params[{i}]"
            np.testing.assert_array_equal(p, e, err_msg=f"params[{i}] at step {t}")


# ---------------------------------------------------------------- schedules


def test_set_epoch_scales_eta_and_keeps_lr():
    optimizer = SGD(0.2, schedule=StepDecay(2, gamma=0.5))
    assert optimizer.eta == 0.2
    optimizer.set_epoch(4)  # eta = 0.2 * 0.5 ** 2 = 0.05
    assert (optimizer.lr, optimizer.eta, optimizer.epoch) == (0.2, 0.05, 4)
    W = np.array([[1.0, 2.0]])
    optimizer.step([W], [np.array([[0.5, -1.0]])])
    check(W, [[1 - 0.025, 2 + 0.05]], "W with eta = 0.05")


def test_schedule_given_by_name_config_or_callable():
    assert isinstance(SGD(schedule="constant").schedule, Constant)
    assert SGD(schedule={"name": "cosine", "total_epochs": 3}).schedule.config() == {
        "name": "cosine", "total_epochs": 3, "min_factor": 0.0}
    optimizer = SGD(1.0, schedule=lambda epoch: 1.0 / (1 + epoch))
    optimizer.set_epoch(3)
    assert optimizer.eta == 0.25
    with pytest.raises(TypeError, match="has no config"):
        optimizer.config()


# ---------------------------------------------------------------- dtype, allocation, state


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_float32_stays_float32(name):
    params = [np.ones((3, 2), np.float32), np.ones(2, np.float32)]
    optimizer = make_optimizer(name, weight_decay=0.1)
    for _ in range(3):
        optimizer.step(params, [np.full((3, 2), 0.5, np.float32), np.full(2, -0.5, np.float32)])
    assert all(p.dtype == np.float32 for p in params)
    state = optimizer.state_dict()
    assert all(a.dtype == np.float32 for key in ("velocity", "m", "v") for a in state.get(key, []))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_buffers_are_reused_and_steps_allocate_nothing(name):
    params = [np.ones((300, 400)), np.ones(400)]
    grads = [np.full((300, 400), 0.01), np.full(400, 0.01)]
    optimizer = make_optimizer(name, weight_decay=0.1)
    optimizer.step(params, grads)
    keys = [k for k in ("velocity", "m", "v") if getattr(optimizer, k, [])]
    buffers = {k: list(getattr(optimizer, k)) for k in keys}
    objects = list(params)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(5):
            optimizer.step(params, grads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < 10_000, f"a step allocated {peak - before} bytes (one array is {300 * 400 * 8})"
    assert all(p is q for p, q in zip(params, objects))
    for k in keys:
        assert all(a is b for a, b in zip(getattr(optimizer, k), buffers[k])), k


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_round_trip_continues_bit_for_bit(name, dtype):
    rng = np.random.default_rng(3)
    grads = [[rng.normal(size=s).astype(dtype) for s in [(4, 3), (3,)]] for _ in range(6)]
    params = [rng.normal(size=(4, 3)).astype(dtype), rng.normal(size=3).astype(dtype)]
    first = make_optimizer(name, weight_decay=0.01, schedule={"name": "step", "step_size": 1, "gamma": 0.5})
    for g in grads[:3]:
        first.step(params, g)
    first.set_epoch(1)
    state, saved = first.state_dict(), [p.copy() for p in params]
    second = optimizer_from_config(json.loads(json.dumps(first.config())))
    second.load_state_dict(state)
    for g in grads[3:]:
        first.step(params, g)
        second.step(saved, g)
    for i, (a, b) in enumerate(zip(params, saved)):
        assert a.shape == b.shape and b.dtype == dtype
        np.testing.assert_array_equal(a, b, err_msg=f"params[{i}]")
    assert first.state_dict().keys() == second.state_dict().keys() and second.t == 6


def test_state_dict_holds_copies_and_loads_copies():
    params, grads = start()
    optimizer = Momentum(0.1)
    optimizer.step(params, grads)
    state = optimizer.state_dict()
    assert state["name"] == "momentum" and state["t"] == 1 and state["eta"] == 0.1
    state["velocity"][0][...] = 99.0
    check(optimizer.velocity[0], [[-0.05, 0.1]], "velocity after editing the state dict")
    other = Momentum()
    other.load_state_dict(state)
    state["velocity"][0][...] = -1.0
    check(other.velocity[0], [[99.0, 99.0]], "loaded velocity")
    assert other.momentum == 0.9 and other.lr == 0.1


def test_state_dict_before_any_step_round_trips():
    fresh = Adam(0.01).state_dict()
    assert fresh["m"] == [] and fresh["v"] == [] and fresh["t"] == 0
    optimizer = Adam()
    optimizer.load_state_dict(fresh)
    assert optimizer.lr == 0.01
    params, grads = start()
    optimizer.step(params, grads)
    assert optimizer.m[0].shape == (1, 2)


def test_state_with_numpy_scalars_and_tuples_loads_as_python_values():
    # as it comes back from np.load: 0-d NumPy scalars and tuples of arrays
    params, grads = start()
    optimizer = SGD(0.1, momentum=0.5, nesterov=True)
    optimizer.step(params, grads)
    state = optimizer.state_dict()
    state = {key: (tuple(value) if isinstance(value, list) else value) for key, value in state.items()}
    state |= {"lr": np.float64(0.1), "momentum": np.float32(0.5), "nesterov": np.bool_(True), "t": np.int64(1)}
    other = SGD()
    other.load_state_dict(state)
    assert type(other.lr) is float and type(other.nesterov) is bool and type(other.t) is int
    assert other.config() == optimizer.config()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_config_is_json_and_rebuilds_an_equal_optimizer(name):
    optimizer = make_optimizer(name, weight_decay=0.25, schedule=Cosine(7, min_factor=0.5))
    config = optimizer.config()
    frozen = copy.deepcopy(config)
    assert json.loads(json.dumps(config)) == config and config["name"] == name
    assert optimizer_from_config(config).config() == config == make_optimizer(**config).config()
    assert config == frozen
    assert repr(make_optimizer(**config)) == repr(optimizer)


def test_registries():
    assert OPTIMIZERS == {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam}
    assert SCHEDULES == {"constant": Constant, "step": StepDecay, "cosine": Cosine}
    assert make_schedule("step", step_size=2).config() == {"name": "step", "step_size": 2, "gamma": 0.1}


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("build, error, message", [
    (lambda: SGD(-0.1), ValueError, "lr must be > 0, got -0.1."),
    (lambda: SGD(0), ValueError, "lr must be > 0, got 0."),
    (lambda: SGD(float("nan")), ValueError, "lr must be finite, got nan."),
    (lambda: Adam(float("inf")), ValueError, "lr must be finite, got inf."),
    (lambda: SGD("0.1"), TypeError, "lr must be a real number, got str '0.1'."),  # type: ignore[arg-type]
    (lambda: SGD(True), TypeError, "lr must be a real number, got bool True."),
    (lambda: SGD(10**400), ValueError, "lr is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),  # an int no float holds: not OverflowError
    (lambda: SGD(-10**400), ValueError, "lr is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),
    (lambda: Momentum(momentum=10**400), ValueError, "momentum is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),
    (lambda: Adam(eps=10**400), ValueError, "eps is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),
    (lambda: SGD(weight_decay=10**400), ValueError, "weight_decay is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),
    (lambda: StepDecay(2, gamma=10**400), ValueError, "gamma is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),
    (lambda: SGD(1.0, schedule=lambda e: 10**400), ValueError, "schedule factor at epoch 0 is too large for a float (at most 1.79769e+308), got an integer of 401 digits"),
    (lambda: SGD(momentum=1.0), ValueError, "momentum must be in [0, 1), got 1.0."),
    (lambda: Momentum(momentum=-0.5), ValueError, "momentum must be in [0, 1), got -0.5."),
    (lambda: SGD(nesterov=1), TypeError, "nesterov must be True or False, got 1."),  # type: ignore[arg-type]
    (lambda: SGD(nesterov=True), ValueError, "nesterov=True needs momentum > 0, got momentum=0.0."),
    (lambda: SGD(weight_decay=-1e-4), ValueError, "weight_decay must be >= 0, got -0.0001."),
    (lambda: Adam(beta1=1), ValueError, "beta1 must be in [0, 1), got 1."),
    (lambda: Adam(beta2=-0.1), ValueError, "beta2 must be in [0, 1), got -0.1."),
    (lambda: Adam(eps=0.0), ValueError, "eps must be > 0, got 0.0."),
    (lambda: Adam(eps=None), TypeError, "eps must be a real number, got NoneType None."),  # type: ignore[arg-type]
    (lambda: SGD(schedule=5), TypeError, "schedule must be None, a name, a config dict or a callable"),
    (lambda: SGD(schedule="linear"), ValueError, "unknown schedule 'linear'; known names: constant, step, cosine."),
    (lambda: SGD(schedule={"step_size": 2}), ValueError, "unknown schedule None"),
    (lambda: SGD(1.0, schedule=lambda e: -1.0), ValueError, "schedule factor at epoch 0 must be >= 0, got -1.0."),
    (lambda: StepDecay(0), ValueError, "step_size must be >= 1, got 0."),
    (lambda: StepDecay(2.5), TypeError, "step_size must be an integer, got float 2.5."),  # type: ignore[arg-type]
    (lambda: StepDecay(2, gamma=0), ValueError, "gamma must be in (0, 1], got 0."),
    (lambda: StepDecay(2, gamma=1.5), ValueError, "gamma must be in (0, 1], got 1.5."),
    (lambda: StepDecay(2, gamma="half"), TypeError, "gamma must be a real number, got str"),  # type: ignore[arg-type]
    (lambda: SGD(schedule=""), ValueError, "unknown schedule ''"),
    (lambda: Cosine(0), ValueError, "total_epochs must be >= 1, got 0."),
    (lambda: Cosine(10.0), TypeError, "total_epochs must be an integer, got float 10.0."),  # type: ignore[arg-type]
    (lambda: Cosine(10, min_factor=1.0), ValueError, "min_factor must be in [0, 1), got 1.0."),
    (lambda: Cosine(10)(-1), ValueError, "epoch must be >= 0, got -1."),
    (lambda: StepDecay(2)(1.5), TypeError, "epoch must be an integer, got float 1.5."),  # type: ignore[arg-type]
    (lambda: make_optimizer("rmsprop"), ValueError,
     "unknown optimizer 'rmsprop'; known names: sgd, momentum, nesterov, adam."),
    (lambda: make_optimizer("adam", momentum=0.9), TypeError,
     "optimizer 'adam' has no option momentum; its options are lr, beta1, beta2, eps, weight_decay, schedule."),
    (lambda: make_schedule("linear"), ValueError, "unknown schedule 'linear'"),
    (lambda: optimizer_from_config({"lr": 0.1}), ValueError, "unknown optimizer None"),
    (lambda: optimizer_from_config("sgd"), TypeError, "config must be a dict"),  # type: ignore[arg-type]
])
def test_bad_arguments_raise(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()


def test_refused_set_epoch_changes_nothing():
    optimizer = SGD(0.2, schedule=StepDecay(1, gamma=0.5))
    optimizer.set_epoch(1)
    with pytest.raises(ValueError, match=re.escape("epoch must be >= 0, got -2.")):
        optimizer.set_epoch(-2)
    with pytest.raises(TypeError, match=re.escape("epoch must be an integer, got str '3'.")):
        optimizer.set_epoch("3")
    assert (optimizer.epoch, optimizer.eta) == (1, 0.1)


@pytest.mark.parametrize("params, grads, message", [
    ([np.ones((2, 2)), np.ones(2)], [np.ones((2, 2))], "params and grads must have the same length, got 2 and 1."),
    ([np.ones((2, 2))], [np.ones((2, 3))], ("grads[0] must match params[0] (floating, shape (2, 2), float64), "
                                            "got shape (2, 3), float64.")),
    ([np.ones(2)], [np.ones(2, np.float32)], "got shape (2,), float32."),
    ([np.ones(2, int)], [np.ones(2, int)], "must match params[0] (floating"),
])
def test_first_step_checks_lengths_shapes_dtypes_and_changes_nothing(params, grads, message):
    optimizer = Adam()
    saved = [p.copy() for p in params]
    with pytest.raises(ValueError, match=re.escape(message)):
        optimizer.step(params, grads)
    assert optimizer.t == 0 and optimizer.m == [] and optimizer.v == []
    for p, p0 in zip(params, saved):
        np.testing.assert_array_equal(p, p0)


def stepped_adam():
    params, grads = start()
    optimizer = Adam(0.1)
    optimizer.step(params, grads)
    return optimizer, params


def edited(state, **changes):
    return {**state, **changes}


@pytest.mark.parametrize("change, error, message", [
    (lambda s: [1, 2], TypeError, "state must be a dict from state_dict(), got list."),
    (lambda s: {k: v for k, v in s.items() if k != "t"}, ValueError, "missing ['t'], unexpected []"),
    (lambda s: edited(s, extra=1), ValueError, "missing [], unexpected ['extra']"),
    (lambda s: edited(s, name="sgd"), ValueError, "state is for optimizer 'sgd'; this optimizer is 'adam'."),
    (lambda s: edited(s, lr=-1.0), ValueError, "lr must be > 0, got -1.0."),
    (lambda s: edited(s, beta2=1.0), ValueError, "beta2 must be in [0, 1), got 1.0."),
    (lambda s: edited(s, t=-1), ValueError, "t must be >= 0, got -1."),
    (lambda s: edited(s, epoch=0.5), TypeError, "epoch must be an integer, got float 0.5."),
    (lambda s: edited(s, eta=float("nan")), ValueError, "eta must be finite, got nan."),
    (lambda s: edited(s, m=np.zeros((1, 2))), TypeError, "state m must be a list of arrays, got ndarray."),
    (lambda s: edited(s, v=[[0.0, 0.0], np.zeros(1)]), TypeError, "state v[0] must be a floating ndarray"),
    (lambda s: edited(s, v=[np.zeros((2, 1)), np.zeros(1)]), ValueError, "state arrays must all have the same shapes"),
    (lambda s: edited(s, m=[np.zeros((1, 3)), np.zeros(3)], v=[np.zeros((1, 3)), np.zeros(3)]), ValueError,
     "this optimizer already updates arrays of shapes [(1, 2), (1,)]"),
])
def test_refused_load_state_dict_changes_nothing(change, error, message):
    optimizer, _ = stepped_adam()
    before = optimizer.state_dict()
    with pytest.raises(error, match=re.escape(message)):
        optimizer.load_state_dict(change(optimizer.state_dict()))
    after = optimizer.state_dict()
    assert after.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, list):
            for a, b in zip(after[key], value):
                np.testing.assert_array_equal(a, b, err_msg=key)
        else:
            assert after[key] == value, key


def test_loaded_state_must_fit_the_params_at_the_next_step():
    params, grads = start()
    optimizer = Momentum()
    optimizer.load_state_dict(edited(optimizer.state_dict(), t=1, velocity=[np.zeros((2, 2)), np.zeros(2)]))
    with pytest.raises(ValueError, match=re.escape("the loaded velocity has shapes [(2, 2), (2,)]; "
                                                   "params have [(1, 2), (1,)].")):
        optimizer.step(params, grads)
    check(params[0], [[1.0, 2.0]], "W after a refused step")
