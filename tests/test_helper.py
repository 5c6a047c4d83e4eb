"""The helper thread of the compiled mini-batch kernel: bit-identical under load, bounded waits, asleep when idle."""

import logging
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from deltaprop import Network, train
from deltaprop.engine import sparse, support

pytestmark = pytest.mark.skipif(not (support.available() and support.helper_supported()),
                                reason="the helper thread needs numba on Linux x86-64")


def sparse_data(m, n_0, n_L, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_0)).astype(np.float32)
    X[rng.random(X.shape) < 0.8] = 0.0
    return X, rng.integers(0, n_L, m)


def helpers(monkeypatch):
    """Every Helper made while the test runs."""
    from deltaprop.engine import _helper

    made = []
    init = _helper.Helper.__init__

    def record(self):
        init(self)
        made.append(self)

    monkeypatch.setattr(_helper.Helper, "__init__", record)
    return made


@pytest.fixture
def busy_core():
    """A process that spins on a core for as long as the test runs (started and stopped here)."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield spinner
    finally:
        spinner.kill()
        spinner.wait(timeout=10)


def test_thousands_of_shared_batches_under_load_equal_the_one_thread_path(monkeypatch, busy_core):
    from deltaprop.engine import _helper

    monkeypatch.setattr(sparse, "PAIR_PRODUCT", 1)  # share every product above the first layer too
    monkeypatch.setattr(sparse, "PAIR_ENTRIES", 64)  # and every weight matrix's update
    X, y = sparse_data(16_000, 60, 5, 0)
    made = helpers(monkeypatch)
    results = {}
    for way, share in (("shared", True), ("alone", False)):
        monkeypatch.setattr(_helper._Site, "choose", lambda site, share=share: share)
        net = Network([60, 48, 40, 5], ["relu", "tanh", "softmax"], "cross_entropy", seed=1)
        train(net, X, y, epochs=2, batch_size=32, optimizer="momentum", lr=0.05, seed=2, kernel="compiled")
        results[way] = net.weights + net.biases
    assert busy_core.poll() is None, "the busy loop ran throughout"
    assert made and made[0].thread is None, "the helper thread was stopped when training ended"
    for i, (a, b) in enumerate(zip(results["shared"], results["alone"])):
        assert a.dtype == np.float32 and np.array_equal(a, b), f"params[{i}] (1,000 batches each way)"


def _finish_in_thread(pair, unclaimed):
    """pair.finish(unclaimed) in a thread: (the thread, its result list)."""
    result = []
    thread = threading.Thread(target=lambda: result.append(pair.finish(unclaimed)), daemon=True)
    thread.start()
    return thread, result


def test_a_late_helper_is_left_alone_and_the_log_says_so(monkeypatch, caplog):
    from deltaprop.engine import _helper

    rng = np.random.default_rng(3)
    net = Network([50, 8, 3], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=4)
    X = rng.standard_normal((64, 50)) * (rng.random((64, 50)) < 0.3)
    Y = np.eye(3)[rng.integers(0, 3, 64)]
    kernel = sparse.SparseKernel(net, 64)
    kernel.gradients(X, Y)  # binds the helper's arrays and starts its thread
    pair = kernel.pair
    _helper.set_mode(pair.ctl, _helper.NAP)  # the helper falls asleep: it cannot answer a command
    deadline = time.monotonic() + 10
    while not pair.napping[0] and time.monotonic() < deadline:
        time.sleep(1e-3)
    assert pair.napping[0] and not pair.late
    monkeypatch.setattr(_helper, "FINISH_SPINS", 1000)
    try:
        # 1. A command the helper has claimed (CMD = RUNNING) is waited for past the bound: its results are
        #    needed. The caller marks the helper late and logs it, then waits until the command is done.
        pair.ctl[_helper.CMD] = _helper.RUNNING
        with caplog.at_level(logging.DEBUG, logger="deltaprop.engine"):
            thread, result = _finish_in_thread(pair, _helper.GROUP)
            thread.join(0.5)
            assert thread.is_alive() and pair.late, "finish returned while the helper still ran a claimed command"
            assert "computes alone from now on" in caplog.text
            pair.ctl[_helper.CMD] = _helper.NONE  # the helper is done
            thread.join(10)
        assert not thread.is_alive() and result == [True]
        # 2. A command the helper never claimed is withdrawn (the caller does it itself), not waited for.
        _helper.post(pair.ctl, _helper.GROUP, 0, 0, 0, 64, 1)
        thread, result = _finish_in_thread(pair, _helper.GROUP)
        thread.join(10)
        assert not thread.is_alive(), "finish waited for a command the sleeping helper never claimed"
        assert result == [False] and pair.ctl[_helper.CMD] == _helper.NONE, "the command was not withdrawn"
    finally:
        pair.ctl[_helper.CMD] = _helper.NONE  # releases a finish that is stuck in a broken fallback
    # 3. From now on the caller computes alone, even where a site would rather share: no command is posted,
    #    the helper stays asleep, and the gradients are the reference's.
    posted = []
    monkeypatch.setattr(_helper, "post", lambda ctl, cmd, *rest: posted.append(cmd))
    monkeypatch.setattr(_helper._Site, "choose", lambda site: True)
    for _ in range(3):
        kernel.gradients(X, Y)
        dW, db = net.gradients(X, Y)
        for a, b in zip(kernel.dW + kernel.db, dW + db):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert posted == [], "a late helper got commands"
    assert pair.napping[0], "a late helper gets no more commands and stays asleep"
    kernel.close()


def test_the_helper_sleeps_while_a_callback_runs(monkeypatch):
    X, y = sparse_data(2_000, 60, 3, 5)
    made = helpers(monkeypatch)
    seen = []

    def slow_callback(event):
        if event.kind == "batch" and event.batch == 5:  # the helper has been busy with batches 1-5
            deadline = time.monotonic() + 2
            while not made[0].napping[0] and time.monotonic() < deadline:
                time.sleep(1e-3)
            seen.append(made[0].napping[0])

    net = Network([60, 16, 3], ["relu", "softmax"], "cross_entropy", seed=6)
    train(net, X, y, epochs=1, batch_size=64, seed=7, kernel="compiled", callbacks=[slow_callback])
    assert seen == [True]


def test_no_helper_where_its_primitives_are_not_verified(monkeypatch):
    monkeypatch.setattr(support, "helper_supported", lambda: False)
    net = Network([50, 8, 3], ["relu", "softmax"], "cross_entropy")
    kernel = sparse.SparseKernel(net, 64)
    assert kernel.pair is None
