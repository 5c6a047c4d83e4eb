"""The benchmark harness (deltaprop.bench, ``deltaprop bench``) on tiny configurations.

No timing is asserted: these tests check that every contender solves the same problem (weights
after the same steps agree with deltaprop's), that the floor computes the products it claims,
that targets and slopes follow from the numbers, and that the JSON, table and PNGs come out with
skipped contenders noted. Speed itself is measured by ``benchmarks/compare.py``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from deltaprop.bench import Options, plan
from deltaprop.bench.configs import Target, Task
from deltaprop.bench.contenders import Cli, Deltaprop, Floor, NumpyLoop, draw, initial_network, one_hot
from deltaprop.bench.harness import summary, synthetic_rows
from deltaprop.bench.process import Worker, WorkerError, unavailable
from deltaprop.bench.report import _finite
from deltaprop.bench.targets import check_one, slopes
from deltaprop.bench.worker import Data
from deltaprop.cli import main

TINY = ["--dataset", "synthetic", "--train-rows", "300", "--test-rows", "100", "--rounds", "1", "--seeds", "1",
        "--steps", "40", "--max-epochs", "2", "--widths", "8,32", "--depths", "1,2", "--settle", "0.01"]


def tiny_data(m: int = 64, seed: int = 0) -> Data:
    rows = synthetic_rows(m, 32, seed)
    return Data(rows["X_train"], rows["y_train"], rows["X_test"], rows["y_test"])


def nonblank_png(path) -> None:
    import matplotlib.image

    img = matplotlib.image.imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, f"{path}: shape {img.shape}"
    gray = img[..., :3].mean(axis=2)
    assert (gray < 0.9).mean() > 0.01, f"{path} is (nearly) blank"


# ----- the contenders agree with deltaprop ------------------------------------------------------------------
def test_numpy_loop_matches_deltaprop_per_sample_sgd():
    task = Task(kind="steps", sizes=(2, 2, 3, 2), hidden="sigmoid", output="sigmoid", cost="quadratic",
                optimizer="sgd", lr=0.05, momentum=0.0, batch_size=1, steps=30, replacement=True,
                dtype="float64", init=0.5, data="higham")
    loop = NumpyLoop(None)
    loop.reset(task, seed=3)
    out = loop.run()
    assert out["steps"] == 30 and out["seconds"] >= 0
    # The same 30 draws, through deltaprop.train with one sample per batch, in order.
    from deltaprop import train
    from deltaprop.datasets import higham_points

    X, Y = higham_points()
    idx = draw(np.random.default_rng(3), 10, 30, True)
    net = initial_network(task, 3)
    train(net, X[idx], Y[idx], epochs=1, batch_size=1, optimizer="sgd", lr=0.05, shuffle=False)
    for l in (1, 2, 3):
        assert loop.W[l].shape == net.weights[l - 1].shape
        np.testing.assert_allclose(loop.W[l], net.weights[l - 1], rtol=1e-12, atol=1e-14, err_msg=f"W[{l}]")
        np.testing.assert_allclose(loop.b[l], net.biases[l - 1], rtol=1e-12, atol=1e-14, err_msg=f"b[{l}]")
    assert 0 <= loop.evaluate() <= 1


def _full_batch(m: int, optimizer: str = "momentum", lr: float = 0.1) -> Task:
    # One batch of all m rows: the shuffle order cannot change the step, so the peers must agree.
    return Task(kind="epoch", sizes=(784, 16, 10), batch_size=m, optimizer=optimizer, lr=lr)


def _deltaprop_after(task: Task, data: Data, epochs: int) -> list[np.ndarray]:
    c = Deltaprop(data)
    c.reset(task, seed=1)
    for _ in range(epochs):
        assert c.run()["steps"] == data.X_train.shape[0]
    return c.net.weights


@pytest.mark.parametrize("optimizer, lr", [("momentum", 0.1), ("adam", 1e-3)])
def test_torch_contender_takes_the_same_steps(optimizer, lr):
    pytest.importorskip("torch")
    from deltaprop.bench.peers import Torch

    data = tiny_data()
    task = _full_batch(64, optimizer, lr)
    peer = Torch(data, threads=1)
    peer.reset(task, seed=1)
    for _ in range(3):
        peer.run()
    ours = _deltaprop_after(task, data, 3)
    theirs = [m.weight.detach().numpy().T for m in peer.model if hasattr(m, "weight")]  # (n_{l-1}, n_l)
    for l, (W, V) in enumerate(zip(ours, theirs), start=1):
        assert V.shape == W.shape
        np.testing.assert_allclose(V, W, rtol=1e-4, atol=2e-6, err_msg=f"W[{l}] after 3 steps")
    assert 0 <= peer.evaluate() <= 1


def test_sklearn_contender_takes_the_same_steps():
    pytest.importorskip("sklearn")
    from deltaprop.bench.peers import Sklearn

    data = tiny_data()
    task = _full_batch(64)
    peer = Sklearn(data)
    peer.reset(task, seed=1)
    for _ in range(3):
        peer.run()
    ours = _deltaprop_after(task, data, 3)
    for l, (W, V) in enumerate(zip(ours, peer.clf.coefs_), start=1):
        assert V.shape == W.shape and V.dtype == np.float32
        np.testing.assert_allclose(V, W, rtol=1e-4, atol=2e-6, err_msg=f"W[{l}] after 3 steps")


def test_cli_contender_trains_what_train_trains_in_its_own_process():
    from deltaprop.train import train

    data = tiny_data(m=300)
    task = Task(kind="epoch", sizes=(784, 16, 10), batch_size=32)
    cli = Cli(data)
    cli.reset(task, seed=3)
    out = cli.run()  # deltaprop train --epochs 2 in a subprocess
    assert out["steps"] == 300 and out["seconds"] > 0
    net = initial_network(task, 3)
    train(net, data.X_train, one_hot(data.y_train, 10, "float32"), epochs=2, batch_size=32, optimizer="momentum",
          lr=0.1, optimizer_options={"momentum": 0.9}, seed=3)
    want = np.mean(net.forward(data.X_test).argmax(axis=1) == data.y_test)
    assert cli.evaluate() == pytest.approx(want, abs=1e-12)
    assert cli.memory()["peak_rss"] > 20 * 2**20  # the child's interpreter and NumPy, at least


def test_cli_contender_runs_the_deltaprop_it_measures(tmp_path, monkeypatch):
    # a PYTHONPATH that names another deltaprop (or a relative "src", lost in the child's own folder) must not
    # change which package the child runs: the one this bench imported
    decoy = tmp_path / "decoy" / "deltaprop"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("")
    (decoy / "__main__.py").write_text("raise SystemExit('the decoy deltaprop ran')\n")
    monkeypatch.setenv("PYTHONPATH", str(decoy.parent))
    cli = Cli(tiny_data(m=100))
    cli.reset(Task(kind="epoch", sizes=(784, 8, 10), batch_size=50), seed=0)
    assert cli.run()["steps"] == 100


def test_floor_computes_the_five_products_of_each_batch():
    data = tiny_data(m=10)
    floor = Floor(data)
    floor.reset(Task(kind="epoch", sizes=(784, 6, 3), batch_size=4), seed=0)
    assert floor.run()["steps"] == 10
    Xb = data.X_train[8:10]  # the last batch has k = 2 rows
    W, d = floor.W, floor.delta
    z1 = Xb @ W[1]
    expected = {"z1": (floor.z[1][:2], z1), "z2": (floor.z[2][:2], z1 @ W[2]),
                "back1": (floor.back[1][:2], d[2][:2] @ W[2].T), "dW1": (floor.dW[1], Xb.T @ d[1][:2]),
                "dW2": (floor.dW[2], z1.T @ d[2][:2])}
    for name, (got, want) in expected.items():
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=name)
    assert floor.evaluate() is None


def test_draw_without_replacement_is_shuffled_passes():
    idx = draw(np.random.default_rng(0), 7, 17, False)
    assert idx.shape == (17,)
    assert sorted(idx[:7]) == list(range(7)) and sorted(idx[7:14]) == list(range(7))
    with_replacement = draw(np.random.default_rng(0), 7, 1000, True)
    assert with_replacement.shape == (1000,) and with_replacement.min() >= 0 and with_replacement.max() < 7
    assert one_hot(np.array([2, 0]), 3, "float32").tolist() == [[0, 0, 1], [1, 0, 0]]


# ----- targets, slopes, statistics --------------------------------------------------------------------------
def _result(**medians):
    rows = {c: ({"status": "skipped", "note": "skipped: torch is not installed"} if v is None
                else {"status": "ok", "median": v, "peak_rss": None, "data_bytes": 0})
            for c, v in medians.items()}
    return {"points": [{"label": "784-256-10", "contenders": rows}]}


def test_ratio_speedup_and_seconds_targets():
    result = _result(deltaprop=1.0, pytorch=2.5, floor=0.5)
    ratio = check_one(Target("ratio", "x PyTorch", 0.55, other="pytorch"), result)
    assert ratio["status"] == "PASS" and ratio["value"] == pytest.approx(0.4, rel=1e-12)
    floor = check_one(Target("ratio", "x floor", 1.2, other="floor"), result)
    assert floor["status"] == "FAIL" and floor["value"] == pytest.approx(2.0, rel=1e-12)
    speed = check_one(Target("speedup", "5x", 5.0, other="pytorch"), _result(deltaprop=1.0, pytorch=6.0))
    assert speed["status"] == "PASS" and speed["value"] == pytest.approx(6.0, rel=1e-12)
    assert check_one(Target("seconds", "<= 2 s", 2.0), _result(deltaprop=2.5))["status"] == "FAIL"
    missing = check_one(Target("ratio", "x PyTorch", 0.55, other="pytorch"), _result(deltaprop=1.0, pytorch=None))
    assert missing["status"] == "n/a" and "not installed" in missing["detail"]


def test_ratios_pair_the_rounds_when_both_ran_in_them():
    # Round by round: deltaprop 1, 2, 4, 1, 3 (median 2); floor 1, 1, 2, 2, 2 (median 2).
    # Paired ratios 1, 2, 2, 0.5, 1.5: median 1.5, where the medians' ratio is 1.
    result = _result(deltaprop=2.0, floor=2.0, pytorch=4.0)
    rows = result["points"][0]["contenders"]
    rows["deltaprop"]["round_seconds"] = [1.0, 2.0, 4.0, 1.0, 3.0]
    rows["floor"]["round_seconds"] = [1.0, 1.0, 2.0, 2.0, 2.0]
    floor = check_one(Target("ratio", "x floor", 1.2, other="floor"), result)
    assert floor["status"] == "FAIL" and floor["value"] == 1.5
    assert "median of 5 paired rounds (range 0.50-2.00)" in floor["detail"] and "medians 1.00" in floor["detail"]
    # A round without a result (None) pairs with nothing; fewer than 3 pairs: the medians' ratio.
    rows["pytorch"]["round_seconds"] = [None, 8.0, None, None, 2.0]
    assert check_one(Target("ratio", "x PyTorch", 0.55, other="pytorch"), result)["value"] == 0.5
    rows["pytorch"]["round_seconds"] = [2.0, None, 8.0, 2.0, 12.0]  # pairs 0.5, 0.5, 0.5, 0.25
    speed = check_one(Target("speedup", "2x", 2.0, other="pytorch"), result)
    assert speed["value"] == 2.0 and speed["status"] == "PASS"  # median of 2, 2, 2, 4


def test_memory_target_is_data_plus_50_mb():
    result = _result(deltaprop=1.0)
    row = result["points"][0]["contenders"]["deltaprop"]
    row.update(data_bytes=60 * 2**20, peak_rss=100 * 2**20)
    verdict = check_one(Target("memory", "mem", 50 * 2**20), result)
    assert verdict["status"] == "PASS" and verdict["limit"] == 110 * 2**20
    row["peak_rss"] = 111 * 2**20
    assert check_one(Target("memory", "mem", 50 * 2**20), result)["status"] == "FAIL"


def test_scaling_slopes_are_the_exponents_of_power_laws():
    widths = [64, 128, 256, 512]
    points = [{"label": f"width {w}", "contenders": {
        "deltaprop": {"status": "ok", "median": 3e-3 * w ** 1.0},
        "floor": {"status": "ok", "median": 1e-4 * w ** 1.5}}} for w in widths]
    found = slopes({"points": points})
    np.testing.assert_allclose([found["width"]["deltaprop"], found["width"]["floor"]], [1.0, 1.5],
                               rtol=1e-9, atol=1e-9)
    assert found["depth"] == {}
    verdict = check_one(Target("scaling", "width", 0.1), {"points": points, "slopes": found})
    assert verdict["status"] == "PASS" and verdict["value"] == pytest.approx(-0.5, abs=1e-9)


def test_summary_and_json_cleaning():
    assert summary([3.0, 1.0, 2.0, 10.0]) == {"median": 2.5, "min": 1.0, "max": 10.0}
    assert summary([]) == {"median": None, "min": None, "max": None}
    assert _finite({"a": [math.inf, 1.0], "b": math.nan}) == {"a": [None, 1.0], "b": None}


# ----- options, availability, processes ---------------------------------------------------------------------
@pytest.mark.parametrize("bad, match", [
    ({"configs": ("fast",)}, "unknown configuration 'fast'"),
    ({"skip": ("deltaprop",)}, "cannot skip 'deltaprop'"),
    ({"without": ("numpy",)}, "optional packages"),
    ({"rounds": 0}, "rounds must be a positive integer, got 0"),
    ({"threshold": 1.5}, r"threshold is a test accuracy in \(0, 1\], got 1.5"),
    ({"widths": ()}, "widths must be a non-empty list"),
    ({"settle": -0.1}, r"settle must be a number of seconds >= 0, got -0.1"),
])
def test_bad_options_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        Options(**bad)


def test_bad_flag_exits_2_with_one_line(capsys):
    assert main(["bench", "--configs", "minibatch,warp"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "warp" in err and "minibatch" in err


def test_unusable_out_folder_fails_before_the_run(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["bench", "--configs", "higham", "--out", str(blocker / "results")]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert captured.out == "" and blocker.read_text() == "not a folder"


def test_plan_extrapolates_the_slow_contenders():
    full = {c.name: c for c in plan(Options())}
    per_sample = full["per-sample"].points[0]
    assert per_sample.total_steps == 60_000
    assert per_sample.tasks["deltaprop"].steps == 60_000 and per_sample.tasks["pytorch"].steps == 5_000
    higham = full["higham"].points[0]
    assert higham.total_steps == 10**6 and higham.tasks["numpy-loop"].steps < 10**6
    assert [p.label for p in full["scaling"].points][:2] == ["width 64", "width 128"]
    quick = {c.name: c for c in plan(Options(quick=True))}
    assert quick["minibatch"].rows == (10_000, 2_000) and quick["minibatch"].rounds == 2
    adam = plan(Options(configs=("time-to-98",), time_optimizer="adam"))[0]
    tasks = adam.points[0].tasks
    assert tasks["pytorch"] == tasks["deltaprop"] == replace(tasks["deltaprop"], optimizer="adam", lr=1e-3)


def test_missing_or_wrong_torch_is_a_note(monkeypatch):
    assert "simulated by --without torch" in unavailable("pytorch", Options(without=("torch",)))
    assert unavailable("sklearn", Options(skip=("sklearn",))) == "skipped by --skip"
    assert unavailable("floor", Options()) is None
    from deltaprop.bench import process

    monkeypatch.setattr(process.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(process.importlib.metadata, "version", lambda name: "2.5.1+cpu")
    assert unavailable("pytorch", Options()) == "skipped: the benchmark needs torch==2.13.0, found 2.5.1+cpu"


def test_worker_reports_errors_and_stays_alive():
    worker = Worker("deltaprop", None, threads=1, timeout=120)
    try:
        assert worker.started()["data_bytes"] == 0
        with pytest.raises(WorkerError, match="needs MNIST rows"):
            worker.call("reset", task=Task(kind="epoch", sizes=(784, 8, 10)), seed=0)
        memory = worker.call("memory")
        assert memory["peak_rss"] >= memory["rss"] > 0
    finally:
        worker.close()
    assert worker.proc.returncode == 0


def test_peak_rss_sees_a_touched_array():
    code = ("import numpy as np; from deltaprop.bench.worker import peak_rss\n"
            "before = peak_rss(); x = np.ones(100 * 2**20 // 8); print(before, peak_rss(), x.nbytes)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, after, nbytes = map(int, out.split())
    assert after - before >= 0.95 * nbytes


# ----- whole runs -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def numpy_only_run(tmp_path_factory):
    """Every configuration, tiny, with torch and scikit-learn simulated as missing (CLI in-process)."""
    out = tmp_path_factory.mktemp("bench")
    argv = ["bench", *TINY, "--without", "torch,sklearn", "--threshold", "0.2", "--out", str(out), "--quiet"]
    code = main(argv)
    return code, out, json.loads((out / "bench.json").read_text())


def test_numpy_only_run_has_every_configuration(numpy_only_run):
    code, _, doc = numpy_only_run
    assert code == 0
    assert [c["name"] for c in doc["configurations"]] == list(Options().configs)
    for conf in doc["configurations"]:
        assert {"title", "unit", "points", "targets", "load_average"} <= set(conf)
        assert conf["targets"] and all(t["status"] in ("PASS", "FAIL", "n/a") for t in conf["targets"])
        for point in conf["points"]:
            row = point["contenders"]["deltaprop"]
            assert row["status"] == "ok", (conf["name"], row)
            assert row["median"] is None or row["median"] > 0
            if "pytorch" in point["contenders"]:
                skipped = point["contenders"]["pytorch"]
                assert skipped["status"] == "skipped" and "simulated by --without torch" in skipped["note"]
    by_name = {c["name"]: c for c in doc["configurations"]}
    per_sample = by_name["per-sample"]["points"][0]["contenders"]["deltaprop"]
    assert per_sample["timed_steps"] == 40 and per_sample["extrapolated"] and "x7.5" in per_sample["note"]
    assert by_name["minibatch"]["targets"][0]["status"] == "n/a"  # no PyTorch to compare with
    cli = by_name["minibatch"]["points"][0]["contenders"]["cli"]  # the command line's row
    assert cli["status"] == "ok" and cli["median"] > 0 and 0 <= cli["accuracy"] <= 1
    memory = by_name["memory"]["points"][0]["contenders"]["deltaprop"]
    assert memory["peak_rss"] > memory["data_bytes"] == (300 + 100) * (784 * 4 + 8)
    assert set(by_name["scaling"]["slopes"]) == {"width", "depth"}


def test_numpy_only_run_writes_charts(numpy_only_run):
    _, out, _ = numpy_only_run
    nonblank_png(out / "bench.png")
    nonblank_png(out / "bench_scaling.png")


def test_table_names_every_target():
    from deltaprop.bench.report import table

    doc = {"deltaprop": "x", "seconds": 1.0, "options": {"threads": 2},
           "machine": {"cpus": 2, "processor": "cpu", "python": "3", "versions": {}, "load_average": [0.5]},
           "configurations": [{"name": "minibatch", "title": "t", "unit": "s/epoch", "note": "", "rounds": 1,
                               "seeds": 1, "threshold": None, "load_average": [0.5, 0.6],
                               "points": [{"label": "784-256-10", "contenders": {
                                   "deltaprop": {"status": "ok", "median": 1.0, "min": 0.9, "max": 1.1,
                                                 "accuracy": 0.97, "peak_rss": 300 * 2**20,
                                                 "data_bytes": 220 * 2**20, "note": ""},
                                   "pytorch": {"status": "ok", "median": 2.0, "min": 2.0, "max": 2.0,
                                               "accuracy": 0.96, "peak_rss": None, "data_bytes": 0, "note": ""}}}],
                               "targets": [{"text": "deltaprop <= 0.55 x PyTorch", "value": 0.5, "limit": 0.55,
                                            "status": "PASS", "detail": ""}]}]}
    text = table(doc)
    assert "PASS deltaprop <= 0.55 x PyTorch: 0.5" in text
    line = next(line for line in text.splitlines() if line.startswith("  deltaprop "))
    assert line.split()[1:5] == ["1", "0.9", "1.1", "0.50"] and "97.00%" in line and "300 (data 220)" in line


def test_run_with_the_real_peers(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from deltaprop.bench import run_benchmark

    opts = Options(configs=("minibatch", "time-to-98"), dataset="synthetic", train_rows=256, test_rows=64,
                   rounds=1, seeds=1, max_epochs=2, threshold=0.01, threads=1, settle=0)
    doc = run_benchmark(opts)
    minibatch, ttt = doc["configurations"]
    rows = minibatch["points"][0]["contenders"]
    assert set(rows) == {"deltaprop", "pytorch", "sklearn", "floor", "cli"}
    for c, row in rows.items():
        assert row["status"] == "ok", (c, row)
        assert row["peak_rss"] > row["data_bytes"] == (256 + 64) * (784 * 4 + 8)
        assert (row["accuracy"] is None) == (c == "floor")
    assert all(t["status"] in ("PASS", "FAIL") for t in minibatch["targets"])
    for c in ("deltaprop", "pytorch"):
        run = ttt["points"][0]["contenders"][c]["runs"][0]
        assert run["reached"] and run["epochs"] == 1 and run["seconds"] == run["epoch_seconds"][0]
    assert ttt["targets"][0]["status"] in ("PASS", "FAIL")
