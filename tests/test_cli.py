"""The command line: every command in-process through ``main([...])``, bad input (exit code 2, one
line on stderr, nothing written), divergence (exit code 1, last good weights saved), and end-to-end
runs by subprocess: the default digits run, an MNIST subset, a kill -9 and a Ctrl-C in the middle
of an epoch followed by --resume, which must end bit-identical to an uninterrupted run."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deltaprop
from deltaprop.checkpoint import checkpoint_path, load_checkpoint
from deltaprop.cli import COMMANDS, main
from deltaprop.datasets import load_digits
from clitools import TINY, cli

PRESENT = [name for name, (module, _) in COMMANDS.items() if importlib.util.find_spec(module) is not None]


def assert_bad_input(rc, out, err, fragment):
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
    assert "Traceback" not in err and out == ""
    assert fragment in lines[0], lines[0]


def deltaprop_cmd(*argv):
    return [sys.executable, "-m", "deltaprop", *map(str, argv)]


def same_weights(a: Path, b: Path) -> bool:
    A, B = deltaprop.load(a), deltaprop.load(b)
    return all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(A.weights + A.biases, B.weights + B.biases))


# ----- every command ----------------------------------------------------------------------------
def test_main_without_a_command_prints_help_and_exits_2(capsys):
    rc, _out, err = cli(capsys)
    assert rc == 2 and "usage: deltaprop" in err


def test_version(capsys):
    rc, out, _ = cli(capsys, "--version")
    assert rc == 0 and out.strip() == f"deltaprop {deltaprop.__version__}"


@pytest.mark.parametrize("name", PRESENT)
def test_every_command_has_help(capsys, name):
    rc, out, _ = cli(capsys, name, "--help")
    assert rc == 0 and f"usage: deltaprop {name}" in out


@pytest.mark.parametrize("name", PRESENT)
def test_every_command_refuses_an_unknown_flag(capsys, name):
    rc, out, err = cli(capsys, name, "--no-such-flag")
    assert_bad_input(rc, out, err, "deltaprop")
    assert "unrecognized arguments: --no-such-flag" in err or "the following arguments are required" in err


def test_unknown_command(capsys):
    rc, out, err = cli(capsys, "trian")
    assert_bad_input(rc, out, err, "invalid choice: 'trian'")


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """A small digits model trained in-process, with its metrics."""
    folder = tmp_path_factory.mktemp("digits")
    model, metrics = folder / "m.safetensors", folder / "m.json"
    assert main(["train", "--hidden", "32", "--epochs", "4", "--quiet", "--out", str(model),
                 "--metrics-json", str(metrics)]) == 0
    return model, json.loads(metrics.read_text())


def test_train_writes_model_and_metrics(digits_model):
    model, metrics = digits_model
    assert {"test_accuracy", "test_cost", "train_cost", "config", "events", "checkpoints_written"} <= set(metrics)
    assert metrics["sizes"] == [64, 32, 10] and len(metrics["train_cost"]) == 4 and metrics["test_accuracy"] > 0.9
    net = deltaprop.load(model)
    assert net.classes == tuple(range(10)) and net.scaling.kind == "divide"


def test_evaluate_json_agrees_with_the_model(capsys, digits_model, tmp_path):
    model, metrics = digits_model
    rc, out, _err = cli(capsys, "evaluate", model, "--metrics-json", tmp_path / "e.json")
    assert rc == 0 and "accuracy" in out
    report = json.loads((tmp_path / "e.json").read_text())
    assert {"accuracy", "cost", "confusion_matrix"} <= set(report)
    cm = np.array(report["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == report["n"] == 451
    np.testing.assert_allclose(report["accuracy"], np.trace(cm) / cm.sum(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(report["accuracy"], metrics["test_accuracy"], rtol=0, atol=1e-12)
    ds, net = load_digits(), deltaprop.load(model)
    np.testing.assert_allclose(report["cost"], net.cost(ds.X_test, ds.y_test), rtol=1e-6, atol=0)


def test_predict_prints_one_row_per_input(capsys, digits_model, tmp_path):
    model, _ = digits_model
    ds, net = load_digits(), deltaprop.load(model)
    raw = ds.X_test[:7] * 16  # raw pixel values 0..16; predict applies the model's own scaling
    (tmp_path / "rows.csv").write_text(",".join(f"p{i}" for i in range(64)) + "\n"
                                       + "\n".join(",".join(f"{v:g}" for v in row) for row in raw) + "\n")
    np.save(tmp_path / "rows.npy", raw)
    for source in ("rows.csv", "rows.npy"):
        rc, out, err = cli(capsys, "predict", model, tmp_path / source, "--proba")
        assert rc == 0, err
        lines = out.strip().splitlines()
        assert lines[0] == "label," + ",".join(f"p_{k}" for k in range(10)) and len(lines) == 8
        labels = [int(line.split(",")[0]) for line in lines[1:]]
        assert labels == net.predict(ds.X_test[:7]).tolist()
        probs = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
        assert probs.shape == (7, 10)
        np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=0, atol=6e-4)
        np.testing.assert_allclose(probs, net.forward(ds.X_test[:7]), rtol=0, atol=5.1e-5)


def test_predict_and_evaluate_follow_the_networks_prediction_rule(capsys, tmp_path):
    # One sigmoid output, a = sigmoid(x): x = 0 gives a = 1/2 exactly, which is class 1.
    net = deltaprop.Network([1, 1], ["sigmoid"], "binary_cross_entropy", dtype="float64")
    net.weights, net.biases = [np.array([[1.0]])], [np.array([0.0])]
    net.save(tmp_path / "unlabelled.safetensors")
    (tmp_path / "rows.csv").write_text("0\n-1\n2\n")
    rc, out, err = cli(capsys, "predict", tmp_path / "unlabelled.safetensors", tmp_path / "rows.csv", "--proba")
    assert rc == 0, err
    # sigmoid(-1) = 0.268941..., sigmoid(2) = 0.880797...: one probability column per class, as the header says
    assert out.splitlines() == ["label,p_0,p_1", "1,0.5000,0.5000", "0,0.7311,0.2689", "1,0.1192,0.8808"]
    net.classes = ("no", "yes")
    net.save(tmp_path / "labelled.safetensors")
    rc, out, err = cli(capsys, "predict", tmp_path / "labelled.safetensors", tmp_path / "rows.csv")
    assert rc == 0, err
    assert out.splitlines() == ["label", "yes", "no", "yes"]
    (tmp_path / "labelled.csv").write_text("x,y\n0,yes\n-1,yes\n2,no\n3,yes\n")  # predicted: yes no yes yes
    rc, out, err = cli(capsys, "evaluate", tmp_path / "labelled.safetensors", "--dataset", tmp_path / "labelled.csv",
                       "--metrics-json", tmp_path / "m.json")
    assert rc == 0, err
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["accuracy"] == 0.5 and report["confusion_matrix"] == [[0, 1], [1, 2]]


# ----- bad input: exit code 2, one line, nothing written ------------------------------------------
def write(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return str(folder / name)


def bad_data(folder: Path) -> dict[str, str]:
    files = {
        "nan.csv": "a,b,label\n1,2,0\n3,nan,1\n4,5,0\n6,7,1\n",
        "inf.csv": "a,b,label\n1,2,0\n3,4,1\n4,-inf,0\n6,7,1\n",
        "ragged.csv": "a,b,label\n1,2,0\n3,4\n",
        "empty.csv": "",
        "header.csv": "a,b,label\n",
        "text.csv": "a,b,label\n1,2,0\n3,four,1\n",
        "one_class.csv": "a,b,label\n1,2,0\n3,4,0\n",
        "rows.csv": "a,b\n1,2\n",
        "nan_rows.csv": ",".join(f"p{i}" for i in range(64)) + "\n" + ",".join(["1"] * 63 + ["nan"]) + "\n",
        "labels.csv": ",".join(f"p{i}" for i in range(64)) + ",label\n" + ",".join(["1"] * 64) + ",12\n",
    }
    return {name: write(folder, name, text) for name, text in files.items()}


def mnist_copy(folder: Path, src: Path, damage) -> str:
    """An MNIST folder whose test labels file is damaged (the other files linked)."""
    folder.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        target = next(p for p in (src / name, src / f"{name}.gz") if p.exists())
        (folder / target.name).symlink_to(target)
    raw = bytearray(8) + bytes(10_000)
    raw[:8] = bytes([0, 0, 8, 1]) + (10_000).to_bytes(4, "big")
    (folder / "t10k-labels-idx1-ubyte").write_bytes(damage(bytes(raw)))
    return str(folder)


BAD_TRAIN = {
    "--lr 0": (["--lr", "0"], "argument --lr: expected a positive number, got 0"),
    "--lr -1": (["--lr", "-1"], "expected a positive number, got -1"),
    "--lr nan": (["--lr", "nan"], "expected a positive number, got nan"),
    "--lr inf": (["--lr", "inf"], "expected a positive number, got inf"),
    "--batch-size 0": (["--batch-size", "0"], "argument --batch-size: expected a positive integer, got 0"),
    "--epochs -2": (["--epochs", "-2"], "argument --epochs: expected a positive integer, got -2"),
    "--hidden 0": (["--hidden", "8", "0"], "argument --hidden: expected a positive integer, got 0"),
    "--momentum -0.5": (["--momentum", "-0.5"], "expected a number >= 0, got -0.5"),
    "--dropout 1": (["--dropout", "1"], "expected a number in [0, 1), got 1"),
    "--seed -1": (["--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
    "--dtype float16": (["--dtype", "float16"], "invalid choice: 'float16'"),
    "--activation": (["--activation", "relu6"], "invalid choice: 'relu6'"),
    "--optimizer": (["--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    "NaN in a CSV": (["--dataset", "{nan.csv}"], "row 3, column 'b': 'nan' is not finite"),
    "Inf in a CSV": (["--dataset", "{inf.csv}"], "row 4, column 'b': '-inf' is not finite"),
    "ragged CSV": (["--dataset", "{ragged.csv}"], "row 3 has 2 cells, the header has 3"),
    "empty CSV": (["--dataset", "{empty.csv}"], "empty file"),
    "header-only CSV": (["--dataset", "{header.csv}"], "header only, no data rows"),
    "non-numeric cell": (["--dataset", "{text.csv}"], "row 3, column 'b': 'four' is not a number"),
    "one class": (["--dataset", "{one_class.csv}"], "classification needs at least 2 classes"),
    "missing CSV": (["--dataset", "{missing.csv}"], "no such file"),
    "unknown data set": (["--dataset", "cifar"], "unknown data set 'cifar'"),
    "--target on digits": (["--target", "label"], "applies to CSV files only"),
    "--subset on digits": (["--subset", "100"], "--subset applies to --dataset mnist only"),
    "--checkpoint-every alone": (["--checkpoint-every", "5"], "--checkpoint-every needs --checkpoint-dir"),
    "--resume from nowhere": (["--resume", "{nowhere}"], "no checkpoint here"),
    "all rows held out": (["--dataset", "higham", "--early-stopping", "2", "--validation-fraction", "0.99"],
                          "holds out all 10 training rows"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRAIN))
def test_train_refuses_bad_input(capsys, tmp_path, case):
    files = bad_data(tmp_path)
    files.update({"missing.csv": str(tmp_path / "missing.csv"), "nowhere": str(tmp_path / "nowhere")})
    argv, fragment = BAD_TRAIN[case]
    argv = [files[a[1:-1]] if a.startswith("{") else a for a in argv]
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "never.safetensors"
    rc, stdout, err = cli(capsys, "train", "--epochs", "1", "--quiet", "--out", out, "--metrics-json",
                          tmp_path / "never.json", *argv)
    assert_bad_input(rc, stdout, err, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize("damage, fragment", [
    (lambda raw: b"\x00\x00\x09\x07" + raw[4:], "SHA-256"),  # wrong magic number
    (lambda raw: raw[:5000], "SHA-256"),  # truncated body
])
def test_train_refuses_damaged_idx_files(capsys, tmp_path, mnist_dir, damage, fragment):
    folder = mnist_copy(tmp_path / "mnist", mnist_dir, damage)
    rc, out, err = cli(capsys, "train", "--dataset", "mnist", "--data-dir", folder, "--subset", "100", "--quiet")
    assert_bad_input(rc, out, err, fragment)
    assert "t10k-labels-idx1-ubyte" in err


def test_predict_and_evaluate_refuse_bad_input(capsys, tmp_path, digits_model):
    model, _ = digits_model
    files = bad_data(tmp_path)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(Path(model).read_bytes()[:-100])
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases = [
        (["predict", model, files["rows.csv"]], "expected 64 feature columns, got 2"),
        (["predict", model, files["nan_rows.csv"]], "is not finite"),
        (["predict", model, files["labels.csv"]], "got 65 (drop the label column?)"),
        (["predict", model, tmp_path / "objects.npy"], "pickled objects"),
        (["predict", model, files["empty.csv"]], "empty file"),
        (["predict", model, tmp_path / "rows.txt"], "expected a .csv or .npy file"),
        (["predict", truncated, files["rows.csv"]], "truncated"),
        (["predict", files["rows.csv"], files["rows.csv"]], "not a valid safetensors file"),
        (["predict", tmp_path / "none.safetensors", files["rows.csv"]], "no such file or directory"),
        (["predict", model, files["rows.csv"], "--precision", "0"], "expected a positive integer, got 0"),
        (["evaluate", model, "--dataset", files["labels.csv"]], "label 12 (data row 1) is not one of the model's"),
        (["evaluate", model, "--dataset", files["nan.csv"]], "is not finite"),
        (["evaluate", model, "--dataset", "higham"], "has 2 features; the model expects n_0 = 64"),
        (["evaluate", truncated], "truncated"),
    ]
    for argv, fragment in cases:
        rc, out, err = cli(capsys, *argv)
        assert_bad_input(rc, out, err, fragment)


@pytest.mark.parametrize("argv", [
    ["evaluate", "{model}"],
    ["predict", "{model}", "{rows}"],
    ["export", "{model}", "--format", "onnx", "--out", "{out}"],
    ["explain", "--model", "{model}", "--x", "0.5,0.5", "--y", "1,0"],
])
def test_every_command_refuses_a_tampered_model_file(capsys, tmp_path, argv):
    model = tmp_path / "m.safetensors"
    assert cli(capsys, "train", *TINY, "--out", model)[0] == 0
    model.write_bytes(model.read_bytes()[:-4])
    names = {"{model}": model, "{rows}": write(tmp_path, "rows.csv", "x1,x2\n0.5,0.5\n"), "{out}": tmp_path / "x.onnx"}
    if argv[0] not in PRESENT:
        pytest.skip(f"the {argv[0]} command is not installed")
    rc, out, err = cli(capsys, *[names.get(a, a) for a in argv])
    assert_bad_input(rc, out, err, "truncated")
    assert str(model) in err and not (tmp_path / "x.onnx").exists()


def test_a_batch_larger_than_the_data_is_full_batch_with_a_note(capsys, tmp_path):
    rc, _out, err = cli(capsys, "train", *TINY, "--batch-size", "500", "--metrics-json", tmp_path / "m.json")
    assert rc == 0
    assert "note: --batch-size 500 is larger than the 10 training rows; every step uses all 10 rows" in err
    assert len(json.loads((tmp_path / "m.json").read_text())["train_cost"]) == 2


# ----- the progress display ------------------------------------------------------------------------
HIGHAM_SGD = ["--dataset", "higham", "--batch-size", "1", "--optimizer", "sgd", "--lr", "0.05", "--hidden", "4",
              "--schedule", "constant"]


def test_quiet_per_sample_training_runs_in_compiled_runs_not_step_by_step(capsys, monkeypatch):
    from deltaprop.engine import per_sample

    runs = []
    real = per_sample.SampleLoop.run

    def counted(self, X, Y, order, eta):
        runs.append(len(order))
        return real(self, X, Y, order, eta)

    monkeypatch.setattr(per_sample.SampleLoop, "run", counted)
    assert cli(capsys, "train", *HIGHAM_SGD, "--epochs", "3", "--quiet")[0] == 0
    # 10 rows a epoch: the run's first step alone (the callbacks learn the Trainer), then whole epochs
    assert runs == [1, 9, 10, 10]


def test_the_display_is_one_bar_for_the_whole_run_and_a_line_for_the_last_epoch(capsys):
    rc, _out, err = cli(capsys, "train", *HIGHAM_SGD, "--epochs", "30")
    assert rc == 0
    bars = [line for line in err.splitlines() if "10/10" in line]  # the bar's "batches done/of the epoch"
    assert len(bars) == 1 and "epoch 30/30" in bars[0] and "cost" in bars[0]
    assert re.search(r"^epoch 30/30  cost \d\.\d{4}  acc \d\.\d{4}  \d+\.\d\d s$", err, re.M)


# ----- divergence ---------------------------------------------------------------------------------
def test_divergence_saves_the_last_good_weights_and_exits_1(capsys, tmp_path):
    out, ck = tmp_path / "m.safetensors", tmp_path / "ck"
    rc, stdout, err = cli(capsys, "train", "--optimizer", "sgd", "--lr", "1e30", "--hidden", "8", "--epochs", "2",
                          "--quiet", "--out", out, "--checkpoint-dir", ck)
    assert rc == 1 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "training diverged at epoch 1, batch 2" in lines[0] and "learning rate 1e+30 too high" in lines[0]
    assert f"saved them to {out} and {ck / 'last-good.safetensors'}" in lines[0]
    net = deltaprop.load(out)
    assert all(np.isfinite(W).all() for W in net.weights + net.biases)
    assert same_weights(out, ck / "last-good.safetensors")


def test_divergence_without_an_output_says_nothing_was_saved(capsys, tmp_path):
    # no --out and no --checkpoint-dir: the line must not suggest the weights were kept anywhere
    rc, _out, err = cli(capsys, "train", "--optimizer", "sgd", "--lr", "1e30", "--hidden", "8", "--epochs", "2",
                        "--quiet")
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "were kept" not in err and "nothing was saved (no --out or --checkpoint-dir given)" in err


def test_halve_lr_goes_on_and_reports_the_halvings(capsys, tmp_path):
    rc, _out, err = cli(capsys, "train", "--optimizer", "sgd", "--lr", "1e20", "--hidden", "16", "--epochs", "2",
                       "--quiet", "--on-divergence", "halve-lr", "--metrics-json", tmp_path / "m.json")
    assert rc == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    halvings = [e for e in metrics["events"] if "learning rate halved" in e]
    assert halvings and f"halved {len(halvings)} times, to {halvings[-1].rsplit(' ', 1)[-1]}" in err
    assert np.isfinite(metrics["test_cost"])


# ----- checkpoints from the command line ----------------------------------------------------------
def test_checkpoint_dir_then_resume_of_a_finished_run(capsys, tmp_path):
    ck, a, b = tmp_path / "ck", tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    assert cli(capsys, "train", *TINY, "--checkpoint-dir", ck, "--checkpoint-every", "1", "--out", a)[0] == 0
    assert load_checkpoint(ck).where == "end of epoch 2"
    rc, _out, _err = cli(capsys, "train", "--resume", ck, "--out", b, "--quiet")
    assert rc == 0 and same_weights(a, b)


def test_a_checkpoint_is_never_overwritten_by_a_new_run(capsys, tmp_path):
    ck = tmp_path / "ck"
    assert cli(capsys, "train", *TINY, "--checkpoint-dir", ck)[0] == 0
    before = checkpoint_path(ck).read_bytes()
    rc, out, err = cli(capsys, "train", *TINY, "--checkpoint-dir", ck)
    assert_bad_input(rc, out, err, "already holds a checkpoint; continue it with --resume")
    assert checkpoint_path(ck).read_bytes() == before


def test_ctrl_c_without_a_checkpoint_dir_saves_one_in_the_working_folder(capsys, tmp_path, monkeypatch):
    training = importlib.import_module("deltaprop.train")  # the module (deltaprop.train is the function)

    monkeypatch.chdir(tmp_path)
    (tmp_path / "deltaprop-checkpoint").mkdir()
    (tmp_path / "deltaprop-checkpoint" / "checkpoint.safetensors").write_bytes(b"someone else's")
    real = training.train

    def press_ctrl_c(event):  # SIGINT arrives during the 5th batch
        if event.kind == "batch" and event.epoch == 0 and event.batch == 5:
            signal.raise_signal(signal.SIGINT)

    def train_with_ctrl_c(*args, callbacks, **kwargs):  # the command's own callbacks, and one that presses Ctrl-C
        return real(*args, callbacks=[*callbacks, press_ctrl_c], **kwargs)

    monkeypatch.setattr(training, "train", train_with_ctrl_c)
    rc, out, err = cli(capsys, "train", "--hidden", "8", "--epochs", "2", "--quiet", "--out", "m.safetensors")
    assert rc == 130 and out == ""
    assert err.strip() == ("deltaprop: interrupted at epoch 1, batch 5; checkpoint saved to deltaprop-checkpoint-2; "
                           "continue with: deltaprop train --resume deltaprop-checkpoint-2")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler was removed
    monkeypatch.setattr(training, "train", real)
    assert cli(capsys, "train", "--resume", "deltaprop-checkpoint-2")[0] == 0
    assert cli(capsys, "train", "--hidden", "8", "--epochs", "2", "--quiet", "--out", "whole.safetensors")[0] == 0
    assert same_weights(tmp_path / "m.safetensors", tmp_path / "whole.safetensors")


def test_resume_refuses_conflicting_flags_and_other_data(capsys, tmp_path):
    ck = tmp_path / "ck"
    assert cli(capsys, "train", *TINY, "--checkpoint-dir", ck)[0] == 0
    rc, out, err = cli(capsys, "train", "--resume", ck, "--lr", "0.5")
    assert_bad_input(rc, out, err, "--lr 0.5 differs from its 0.1")
    rc, out, err = cli(capsys, "train", "--resume", ck, "--dataset", "higham+1")
    assert_bad_input(rc, out, err, "--dataset higham+1 differs")
    checkpoint_path(ck).write_bytes(checkpoint_path(ck).read_bytes()[:-8])
    rc, out, err = cli(capsys, "train", "--resume", ck)
    assert_bad_input(rc, out, err, "truncated")


# ----- end to end, by subprocess ------------------------------------------------------------------
def test_default_train_reaches_97_percent_on_digits(tmp_path):
    run = subprocess.run(deltaprop_cmd("train", "--quiet", "--metrics-json", tmp_path / "m.json"),
                         check=False, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["dataset"] == {"name": "digits", "train": 1346, "test": 451}
    assert metrics["test_accuracy"] >= 0.97


def test_mnist_subset_by_subprocess(tmp_path, mnist_dir):
    env = {**os.environ, "DELTAPROP_DATA": str(mnist_dir)}
    run = subprocess.run(deltaprop_cmd("train", "--dataset", "mnist", "--subset", "2000", "--epochs", "5", "--quiet",
                                       "--metrics-json", tmp_path / "m.json", "--out", tmp_path / "m.safetensors"),
                         check=False, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["dataset"] == {"name": "mnist", "train": 2000, "test": 400}
    assert metrics["test_accuracy"] >= 0.88
    assert deltaprop.load(tmp_path / "m.safetensors").sizes == (784, 256, 10)


SLOW_RUN = ["train", "--quiet", "--batch-size", "1", "--hidden", "32", "--epochs", "3", "--seed", "7",
            "--checkpoint-every", "40"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    run = subprocess.run(deltaprop_cmd(*SLOW_RUN, "--checkpoint-dir", folder / "ck", "--out", folder / "m.safetensors"),
                         check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return folder / "m.safetensors"


def interrupt_mid_epoch(folder: Path, sig: int) -> subprocess.CompletedProcess:
    """Start SLOW_RUN, wait until its checkpoint has been replaced a few times, then send sig."""
    ck = checkpoint_path(folder / "ck")
    proc = subprocess.Popen(deltaprop_cmd(*SLOW_RUN, "--checkpoint-dir", folder / "ck", "--out", folder / "m.safetensors"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    versions: set[int] = set()
    deadline = time.monotonic() + 120
    while len(versions) < 6 and time.monotonic() < deadline and proc.poll() is None:
        try:
            st = ck.stat()
            versions.add((st.st_ino, st.st_mtime_ns))  # every write renames a new file over the old one
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def resume(folder: Path) -> None:
    run = subprocess.run(deltaprop_cmd("train", "--resume", folder / "ck", "--quiet"), check=False,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr


def test_kill_9_mid_epoch_then_resume_is_bit_identical(tmp_path, uninterrupted):
    killed = interrupt_mid_epoch(tmp_path, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    ck = load_checkpoint(tmp_path / "ck")  # whole, although the kill may have hit a write
    assert ck.state["perm"] is not None or ck.state["epoch"] >= 1
    assert not (tmp_path / "m.safetensors").exists()
    resume(tmp_path)  # no flags: configuration and --out come from the checkpoint
    assert same_weights(tmp_path / "m.safetensors", uninterrupted)


def test_ctrl_c_saves_a_checkpoint_exits_130_and_resumes_bit_identical(tmp_path, uninterrupted):
    stopped = interrupt_mid_epoch(tmp_path, signal.SIGINT)
    assert stopped.returncode == 130, stopped.stderr
    lines = stopped.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stopped.stderr
    ck = load_checkpoint(tmp_path / "ck")
    assert lines[0] == (f"deltaprop: interrupted at {ck.where}; checkpoint saved to {tmp_path / 'ck'}; "
                        f"continue with: deltaprop train --resume {tmp_path / 'ck'}")
    resume(tmp_path)
    assert same_weights(tmp_path / "m.safetensors", uninterrupted)


# ----- the library's boundary, which the command line relies on -----------------------------------
def _net():
    return deltaprop.Network([2, 3, 2], ["tanh", "softmax"], "cross_entropy", seed=0)


LIBRARY_BAD = {
    "NaN in X": (lambda X, Y: (np.where(X == X[1, 1], np.nan, X), Y), {}, "X must be finite"),
    "Inf in Y": (lambda X, Y: (X, np.where(Y == 1, np.inf, Y)), {}, "Y must be finite"),
    "label outside the classes": (lambda X, Y: (X, np.array([0, 1, 2, 0])), {}, "class labels must lie in 0..1"),
    "fractional label": (lambda X, Y: (X, np.array([0, 1, 0.5, 0])), {}, "must hold integers, got 0.5 at index 2"),
    "rows not summing to 1": (lambda X, Y: (X, Y * 0.5), {}, "row 0 sums to 0.5"),
    "too large for float32": (lambda X, Y: (X * 1e300, Y), {}, "too large for float32"),
    "wrong feature count": (lambda X, Y: (np.hstack([X, X]), Y), {}, "X has 4 columns; this network expects n_0 = 2"),
    "no rows": (lambda X, Y: (X[:0], Y[:0]), {}, "X has no rows"),
    "batch size 0": (lambda X, Y: (X, Y), {"batch_size": 0}, "batch_size must be >= 1, got 0"),
    "negative rate": (lambda X, Y: (X, Y), {"lr": -0.1}, "lr"),
    "unknown policy": (lambda X, Y: (X, Y), {"on_divergence": "ignore"}, "on_divergence must be 'stop' or 'halve-lr'"),
}


@pytest.mark.parametrize("case", sorted(LIBRARY_BAD))
def test_train_refuses_bad_input_and_changes_nothing(case):
    X = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]])
    Y = np.eye(2)[[0, 1, 1, 0]]
    make, options, message = LIBRARY_BAD[case]
    Xb, Yb = make(X, Y)
    Xb_before, Yb_before = np.array(Xb, copy=True), np.array(Yb, copy=True)
    net = _net()
    before = [p.copy() for p in net.weights + net.biases]
    with np.errstate(all="ignore"), pytest.raises(ValueError, match=re.escape(message)):
        deltaprop.train(net, Xb, Yb, epochs=1, **options)
    assert all(np.array_equal(a, b) for a, b in zip(net.weights + net.biases, before))
    np.testing.assert_array_equal(Xb, Xb_before)
    np.testing.assert_array_equal(Yb, Yb_before)


def test_a_batch_larger_than_the_data_is_one_full_batch_step_in_the_library():
    X = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    y = np.array([0, 1, 1])
    big, full = _net(), _net()
    deltaprop.train(big, X, y, epochs=2, batch_size=1000, optimizer="sgd", lr=0.5, seed=0)
    deltaprop.train(full, X, y, epochs=2, batch_size=3, optimizer="sgd", lr=0.5, seed=0)
    for a, b in zip(big.weights + big.biases, full.weights + full.biases):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)
