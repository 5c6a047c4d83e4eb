"""The everyday path on real CSV files, by subprocess: the header rule, labels as written, regression,
held-out rows in evaluate, every training setting reported, refused cells."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris, load_wine
from sklearn.metrics import r2_score

from deltaprop import io
from deltaprop.datasets import load_csv


def run(*argv, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltaprop", *map(str, argv)], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"}, timeout=600)


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess, fragment: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert fragment in done.stderr, done.stderr


def write_csv(path: Path, header: list[str] | None, rows) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if header is not None:
            w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """wine.csv (integer labels), iris.csv (string labels), diabetes.csv (a regression target), as a user
    would write them, and wine models trained from them."""
    folder = tmp_path_factory.mktemp("files")
    wine = load_wine()
    write_csv(folder / "wine.csv", [*wine.feature_names, "class"],
              [[*map(repr, x), int(k)] for x, k in zip(wine.data.tolist(), wine.target)])
    write_csv(folder / "wine5.csv", None, [list(map(repr, x)) for x in wine.data[:5].tolist()])
    np.savetxt(folder / "wine_saved.csv", np.column_stack([wine.data, wine.target]), delimiter=",")  # %.18e
    iris = load_iris()
    write_csv(folder / "iris.csv", [*iris.feature_names, "species"],
              [[*map(repr, x), iris.target_names[k]] for x, k in zip(iris.data.tolist(), iris.target)])
    diabetes = load_diabetes()
    write_csv(folder / "diabetes.csv", [*diabetes.feature_names, "target"],
              [[*map(repr, x), int(t)] for x, t in zip(diabetes.data.tolist(), diabetes.target)])
    write_csv(folder / "diabetes_x.csv", None, [list(map(repr, x)) for x in diabetes.data.tolist()])
    ok(run("train", "--dataset", "wine.csv", "--epochs", "10", "--out", "wine.safetensors",
           "--metrics-json", "wine.json", "--quiet", cwd=folder))
    return folder


def test_predict_keeps_the_first_row_of_a_headerless_csv(files):
    lines = ok(run("predict", "wine.safetensors", "wine5.csv", cwd=files)).splitlines()
    assert lines == ["label", "0", "0", "0", "0", "0"]


def test_header_flags_override_the_rule(files):
    lines = ok(run("predict", "wine.safetensors", "wine5.csv", "--header", cwd=files)).splitlines()
    assert len(lines) == 1 + 4
    write_csv(files / "wine_named.csv", load_wine().feature_names, load_wine().data[:3].tolist())
    refused(run("predict", "wine.safetensors", "wine_named.csv", "--no-header", cwd=files),
            "row 1, column '1': 'alcohol' is not a number")


def test_labels_come_back_as_the_file_wrote_them(files):
    ok(run("train", "--dataset", "wine_saved.csv", "--epochs", "5", "--out", "saved.safetensors", "--quiet",
           cwd=files))
    lines = ok(run("predict", "saved.safetensors", "wine5.csv", cwd=files)).splitlines()
    assert lines[0] == "label" and set(lines[1:]) <= {"0", "1", "2"}
    ok(run("train", "--dataset", "iris.csv", "--epochs", "20", "--out", "iris.safetensors", "--quiet", cwd=files))
    write_csv(files / "iris3.csv", None, load_iris().data[[0, 60, 120]].tolist())
    lines = ok(run("predict", "iris.safetensors", "iris3.csv", "--proba", cwd=files)).splitlines()
    assert lines[0] == "label,p_setosa,p_versicolor,p_virginica"
    assert [line.split(",")[0] for line in lines[1:]] == ["setosa", "versicolor", "virginica"]


def test_train_reports_split_sizes_and_every_setting(files):
    metrics = json.loads((files / "wine.json").read_text())
    assert (metrics["n_train"], metrics["n_test"]) == (133, 45)
    assert metrics["split"] == {"kind": "held out", "test_fraction": 0.25, "seed": 0}
    assert metrics["task"] == "classification" and metrics["schedule"] == "cosine"
    assert metrics["weight_decay"] == 0.0 and metrics["dropout"] == 0.0 and metrics["kernel"]
    out = ok(run("train", "--dataset", "wine.csv", "--epochs", "2", "--optimizer", "sgd", "--dropout", "0.1",
                 "--weight-decay", "0.01", cwd=files))
    for shown in ("133 train / 45 test rows", "sgd, lr 0.1", "cosine over 2 epochs", "weight decay 0.01",
                  "dropout 0.1", "kernel reference", "classification", "--task regression to override"):
        assert shown in out, (shown, out)


def test_evaluate_scores_the_held_out_rows_of_the_training_file(files):
    out = ok(run("evaluate", "wine.safetensors", "--dataset", "wine.csv", "--metrics-json", "e.json", cwd=files))
    assert "45 held-out rows of wine.csv (--all-rows for all 178)" in out
    report = json.loads((files / "e.json").read_text())
    assert (report["n_samples"], report["rows"]) == (45, "held-out")
    assert report["accuracy"] == pytest.approx(json.loads((files / "wine.json").read_text())["test_accuracy"])
    ok(run("evaluate", "wine.safetensors", "--dataset", "wine.csv", "--all-rows", "--metrics-json", "a.json",
           cwd=files))
    report = json.loads((files / "a.json").read_text())
    assert (report["n_samples"], report["rows"]) == (178, "all")
    (files / "wine_edit.csv").write_text((files / "wine.csv").read_text().replace("14.23", "14.24"))
    out = ok(run("evaluate", "wine.safetensors", "--dataset", "wine_edit.csv", cwd=files))
    assert "all 178 rows of wine_edit.csv" in out


def test_regression_end_to_end(files):
    out = ok(run("train", "--dataset", "diabetes.csv", "--out", "dia.safetensors", "--metrics-json", "dia.json",
                 "--quiet", cwd=files))
    assert "regression" in out and "--task classification to override" in out
    metrics = json.loads((files / "dia.json").read_text())
    assert metrics["task"] == "regression" and (metrics["n_train"], metrics["n_test"]) == (331, 111)
    net = io.load(files / "dia.safetensors")
    assert list(net.sizes) == [10, 256, 1] and net.activations == ("relu", "identity") and net.cost_name == "quadratic"
    # predict prints numbers in the target's units, one per row of the headerless file
    lines = ok(run("predict", "dia.safetensors", "diabetes_x.csv", cwd=files)).splitlines()
    predicted = np.array([float(v) for v in lines[1:]])
    assert predicted.shape == (442,) and 25 < np.median(predicted) < 346
    # evaluate's r2 on the held-out rows agrees with r2_score on the predictions of those rows
    ok(run("evaluate", "dia.safetensors", "--dataset", "diabetes.csv", "--metrics-json", "dia_e.json", cwd=files))
    report = json.loads((files / "dia_e.json").read_text())
    test_rows = load_csv(files / "diabetes.csv").split["test_rows"]
    y = load_diabetes().target
    assert (report["n_samples"], report["rows"]) == (111, "held-out")
    assert report["r2"] == pytest.approx(r2_score(y[test_rows], predicted[test_rows]), abs=1e-4)
    assert report["rmse"] == pytest.approx(np.sqrt(np.mean((y[test_rows] - predicted[test_rows]) ** 2)), rel=1e-4)
    assert report["r2"] == pytest.approx(metrics["test_r2"], abs=1e-6)
    assert report["r2"] > 0.3  # a linear fit reaches about 0.5 on diabetes; a classifier gave nonsense


def test_task_flags(files):
    refused(run("train", "--dataset", "iris.csv", "--task", "regression", cwd=files),
            "a regression needs numeric targets, got the label 'setosa'; use --task classification")
    out = ok(run("train", "--dataset", "wine.csv", "--task", "regression", "--epochs", "3", cwd=files))
    assert "regression  (--task regression)" in out and "13-256-1" in out


def test_a_model_without_data_metadata_still_loads_and_scores_all_rows(files):
    tensors, meta = io.decode(files / "wine.safetensors")
    old = {k: v for k, v in meta.items() if k in ("format", "architecture", "scaling", "classes")}
    (files / "old.safetensors").write_bytes(io.encode(tensors, old, digest=True))
    out = ok(run("evaluate", "old.safetensors", "--dataset", "wine.csv", cwd=files))
    assert "all 178 rows of wine.csv" in out


def test_a_nul_byte_in_a_cell_is_refused(files):
    (files / "nul.csv").write_bytes(b"a,b,label\n1,2,0\n1\x00,3,1\n4,5,0\n6,7,1\n")
    refused(run("train", "--dataset", "nul.csv", cwd=files), "row 3 holds a NUL byte")


def test_a_model_with_malformed_data_metadata_is_refused(files):
    tensors, meta = io.decode(files / "wine.safetensors")
    data = json.loads(meta["data"])
    assert data["sha256"] and data["task"] == "classification" and data["test_fraction"] == 0.25
    del data["task"]
    (files / "bad.safetensors").write_bytes(io.encode(tensors, {**meta, "data": json.dumps(data)}, digest=True))
    refused(run("evaluate", "bad.safetensors", "--dataset", "wine.csv", cwd=files),
            "data must be a JSON object with sha256, task, seed and test_fraction")


@pytest.mark.parametrize("argv", [("train", "--dataset", "nothere.csv"),
                                  ("evaluate", "wine.safetensors", "--dataset", "nothere.csv"),
                                  ("predict", "wine.safetensors", "nothere.csv"),
                                  ("evaluate", "nothere.safetensors", "--dataset", "wine.csv")])
def test_a_missing_file_is_named_in_words(files, argv):
    done = run(*argv, "--quiet" if argv[0] == "train" else "--all-rows" if argv[0] == "evaluate" else "--proba",
               cwd=files)
    refused(done, "nothere.")
    assert "no such file" in done.stderr and "Errno" not in done.stderr, done.stderr
