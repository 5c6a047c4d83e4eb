"""deltaprop predict on the model's own training file (Parquet, a Parquet folder, a CSV with a header): the target
column is skipped and every row predicted in file order, as in the same rows written without it; any other extra
column keeps the refusal and its hint. Real subprocesses of the command line."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clitools import one_line

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

M, N_0 = 150, 4
NAMES = ["x0", "x1", "x2", "x3"]


def run(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "deltaprop", *map(str, argv)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def ok(done):
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def rows(task, seed=0):
    """Features (M, N_0) and a target: text classes or numbers."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(M, N_0)) * [0.5, 1.0, 2.0, 3.0] + [10.0, -3.0, 0.0, 100.0]
    if task == "classification":
        return X, np.array(["setosa", "virginica", "versicolor"])[(X[:, 0] > 10).astype(int) + (X[:, 1] > -3)]
    return X, (X @ [1.0, -2.0, 0.5, 0.1] + rng.normal(size=M)).round(6)


def columns(X, y, target_at):
    """The features x0..x3 with the target "label" inserted at position target_at (None: no target)."""
    names = [*NAMES]
    cells = [X[:, k] for k in range(N_0)]
    if target_at is not None:
        names.insert(target_at, "label")
        cells.insert(target_at, y)
    return names, cells


def write(path: Path, X, y, target_at):
    """One Parquet file (row groups of 37 rows), a folder of two, or a CSV file with a header (numbers as repr)."""
    names, cells = columns(X, y, target_at)
    if path.suffix == ".csv":
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows([names, *([v if isinstance(v, str) else repr(float(v)) for v in row]
                                              for row in zip(*cells))])
    elif path.suffix == ".parquet":
        pq.write_table(pa.table(dict(zip(names, cells))), path, row_group_size=37)
    else:
        path.mkdir()
        for i, part in enumerate([slice(0, 100), slice(100, None)]):
            pq.write_table(pa.table({n: c[part] for n, c in zip(names, cells)}), path / f"part-{i}.parquet",
                           row_group_size=37)
    return path


CASES = {  # name: (training file, task, the target's position, --target)
    "parquet, named target in the middle": ("data.parquet", "classification", 2, "label"),
    "parquet folder, the default target": ("data", "regression", N_0, None),
    "csv, named target first": ("data.csv", "classification", 0, "label"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_training_file_is_predicted_as_its_rows_without_the_target(tmp_path, case):
    name, task, target_at, target = CASES[case]
    X, y = rows(task)
    data = write(tmp_path / name, X, y, target_at)
    ok(run("train", "--dataset", data, *(["--target", target] if target else []), "--hidden", "5", "--epochs", "2",
           "--dtype", "float64", "--out", "m.safetensors", "--quiet", cwd=tmp_path))
    truth_file = write(tmp_path / ("features" + data.suffix), X, y, None)  # the same rows without the target
    flags = ["--proba"] if task == "classification" else []
    got = ok(run("predict", "m.safetensors", data, *flags, cwd=tmp_path))
    truth = ok(run("predict", "m.safetensors", truth_file, *flags, cwd=tmp_path))
    assert len(got) == M + 1 and got == truth  # a header line, then every row in file order
    if task == "classification":  # the labels are the model's classes, one per row
        assert {line.split(",")[0] for line in got[1:]} <= set(y)
    before = data.read_bytes() if data.is_file() else None
    ok(run("predict", "m.safetensors", data, *flags, "--out", "p.csv", cwd=tmp_path))
    assert (tmp_path / "p.csv").read_text().splitlines() == truth
    assert before is None or data.read_bytes() == before
    if target is not None:  # the model's target is named: another name in its place is not it
        names, cells = columns(X, y, target_at)
        other = write(tmp_path / ("other" + data.suffix), X, y, target_at)
        text = other.read_text() if other.is_file() and other.suffix == ".csv" else None
        if text is not None:
            other.write_text(text.replace("label", "id", 1))
        else:
            pq.write_table(pa.table(dict(zip([n if n != "label" else "id" for n in names], cells))), other)
        done = run("predict", "m.safetensors", other, cwd=tmp_path)
        one_line(done.returncode, done.stderr, 2, "expected 4 feature columns, got 5 (drop the label column?)")


@pytest.fixture(scope="module")
def parquet_model(tmp_path_factory):
    """A model trained on x0..x3 and "label" (the last column, the default target), and its folder."""
    folder = tmp_path_factory.mktemp("model")
    X, y = rows("classification")
    write(folder / "data.parquet", X, y, N_0)
    ok(run("train", "--dataset", "data.parquet", "--hidden", "5", "--epochs", "1", "--out", "m.safetensors",
           "--quiet", cwd=folder))
    return folder, X, y


def test_a_model_without_feature_names_keeps_the_refusal(parquet_model, tmp_path):
    """A model file written before the feature names were recorded: its training file is not recognised."""
    from deltaprop.io import load

    folder, X, y = parquet_model
    net = load(folder / "m.safetensors")
    assert net.data["features"] == NAMES
    net.data = {k: v for k, v in net.data.items() if k != "features"}
    net.save(tmp_path / "old.safetensors")
    done = run("predict", tmp_path / "old.safetensors", folder / "data.parquet", cwd=tmp_path)
    one_line(done.returncode, done.stderr, 2, "data.parquet: expected 4 feature columns, got 5 (drop the label column?)")


@pytest.mark.parametrize("case", ["features in another order", "another column among them", "target not last",
                                  "headerless csv", "npy"])
def test_other_extra_columns_keep_the_refusal_and_its_hint(parquet_model, tmp_path, case):
    folder, X, y = parquet_model
    labels = (y == "setosa").astype(np.float64)
    if case == "features in another order":
        pq.write_table(pa.table({"x1": X[:, 1], "x0": X[:, 0], "x2": X[:, 2], "x3": X[:, 3], "label": y}),
                       path := tmp_path / "in.parquet")
    elif case == "another column among them":
        pq.write_table(pa.table({"x0": X[:, 0], "id": np.arange(M), "x1": X[:, 1], "x2": X[:, 2], "x3": X[:, 3]}),
                       path := tmp_path / "in.parquet")
    elif case == "target not last":  # the model's target was its file's last column
        pq.write_table(pa.table({"label": y, **{n: X[:, k] for k, n in enumerate(NAMES)}}),
                       path := tmp_path / "in.parquet")
    elif case == "headerless csv":
        np.savetxt(path := tmp_path / "in.csv", np.column_stack([X, labels]), delimiter=",")
    else:
        np.save(path := tmp_path / "in.npy", np.column_stack([X, labels]))
    done = run("predict", folder / "m.safetensors", path, "--out", "p.csv", cwd=tmp_path)
    one_line(done.returncode, done.stderr, 2, f"{path}: expected 4 feature columns, got 5 (drop the label column?)")
    assert not (tmp_path / "p.csv").exists()
