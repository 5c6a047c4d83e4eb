"""Higham & Higham (2019), Section 3: the starting cost, the early plateau, and the full 10^6-step run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.datasets import higham_points

_spec = importlib.util.spec_from_file_location(
    "higham_example", Path(__file__).resolve().parents[1] / "examples" / "higham.py")
higham = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(higham)


def test_paper_cost_is_twenty_times_ours():
    X, Y = higham_points()
    net = Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64", seed=0, init=0.5)
    a = net.forward(X)
    by_hand = sum(float(np.sum((y - ai) ** 2)) for y, ai in zip(Y, a))  # sum_i ||y_i - a_i||^2
    assert higham.higham_cost(net, X, Y) == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(20 * net.cost(X, Y), rel=1e-12)


def test_starting_cost_over_seeds():
    # 0.5 * N(0, 1) weights and biases put every output near 1/2, so sum ||y - a||^2 is near
    # 10 * (1/4 + 1/4) = 5; the paper reports 5.3.
    X, Y = higham_points()
    costs = np.array([higham.higham_cost(Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64",
                                                 seed=s, init=0.5), X, Y) for s in range(20)])
    assert 4.5 <= np.median(costs) <= 6.0
    assert np.mean((costs >= 4.5) & (costs <= 6.0)) >= 0.8
    assert costs[0] == pytest.approx(5.3, abs=0.05)


def test_plateau_then_descent_numpy_loop():
    r = higham.run(30_000, seed=0, record_every=1000, use_fast=False)
    c = r["costs"]
    assert c.shape == (31,)
    assert c[10] > 0.85 * c[0]  # still on the early plateau after 10^4 steps
    assert c[-1] < 0.6 * c[0]  # and well below it after 3 * 10^4


def test_full_run_reproduces_the_paper():
    if higham.fast_path() is None:
        pytest.skip("deltaprop.sgd_steps is not there; 10^6 steps of the NumPy loop take about 100 s")
    r = higham.run(10**6, seed=0, record_every=10**5)
    assert r["costs"][-1] < 2e-3  # paper: 7.3e-4
    assert r["correct"] == 10


def test_full_run_with_the_eleventh_point():
    if higham.fast_path() is None:
        pytest.skip("deltaprop.sgd_steps is not there; 10^6 steps of the NumPy loop take about 100 s")
    # With (0.3, 0.7) added, some initialisations stop in a local minimum (cost 1.72, 10/11
    # right; with the NumPy loop, seeds 0, 1 and 5 do); the paper's Figure 9 shows one that does
    # not. Some seed among the first ten must reach it.
    for seed in (2, 3, *range(10)):  # 2 and 3 reached it in the NumPy loop: try them first
        r = higham.run(10**6, seed=seed, extra_point=True, record_every=10**5)
        if r["correct"] == 11 and r["costs"][-1] < 2e-3:
            return
    pytest.fail("no seed in 0..9 classified all eleven points")
