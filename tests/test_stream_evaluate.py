"""deltaprop evaluate and predict on streamed data sets (.parquet, .npy, folders): a chunk at a time, the same
scores as the in-memory evaluation of the same rows written as a CSV file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.commands import _stream
from deltaprop.datasets import _shards as shards
from clitools import cli, one_line

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

M, N_0 = 240, 4


def table(task, dtype=np.float64, seed=0, m=M):
    """Features (m, N_0) with far-off means (so the model standardises them) and a target: 3 classes or numbers."""
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(m, N_0)) * [0.5, 1.0, 2.0, 3.0] + [10.0, -3.0, 0.0, 100.0]).astype(dtype)
    if task == "classification":
        return X, (X[:, 0] > 10).astype(np.int64) + (X[:, 1] > -3)
    return X, (X.astype(np.float64) @ [1.0, -2.0, 0.5, 0.1] + rng.normal(size=m)).round(6)


def write_stream(path: Path, kind, X, y=None):
    """The rows as one Parquet file (row groups of 37 rows), a folder of Parquet files, one .npy file or a folder
    of .npy shards; the target (if given) is the last column "label" (.npy: the last column)."""
    if kind in ("parquet", "parquet-dir"):
        def parquet(p, rows):
            columns = {f"x{k}": X[rows, k] for k in range(X.shape[1])}
            pq.write_table(pa.table(columns if y is None else {**columns, "label": y[rows]}), p, row_group_size=37)
        if kind == "parquet":
            parquet(path.with_suffix(".parquet"), slice(None))
            return path.with_suffix(".parquet")
        path.mkdir()
        for i, rows in enumerate([slice(0, 100), slice(100, 101), slice(101, None)]):
            parquet(path / f"part-{i}.parquet", rows)
        return path
    A = X if y is None else np.column_stack([X, y]).astype(X.dtype)  # (m, N_0 [+ 1])
    if kind == "npy":
        np.save(path.with_suffix(".npy"), A)
        return path.with_suffix(".npy")
    path.mkdir()
    for i, rows in enumerate([slice(0, 90), slice(90, 91), slice(91, None)]):
        np.save(path / f"part-{i}.npy", A[rows])
    return path


def write_csv(path: Path, X, y) -> Path:
    """The same rows as CSV text: every number as repr (read back exactly), the header x0.. and label."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"x{k}" for k in range(X.shape[1])] + ["label"])
        w.writerows([*map(repr, map(float, row)), repr(t.item())] for row, t in zip(X, y))
    return path


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """.npy shards read 20 rows at a time (Parquet: the 37-row groups), scored 16 rows at a time."""
    monkeypatch.setattr(shards, "CHUNK_BYTES", 20 * (N_0 + 1) * 8)
    monkeypatch.setattr(_stream, "SCORE_ROWS", 16)


def trained(capsys, tmp_path, kind, task, dtype="float64", X_y=None):
    X, y = X_y if X_y is not None else table(task)
    data = write_stream(tmp_path / "data", kind, X, y)
    model = tmp_path / "m.safetensors"
    rc, _, err = cli(capsys, "train", "--dataset", data, "--hidden", "6", "--epochs", "3", "--dtype", dtype,
                     "--out", model, "--quiet")
    assert rc == 0, err
    return X, y, data, model


def evaluated(capsys, model, dataset, json_path, *flags):
    rc, out, err = cli(capsys, "evaluate", model, "--dataset", dataset, "--metrics-json", json_path, *flags)
    assert rc == 0, err
    return out, json.loads(Path(json_path).read_text())


def assert_same_scores(got, truth, rtol):
    assert got["task"] == truth["task"] and got["n_samples"] == truth["n_samples"]
    names = ["accuracy", "cost"] if got["task"] == "classification" else ["r2", "rmse", "mae", "cost"]
    for name in names:
        np.testing.assert_allclose(got[name], truth[name], rtol=rtol, atol=0, err_msg=name)
    if got["task"] == "classification":
        assert got["classes"] == truth["classes"]
        assert np.asarray(got["confusion_matrix"]).shape == (3, 3)
        np.testing.assert_array_equal(got["confusion_matrix"], truth["confusion_matrix"], err_msg="confusion matrix")
        assert np.sum(got["confusion_matrix"]) == got["n_samples"]


# ----- evaluate: the scores of the in-memory evaluation of the same rows ----------------------------------------
@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("kind", ["parquet", "parquet-dir", "npy", "npy-dir"])
def test_streamed_evaluation_equals_the_csv_evaluation_of_the_same_rows(capsys, tmp_path, kind, task):
    X, y, data, model = trained(capsys, tmp_path, kind, task)
    n_test = round(0.25 * M)  # the last quarter of the rows are held out
    out, got = evaluated(capsys, model, data, tmp_path / "s.json")
    assert f"on {n_test} held-out rows of {data.name} (--all-rows for all {M})" in out
    assert (got["n_samples"], got["rows"]) == (n_test, "held-out")
    _, truth = evaluated(capsys, model, write_csv(tmp_path / "test.csv", X[-n_test:], y[-n_test:]),
                         tmp_path / "c.json")
    assert truth["rows"] == "all"
    assert_same_scores(got, truth, rtol=1e-12)
    out, got = evaluated(capsys, model, data, tmp_path / "s_all.json", "--all-rows")
    assert f"on all {M} rows of {data.name}" in out and got["rows"] == "all"
    _, truth = evaluated(capsys, model, write_csv(tmp_path / "all.csv", X, y), tmp_path / "c_all.json")
    assert_same_scores(got, truth, rtol=1e-12)


def test_float32_scores_agree_to_float32_rounding(capsys, tmp_path):
    X, y, data, model = trained(capsys, tmp_path, "parquet", "classification", dtype="float32",
                                X_y=table("classification", dtype=np.float32, seed=1))
    _, got = evaluated(capsys, model, data, tmp_path / "s.json")
    _, truth = evaluated(capsys, model, write_csv(tmp_path / "test.csv", X[-60:], y[-60:]), tmp_path / "c.json")
    assert_same_scores(got, truth, rtol=1e-5)


def test_other_data_are_scored_on_every_row_and_labels_map_to_the_models_classes(capsys, tmp_path):
    X, y, data, model = trained(capsys, tmp_path, "parquet", "classification")
    rows = np.flatnonzero(y > 0)[:50]  # classes 1 and 2 only: this file's classes are the model's 1 and 2
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({**{f"x{k}": X[rows, k] for k in range(N_0)}, "label": y[rows]}), other,
                   row_group_size=9)
    out, got = evaluated(capsys, model, other, tmp_path / "o.json")
    assert "on all 50 rows of other.parquet" in out and got["rows"] == "all"
    _, truth = evaluated(capsys, model, write_csv(tmp_path / "o.csv", X[rows], y[rows]), tmp_path / "oc.json")
    assert_same_scores(got, truth, rtol=1e-12)
    assert np.sum(np.asarray(got["confusion_matrix"])[0]) == 0  # no row of class 0


def test_the_target_column_is_the_models_by_default_and_a_plot_is_drawn(capsys, tmp_path):
    X, y = table("classification")
    columns = {"label": y, **{f"x{k}": X[:, k] for k in range(N_0)}}  # the target first
    data = tmp_path / "first.parquet"
    pq.write_table(pa.table(columns), data, row_group_size=50)
    model = tmp_path / "m.safetensors"
    rc, _, err = cli(capsys, "train", "--dataset", data, "--target", "label", "--hidden", "6", "--epochs", "2",
                     "--dtype", "float64", "--out", model, "--quiet")
    assert rc == 0, err
    out, got = evaluated(capsys, model, data, tmp_path / "s.json", "--plot", tmp_path / "cm.png")
    assert got["rows"] == "held-out" and (tmp_path / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _, truth = evaluated(capsys, model, write_csv(tmp_path / "t.csv", X[-60:], y[-60:]), tmp_path / "c.json")
    assert_same_scores(got, truth, rtol=1e-12)


@pytest.mark.parametrize("kind", ["parquet", "npy"])
def test_rows_of_one_class_are_scored_as_their_csv(capsys, tmp_path, kind):
    """A file holding one of the model's classes is scored (training on it would need 2 classes), as a CSV is."""
    X, y, _, model = trained(capsys, tmp_path, "parquet", "classification")
    rows = np.flatnonzero(y == 1)
    one = write_stream(tmp_path / "one", kind, X[rows], y[rows])
    _, got = evaluated(capsys, model, one, tmp_path / "o.json")
    _, truth = evaluated(capsys, model, write_csv(tmp_path / "one.csv", X[rows], y[rows]), tmp_path / "oc.json")
    assert got["n_samples"] == len(rows) > 0
    assert_same_scores(got, truth, rtol=1e-12)
    cm = np.asarray(got["confusion_matrix"])
    assert cm[1].sum() == len(rows) and cm[[0, 2]].sum() == 0  # every row's true class is 1


def test_a_width_other_than_n_0_is_refused_before_any_value_is_read(capsys, tmp_path, monkeypatch):
    X, y, _, model = trained(capsys, tmp_path, "parquet", "classification")
    wide = write_stream(tmp_path / "wide", "parquet", np.column_stack([X, X[:, 0]]), y)
    reads = []
    read = shards._Files.read
    monkeypatch.setattr(shards._Files, "read", lambda self, *a, **kw: reads.append(a[0]) or read(self, *a, **kw))
    rc, _, err = cli(capsys, "evaluate", model, "--dataset", wide)
    one_line(rc, err, 2, f"{wide} has 5 feature columns; the model expects n_0 = 4")
    rc, _, err = cli(capsys, "evaluate", model, "--dataset", wide, "--target", "y")
    one_line(rc, err, 2, "no column named 'y'")
    assert reads == []  # refused from the columns alone, before the pass over the values
    rc, _, err = cli(capsys, "evaluate", model, "--dataset", write_stream(tmp_path / "rows", "parquet", X, y))
    assert rc == 0 and len(reads) > 7, err  # the spy sees reads: the pass over the 7 row groups, then the scores


@pytest.fixture
def forward_rows(monkeypatch):
    """The number of rows of every forward pass from now on."""
    seen: list[int] = []
    forward = Network._forward

    def spy(self, X, *args, **kw):
        seen.append(X.shape[0])
        return forward(self, X, *args, **kw)

    monkeypatch.setattr(Network, "_forward", spy)
    return seen


def test_a_chunk_at_a_time(capsys, tmp_path, request):
    """No forward pass sees more rows than a score block (SCORE_ROWS = 16): the data set is never held whole."""
    _, _, data, model = trained(capsys, tmp_path, "npy", "regression")
    seen = request.getfixturevalue("forward_rows")  # from here on
    evaluated(capsys, model, data, tmp_path / "s.json", "--all-rows")
    assert seen and max(seen) <= 16 and sum(seen) >= M  # every row went through, 16 at most at a time


# ----- bad input: exit 2, one line, no traceback (real subprocesses) --------------------------------------------
def run(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "deltaprop", *map(str, argv)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def model_and_data(capsys, tmp_path):
    return trained(capsys, tmp_path, "parquet", "classification")


@pytest.mark.parametrize("case", ["missing path", "missing folder", "wider", "no target", "header"])
def test_bad_streamed_input_is_one_line_and_exit_2(model_and_data, tmp_path, case):
    X, y, data, model = model_and_data
    wide = tmp_path / "wide.parquet"
    pq.write_table(pa.table({**{f"x{k}": X[:, k % N_0] for k in range(N_0 + 1)}, "label": y}), wide)
    argv, fragment = {
        "missing path": (["--dataset", "nothere.parquet"], "nothere.parquet: no such file or folder"),
        "missing folder": (["--dataset", "nothere/"], "nothere/: no such file or folder"),
        "wider": (["--dataset", wide], f"{wide} has 5 feature columns; the model expects n_0 = 4"),
        "no target": (["--dataset", data, "--target", "y"], "no column named 'y'"),
        "header": (["--dataset", data, "--no-header"], "--header and --no-header apply to CSV files only"),
    }[case]
    done = run("evaluate", model, *argv, "--metrics-json", "e.json", cwd=tmp_path)
    one_line(done.returncode, done.stderr, 2, fragment)
    assert not (tmp_path / "e.json").exists()


# ----- predict: every row in file order, a block at a time ---------------------------------------------------
def predicted(capsys, model, rows, *flags):
    rc, out, err = cli(capsys, "predict", model, rows, *flags)
    assert rc == 0, err
    return out.splitlines()


def assert_same_lines(got, truth):
    """The same header and labels; the same numbers up to their last printed digit."""
    assert len(got) == len(truth) and got[0] == truth[0]
    cells = [line.split(",") for line in got[1:]], [line.split(",") for line in truth[1:]]
    if not got[0].startswith("label"):  # a regression: numbers only
        np.testing.assert_allclose(np.array(cells[0], float), np.array(cells[1], float), rtol=1e-5, atol=0)
        return
    assert [c[0] for c in cells[0]] == [c[0] for c in cells[1]], "labels"
    np.testing.assert_allclose(np.array([c[1:] for c in cells[0]], float),
                               np.array([c[1:] for c in cells[1]], float), rtol=0, atol=1.5e-4)


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("kind", ["parquet", "parquet-dir", "npy", "npy-dir"])
def test_streamed_predictions_equal_those_of_the_same_rows_as_csv(capsys, tmp_path, kind, task):
    X, y, _, model = trained(capsys, tmp_path, "parquet", task)
    rows = write_stream(tmp_path / "rows", kind, X)
    flags = ["--proba"] if task == "classification" else []
    got = predicted(capsys, model, rows, *flags)
    truth = predicted(capsys, model, features_csv(tmp_path / "rows.csv", X), *flags)
    assert len(got) == M + 1
    assert_same_lines(got, truth)
    rc, _, err = cli(capsys, "predict", model, rows, *flags, "--out", tmp_path / "p.csv")
    assert rc == 0, err
    assert (tmp_path / "p.csv").read_text().splitlines() == got


def features_csv(path: Path, X) -> Path:
    """The rows as CSV text without a target (every number as repr), with the header x0, x1, ..."""
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([[f"x{k}" for k in range(N_0)], *([repr(float(v)) for v in row] for row in X)])
    return path


def test_predict_holds_a_block_at_a_time(capsys, tmp_path, request):
    X, _, _, model = trained(capsys, tmp_path, "parquet", "classification")
    rows = write_stream(tmp_path / "rows", "npy", X)
    seen = request.getfixturevalue("forward_rows")  # from here on
    assert len(predicted(capsys, model, rows)) == M + 1
    assert max(seen) <= 16 and sum(seen) == M


@pytest.mark.parametrize("case", ["missing", "with target", "with a text target", "text column", "out is the input", "out is a shard",
                                  "nan", "header"])
def test_bad_predict_input_is_one_line_exit_2_and_writes_nothing(model_and_data, tmp_path, case):
    X, y, data, model = model_and_data
    shards = write_stream(tmp_path / "shards", "npy-dir", X)
    nan = X.copy()
    nan[200, 3] = np.nan
    pq.write_table(pa.table({f"x{k}": nan[:, k] for k in range(N_0)}), tmp_path / "nan.parquet", row_group_size=37)
    pq.write_table(pa.table({"x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "x3": y.astype(str)}),
                   tmp_path / "text.parquet")
    pq.write_table(pa.table({"species": y.astype(str), **{f"x{k}": X[:, k] for k in range(N_0)}}),
                   tmp_path / "target.parquet")  # the model's features, but its target was their last column
    pq.write_table(pa.table({**{f"a{k}": X[:, k] for k in range(N_0)}, "label": y}), tmp_path / "renamed.parquet")
    before = {p: p.read_bytes() for p in [data, *shards.iterdir()]}
    argv, fragment = {
        "missing": (["nothere.parquet"], "nothere.parquet: no such file or folder"),
        "with target": (["renamed.parquet"], "renamed.parquet: expected 4 feature columns, got 5 (drop the label "
                                             "column?)"),
        "with a text target": (["target.parquet"], "target.parquet: expected 4 feature columns, got 5 (drop the label "
                                                   "column?)"),
        "text column": (["text.parquet"], "column 'x3' has type string; expected numbers"),
        "out is the input": ([data, "--out", data], "is the same file as INPUT"),
        "out is a shard": ([shards, "--out", shards / "part-1.npy"], "is the same file as INPUT"),
        "nan": (["nan.parquet", "--out", "p.csv"], "nan.parquet: row group 5, row 15, column 'x3': not finite"),
        "header": ([shards, "--header"], "--header and --no-header apply to CSV files only"),
    }[case]
    done = run("predict", model, *argv, cwd=tmp_path)
    one_line(done.returncode, done.stderr, 2, fragment)
    assert not (tmp_path / "p.csv").exists()
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("command", ["train", "predict"])
def test_an_npz_archive_named_npy_is_refused_in_one_line(tmp_path, command):
    np.savez(tmp_path / "rows.npz", X=np.zeros((4, N_0)))
    (tmp_path / "rows.npz").rename(tmp_path / "rows.npy")
    argv = ["train", "--dataset", "rows.npy"] if command == "train" else ["predict", "m.safetensors", "rows.npy"]
    if command == "predict":
        Network([N_0, 2], ["softmax"], "cross_entropy", seed=0).save(tmp_path / "m.safetensors")
    done = run(*argv, cwd=tmp_path)
    one_line(done.returncode, done.stderr, 2, "rows.npy: an .npz archive; expected a single .npy array")
