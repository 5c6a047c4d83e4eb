"""Streaming from files: deltaprop.datasets.stream (one pass), deltaprop.stream (the feed) and the command line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deltaprop
from deltaprop.checkpoint import checkpoint_path, load_checkpoint
from deltaprop.datasets import Scaling
from deltaprop.datasets import _shards as shards
from deltaprop.datasets import stream as ds_stream
from deltaprop.datasets.stream import Moments, open_stream
from deltaprop.stream import Stream
from deltaprop.train import train
from clitools import cli

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def table(m=600, n_0=5, seed=0, offset=0.0):
    """Features (m, n_0) float32 with far-off means and a 3-class integer label from the first two columns."""
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(m, n_0)) * np.linspace(0.5, 3, n_0) + offset + np.arange(n_0)).astype(np.float32)
    y = (X[:, 0] - offset > 0).astype(np.int64) + (X[:, 1] - offset > 1)
    return X, y


def npy_shards(folder: Path, X, y, sizes):
    """The rows as .npy shards of the given numbers of rows, the label the last column."""
    folder.mkdir(parents=True, exist_ok=True)
    A = np.column_stack([X, y.astype(X.dtype)])
    start = 0
    for i, k in enumerate(sizes):
        np.save(folder / f"part-{i:03d}.npy", A[start:start + k])
        start += k
    assert start == len(A)
    return folder


def parquet_file(path: Path, X, y, row_group_size, labels=None):
    columns = {f"x{k}": X[:, k] for k in range(X.shape[1])}
    columns["label"] = y if labels is None else np.asarray(labels)[y]
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


# ----- the one pass --------------------------------------------------------------------------------
@pytest.mark.parametrize("offset", [0.0, 1e4])
@pytest.mark.parametrize("block", [7, 4096])
def test_moments_merged_equal_the_two_pass_statistics(offset, block, monkeypatch):
    monkeypatch.setattr(ds_stream, "BLOCK_ROWS", block)
    X, _ = table(m=1001, offset=offset)
    mom = Moments()
    for part in np.array_split(X, [3, 10, 500, 501]):  # uneven parts, one of a single row
        mom.add(part)
    X64 = X.astype(np.float64)
    assert mom.n == 1001
    np.testing.assert_allclose(mom.mean, X64.mean(axis=0), rtol=1e-13, err_msg="mean")
    np.testing.assert_allclose(mom.std, X64.std(axis=0), rtol=1e-12, err_msg="std")


@pytest.mark.parametrize("kind", ["npy", "parquet"])
def test_streamed_scaling_equals_the_in_memory_scaling_of_the_training_rows(tmp_path, kind, monkeypatch):
    monkeypatch.setattr(shards, "CHUNK_BYTES", 24 * 37)  # 37 rows of 6 float32 columns per chunk
    X, y = table(m=1000, offset=1e3)
    path = (npy_shards(tmp_path / "d", X, y, [300, 1, 699]) if kind == "npy"
            else parquet_file(tmp_path / "d.parquet", X, y, 113))
    data = open_stream(path)
    assert len(data.files.chunks) > 5
    assert (data.n_train, data.n_test) == (750, 250)  # the last quarter of the rows
    expected = Scaling.standardize_from(X[:750])
    assert data.scaling.kind == "standardize"
    np.testing.assert_allclose(data.scaling.mean, expected.mean, rtol=1e-12, atol=0, err_msg="mean")
    np.testing.assert_allclose(data.scaling.std, expected.std, rtol=1e-12, atol=0, err_msg="std")
    assert data.task == "classification" and data.classes == (0, 1, 2)


def test_regression_target_scaling_equals_the_in_memory_one_and_inputs_in_the_unit_interval_are_kept(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.random((500, 3)).astype(np.float64)  # in [0, 1]: used as they are, as for an .npz file
    y = X @ [2.0, -1.0, 0.5] + 0.1 * rng.normal(size=500) + 40.0
    data = open_stream(npy_shards(tmp_path / "d", X, y, [250, 250]))
    assert data.task == "regression" and data.scaling.kind == "none"
    expected = Scaling.standardize_from(y[:375].reshape(-1, 1))
    np.testing.assert_allclose(data.target_scaling.mean, expected.mean, rtol=1e-12)
    np.testing.assert_allclose(data.target_scaling.std, expected.std, rtol=1e-12)


def test_many_distinct_targets_are_a_regression_or_too_many_classes(tmp_path, monkeypatch):
    monkeypatch.setattr(ds_stream, "MAX_DISTINCT", 20)  # the pass stops collecting distinct targets after 20
    X, _ = table(m=200)
    y = np.arange(200) % 30  # 30 distinct integers: a classification by CSV's rule (<= 50), too many to collect here
    path = npy_shards(tmp_path / "d", X, y, [200])
    assert open_stream(path).task == "regression"
    with pytest.raises(ValueError, match="more than 20 distinct targets; too many classes"):
        open_stream(path, task="classification")
    assert open_stream(npy_shards(tmp_path / "e", X, y % 3, [200])).classes == (0, 1, 2)


def test_text_labels_become_sorted_classes_and_a_column_is_chosen_by_name(tmp_path):
    X, y = table(m=300)
    path = parquet_file(tmp_path / "d.parquet", X, y, 64, labels=["cat", "ant", "bee"])
    data = open_stream(path)
    assert data.classes == ("ant", "bee", "cat")
    _, got = data.read(data.chunks(0, 300)[0])
    names = np.array(["cat", "ant", "bee"])[y[:64]]
    assert [data.classes[k] for k in got] == names.tolist()
    with pytest.raises(ValueError, match="column 'label' has type string; feature columns must be numeric"):
        open_stream(path, target="x0")  # the text column would then be a feature
    numbers = parquet_file(tmp_path / "n.parquet", X, y, 64)
    by_name = open_stream(numbers, target="x0", task="regression")  # any numeric column may be the target
    assert by_name.task == "regression" and by_name.n_features == 5


def test_one_npy_file_is_a_data_set_and_a_folder_does_not_hide_a_named_one(tmp_path, monkeypatch):
    X, y = table(m=200)
    npy_shards(tmp_path / "d", X, y, [200])
    one = open_stream(tmp_path / "d" / "part-000.npy")
    assert (one.n_train, one.n_features, one.digest) == (150, 5, open_stream(tmp_path / "d").digest)
    (tmp_path / "digits").mkdir()
    monkeypatch.chdir(tmp_path)
    assert not ds_stream.is_streamed("digits") and ds_stream.is_streamed("digits/")
    assert ds_stream.is_streamed("d") and ds_stream.is_streamed("x.parquet") and not ds_stream.is_streamed("x.csv")


def test_the_digest_depends_on_every_value(tmp_path):
    X, y = table(m=200)
    a = open_stream(npy_shards(tmp_path / "a", X, y, [100, 100])).digest
    X[150, 2] += 1
    b = open_stream(npy_shards(tmp_path / "b", X, y, [100, 100])).digest
    assert a != b


# ----- the feed ------------------------------------------------------------------------------------
def prepared(path, hidden=6, seed=0):
    data = open_stream(path)
    net = deltaprop.Network([data.n_features, hidden, data.n_outputs], ["tanh", "softmax"], "cross_entropy",
                            seed=seed)
    net.scaling, net.classes = data.scaling, data.classes
    return data, net


@pytest.mark.parametrize("kind", ["npy", "parquet"])
@pytest.mark.parametrize("batch_size", [1, 32, 45, 600])
def test_an_unshuffled_stream_trains_exactly_as_the_rows_in_memory(tmp_path, batch_size, kind, monkeypatch):
    monkeypatch.setattr(shards, "CHUNK_BYTES", 24 * 40)  # batches of 32 and 45 straddle the 40-row chunks
    monkeypatch.setattr(shards, "BLOCK_BYTES", 8 * 40 * 2)  # .npy: 13 rows a block
    monkeypatch.setattr(shards, "PARQUET_COLUMNS", 2)  # Parquet: columns into rows 2 at a time (the fifth alone)
    monkeypatch.setattr(shards, "TILE_ROWS", 7)  # ... 7 rows at a time
    X, y = table(m=800)
    data, net = prepared(npy_shards(tmp_path / "d", X, y, [130, 270, 400]) if kind == "npy"
                         else parquet_file(tmp_path / "d.parquet", X, y, 40))
    twin = net.copy()
    h = train(net, Stream(data, net, 0, data.n_train), None, epochs=2, batch_size=batch_size, shuffle=False,
              optimizer="adam", seed=1)
    Xs = data.scaling.apply(X[:data.n_train]).astype(np.float32)
    h2 = train(twin, Xs, y[:data.n_train], epochs=2, batch_size=batch_size, shuffle=False, optimizer="adam",
               seed=1, kernel="numpy")
    for l, (a, b) in enumerate(zip(net.weights + net.biases, twin.weights + twin.biases)):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b, err_msg=f"parameter {l}")
    assert h.train_cost == h2.train_cost


def test_a_shuffled_epoch_visits_every_row_once_and_holds_a_chunk_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "CHUNK_BYTES", 24 * 50)
    X, y = table(m=1000)
    X[:, 0] = np.arange(1000)  # the row number, to recognise rows after scaling
    data, net = prepared(npy_shards(tmp_path / "d", X, y, [1000]))
    net.scaling = None
    s = Stream(data, net, 0, data.n_train, seed=5)
    order = s.order(np.random.default_rng(0), True)
    assert sorted(order) == list(range(15))  # 750 rows in chunks of 50
    seen, bs = [], 32
    for b in range(-(-750 // bs)):
        Xw, _, idx = s.batch(order, 0, b, bs)
        assert len(Xw) <= 50 + bs  # the current chunk and the rest of the previous one
        seen += Xw[idx, 0].astype(int).tolist()
    assert sorted(seen) == list(range(750))
    first = order[0]
    assert set(seen[:32]) <= set(range(50 * first, 50 * first + 50))  # the first batch: the first chunk's rows
    assert seen[:50] != sorted(seen[:50])  # shuffled within the chunk
    s2 = Stream(data, net, 0, data.n_train, seed=5)  # the same seed, the same rows in the same order
    assert [s2.batch(order, 0, b, bs)[0][s2.batch(order, 0, b, bs)[2], 0].astype(int).tolist()
            for b in range(3)] == [seen[32 * b:32 * b + 32] for b in range(3)]


def test_library_resume_in_the_middle_of_a_chunk_is_bit_identical(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "CHUNK_BYTES", 24 * 70)
    X, y = table(m=900)
    path = npy_shards(tmp_path / "d", X, y, [500, 400])
    data, net = prepared(path)
    whole = net.copy()
    train(whole, Stream(data, whole, 0, data.n_train, seed=3), None, epochs=3, batch_size=16, optimizer="momentum",
          seed=4)
    states = []

    def stop_at_30(event):
        if event.kind == "batch" and event.epoch == 1 and event.batch == 30:  # batch 30 of 43: inside a chunk
            states.append(event.trainer.state())
            event.trainer.stop = True

    train(net, Stream(data, net, 0, data.n_train, seed=3), None, epochs=3, batch_size=16, optimizer="momentum",
          seed=4, callbacks=[stop_at_30])
    assert states and states[0]["perm"].shape == (len(Stream(data, net, 0, data.n_train).chunks),)
    again = open_stream(path)  # a new process would open the files again
    train(net, Stream(again, net, 0, again.n_train, seed=3), None, epochs=3, batch_size=16, optimizer="momentum",
          resume=states[0])
    for l, (a, b) in enumerate(zip(net.weights + net.biases, whole.weights + whole.biases)):
        np.testing.assert_array_equal(a, b, err_msg=f"parameter {l}")


def test_stream_refuses_targets_weights_and_another_network(tmp_path):
    X, y = table(m=100)
    data, net = prepared(npy_shards(tmp_path / "d", X, y, [100]))
    s = Stream(data, net, 0, 75)
    before = [W.copy() for W in net.weights]
    with pytest.raises(TypeError, match="holds its own targets"):
        train(net, s, y[:75])
    with pytest.raises(ValueError, match="another network"):
        train(net.copy(), s, None)
    with pytest.raises(ValueError, match="start < stop"):
        Stream(data, net, 75, 75)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.weights))


# ----- the command line ----------------------------------------------------------------------------
def deltaprop_cmd(*argv):
    return [sys.executable, "-m", "deltaprop", *map(str, argv)]


def same_weights(a: Path, b: Path) -> bool:
    A, B = deltaprop.load(a), deltaprop.load(b)
    return all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(A.weights + A.biases, B.weights + B.biases))


@pytest.mark.parametrize("kind", ["npy", "parquet"])
def test_cli_trains_on_a_stream_and_reports_the_held_out_last_rows(tmp_path, capsys, kind):
    X, y = table(m=1200)
    path = (npy_shards(tmp_path / "d", X, y, [600, 600]) if kind == "npy"
            else parquet_file(tmp_path / "d.parquet", X, y, 200))
    rc, out, err = cli(capsys, "train", "--dataset", f"{path}/" if kind == "npy" else path, "--hidden", "16",
                       "--epochs", "8", "--quiet", "--out", tmp_path / "m.safetensors",
                       "--metrics-json", tmp_path / "m.json")
    assert rc == 0, err
    import json

    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["dataset"]["train"] == 900 and metrics["dataset"]["test"] == 300
    assert metrics["split"] == {"kind": "last rows", "test_fraction": 0.25}
    net = deltaprop.load(tmp_path / "m.safetensors")
    assert net.scaling.to_json() == Scaling.standardize_from(X[:900]).to_json() or np.allclose(
        net.scaling.mean, Scaling.standardize_from(X[:900]).mean, rtol=1e-12)
    predicted = net.predict(net.scaling.apply(X[900:]))  # the test rows, scored independently
    accuracy = float(np.mean(np.asarray(net.classes)[predicted] == y[900:]))
    assert metrics["test_accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert accuracy > 0.9
    assert net.data["held_out"] == "last rows" and net.data["n_test"] == 300


def test_cli_stream_regression_scores_equal_the_in_memory_scores(tmp_path, capsys, monkeypatch):
    from deltaprop.commands.evaluate import scores

    monkeypatch.setattr(shards, "CHUNK_BYTES", 8 * 4 * 30)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3)) * 5 + 2
    y = np.sin(X[:, 0]) + X[:, 1] * 0.3 + 10
    path = npy_shards(tmp_path / "d", X, y, [400])
    rc, _, err = cli(capsys, "train", "--dataset", path, "--hidden", "8", "--epochs", "3", "--quiet",
                     "--early-stopping", "0", "--dtype", "float64", "--out", tmp_path / "m.safetensors", "--metrics-json", tmp_path / "m.json")
    assert rc == 0, err
    import json

    metrics = json.loads((tmp_path / "m.json").read_text())
    net = deltaprop.load(tmp_path / "m.safetensors")
    expected = scores(net, net.scaling.apply(X[300:]), y[300:])
    for k, v in expected.items():
        assert metrics[f"test_{k}"] == pytest.approx(v, rel=1e-9), k


SLOW = ["train", "--quiet", "--batch-size", "1", "--hidden", "32", "--epochs", "2", "--seed", "7",
        "--checkpoint-every", "50", "--optimizer", "adam"]


def test_cli_ctrl_c_mid_epoch_then_resume_is_bit_identical(tmp_path):
    X, y = table(m=4000, n_0=20)
    data = npy_shards(tmp_path / "d", X, y, [1500, 1500, 1000])
    whole = subprocess.run(deltaprop_cmd(*SLOW, "--dataset", data, "--out", tmp_path / "whole.safetensors",
                                         "--checkpoint-dir", tmp_path / "ck-whole"),
                           check=False, capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    ck = checkpoint_path(tmp_path / "ck")
    proc = subprocess.Popen(deltaprop_cmd(*SLOW, "--dataset", data, "--checkpoint-dir", tmp_path / "ck",
                                          "--out", tmp_path / "m.safetensors"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    versions: set[tuple[int, int]] = set()
    deadline = time.monotonic() + 120
    while len(versions) < 8 and time.monotonic() < deadline and proc.poll() is None:
        try:
            st = ck.stat()
            versions.add((st.st_ino, st.st_mtime_ns))
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    state = load_checkpoint(tmp_path / "ck").state
    assert state["epoch"] < 2 and (state["perm"] is None or 0 < state["batch"] < 3000)  # almost always mid-epoch
    assert not (tmp_path / "m.safetensors").exists()
    resumed = subprocess.run(deltaprop_cmd("train", "--resume", tmp_path / "ck", "--quiet"), check=False,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert same_weights(tmp_path / "m.safetensors", tmp_path / "whole.safetensors")


def test_cli_resume_refuses_changed_data(tmp_path, capsys):
    X, y = table(m=300)
    data = npy_shards(tmp_path / "d", X, y, [300])
    assert cli(capsys, "train", "--dataset", data, "--hidden", "4", "--epochs", "1", "--quiet",
               "--checkpoint-dir", tmp_path / "ck")[0] == 0
    X[10, 1] += 1
    npy_shards(tmp_path / "d", X, y, [300])
    rc, _, err = cli(capsys, "train", "--resume", tmp_path / "ck", "--quiet")
    assert rc == 2 and "differ from those the checkpoint was trained on" in err


def bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, list[str], str]]:
    X, y = table(m=100)
    cases: dict[str, tuple[Path, list[str], str]] = {}
    cases["no such path"] = (tmp_path / "missing.parquet", [], "no such file or folder")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    cases["empty folder"] = (tmp_path / "empty", [], "an empty folder; expected .parquet files or .npy shards")
    mixed = npy_shards(tmp_path / "mixed", X, y, [50, 50])
    np.save(mixed / "part-009.npy", np.zeros((5, 3)))
    cases["mixed widths"] = (mixed, [], "3 columns, part-000.npy has 6; expected shards of the same width")
    both = npy_shards(tmp_path / "both", X, y, [100])
    parquet_file(both / "x.parquet", X, y, 50)
    cases["both kinds"] = (both, [], "holds both .parquet and .npy files")
    text = tmp_path / "text.parquet"
    pq.write_table(pa.table({"a": ["x"] * 10, "b": np.arange(10.0), "label": np.arange(10) % 2}), text)
    cases["non-numeric column"] = (text, [], "column 'a' has type string; feature columns must be numeric")
    cases["missing target"] = (parquet_file(tmp_path / "t.parquet", X, y, 50), ["--target", "price"],
                               "no column named 'price'")
    nan = X.copy()
    nan[70, 2] = np.nan
    cases["NaN"] = (npy_shards(tmp_path / "nan", nan, y, [60, 40]), [], "part-001.npy, row 10, column '3': not finite")
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"a": pa.array([1.0, None, 3.0, 4.0]), "label": [0, 1, 0, 1]}), nulls)
    cases["missing value"] = (nulls, [], "column 'a': 1 missing values")
    (tmp_path / "notes.parquet").write_text("not parquet")
    cases["not parquet"] = (tmp_path / "notes.parquet", [], "not a readable Parquet file")
    pickled = tmp_path / "obj"
    pickled.mkdir()
    np.save(pickled / "a.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    cases["pickled shard"] = (pickled, [], "not a NumPy .npy array")
    return cases


def test_cli_bad_streamed_inputs_exit_2_with_one_line_and_write_nothing(tmp_path, capsys):
    for name, (path, flags, fragment) in bad_inputs(tmp_path).items():
        out = tmp_path / f"{name}.safetensors"
        rc, stdout, err = cli(capsys, "train", "--dataset", path, *flags, "--quiet", "--out", out)
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1 and "Traceback" not in err and stdout == "", (name, err)
        assert fragment in lines[0], (name, lines[0])
        assert not out.exists(), name


def test_cli_bad_stream_by_subprocess_has_no_traceback(tmp_path):
    (tmp_path / "empty").mkdir()
    run = subprocess.run(deltaprop_cmd("train", "--dataset", tmp_path / "empty", "--quiet"), check=False,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "an empty folder" in run.stderr and "Traceback" not in run.stderr


def test_a_file_sorted_by_class_is_noted_and_the_one_pass_names_the_test_only_classes(tmp_path, capsys):
    X, y = table(m=400)
    y = np.repeat([0, 1, 2, 3], 100)  # sorted: the last 25 % (the held-out rows) are all class 3
    path = npy_shards(tmp_path / "sorted", X, y, [200, 200])
    assert open_stream(path).test_only == (3,)
    shuffled = npy_shards(tmp_path / "shuffled", X, np.random.default_rng(0).permutation(y), [400])
    assert open_stream(shuffled).test_only == ()
    rc, _, err = cli(capsys, "train", "--dataset", f"{path}/", "--hidden", "4", "--epochs", "1", "--quiet")
    assert rc == 0, err
    assert "only the held-out last 100 rows hold class(es) 3" in err and "sorted" in err
    rc, _, err = cli(capsys, "train", "--dataset", f"{shuffled}/", "--hidden", "4", "--epochs", "1", "--quiet")
    assert rc == 0 and "held-out" not in err, err


def test_held_out_rows_lacking_a_common_class_are_noted_and_a_rare_class_is_not(tmp_path, capsys):
    X, y = table(m=400)
    y = np.repeat([0, 1, 2], [100, 100, 200])  # sorted: the held-out last 100 rows are all class 2
    path = npy_shards(tmp_path / "sorted", X, y, [400])
    data = open_stream(path)
    assert (data.test_only, data.train_only) == ((), (0, 1))  # 100 training rows each: 33 expected among the test rows
    rare = np.random.default_rng(0).permutation(np.repeat([0, 1], 200))
    rare[np.flatnonzero(rare[:300] == 0)[:12]] = 2  # class 2: 12 training rows, 12 x 100 / 300 = 4 expected held out
    data = open_stream(npy_shards(tmp_path / "rare", X, rare, [400]))
    assert 2 not in rare[300:] and data.train_only == ()  # its absence may be chance: not noted
    rc, _, err = cli(capsys, "train", "--dataset", f"{path}/", "--hidden", "4", "--epochs", "1", "--quiet")
    assert rc == 0, err
    assert "the held-out last 100 rows hold no row of class(es) 0, 1" in err and "sorted" in err
    rc, _, err = cli(capsys, "train", "--dataset", f"{tmp_path / 'rare'}/", "--hidden", "4", "--epochs", "1", "--quiet")
    assert rc == 0 and "held-out" not in err, err
