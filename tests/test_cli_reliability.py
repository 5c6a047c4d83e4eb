"""Issue 15: bounded divergence handling, strict JSON, bounded memory, one trainer per folder, one-line errors."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deltaprop
from deltaprop.checkpoint import Checkpointer, load_checkpoint, save_checkpoint
from deltaprop.datasets import load_digits
from deltaprop.cli import main
from deltaprop.commands._common import write_json
from deltaprop.train import DivergenceError, train
from clitools import TINY, cli, one_line

def strict_load(path: Path):
    def refuse(name):
        raise AssertionError(f"{path} holds {name}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def finite(path: Path) -> bool:
    net = deltaprop.load(path)
    return all(np.isfinite(a).all() for a in net.weights + net.biases)


# ----- 15.3: halve-lr -----------------------------------------------------------------------------
def test_halve_lr_that_never_recovers_exits_1_in_one_line_with_finite_weights(capsys, tmp_path):
    out, ck, metrics = tmp_path / "m.safetensors", tmp_path / "ck", tmp_path / "m.json"
    rc, stdout, err = cli(capsys, "train", "--hidden", "16", "--epochs", "3", "--lr", "1e30", "--quiet",
                          "--on-divergence", "halve-lr", "--out", out, "--checkpoint-dir", ck, "--metrics-json", metrics)
    line = one_line(rc, err, 1, "did not recover after 30 halvings of the learning rate")
    assert f"saved them to {out} and {ck / 'last-good.safetensors'}" in line
    assert finite(out) and finite(ck / "last-good.safetensors")
    X = load_digits(seed=0).X_test
    assert np.isfinite(deltaprop.load(out).forward(X)).all()
    np.save(tmp_path / "rows.npy", X)
    rc, stdout, err = cli(capsys, "predict", out, tmp_path / "rows.npy", "--proba")
    assert rc == 0 and "nan" not in stdout


def test_halve_lr_that_recovers_summarises_its_notes_in_one_line(capsys, tmp_path):
    metrics = tmp_path / "m.json"
    rc, _out, err = cli(capsys, "train", "--optimizer", "sgd", "--lr", "1e15", "--hidden", "16", "--epochs", "2",
                        "--quiet", "--on-divergence", "halve-lr", "--metrics-json", metrics)
    assert rc == 0
    data = strict_load(metrics)
    halved = [e for e in data["events"] if "learning rate halved" in e]
    assert len(halved) >= 3
    notes = [line for line in err.splitlines() if "halved" in line]
    assert len(notes) == 1 and f"halved {len(halved)} times, to {halved[-1].rsplit(' ', 1)[-1]}" in notes[0], err
    assert math.isfinite(data["test_cost"])


def test_the_library_bounds_the_halvings():
    net = deltaprop.Network([64, 16, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    ds = load_digits(seed=0)
    with pytest.raises(DivergenceError, match="did not recover after 30 halvings"):
        train(net, ds.X_train, ds.y_train, epochs=3, optimizer="momentum", lr=1e30, on_divergence="halve-lr", seed=0)
    assert all(np.isfinite(a).all() for a in net.weights + net.biases)


def test_json_outputs_are_strict(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"a": float("nan"), "b": [np.float32("inf"), 1.5], "c": np.array([-np.inf, 2.0]), "d": "x"})
    assert strict_load(path) == {"a": None, "b": [None, 1.5], "c": [None, 2.0], "d": "x"}


def test_non_finite_weights_are_never_saved(tmp_path):
    net = deltaprop.Network([2, 3, 2], ["tanh", "softmax"], "cross_entropy", seed=0)
    net.weights[1][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"layers.2.weight holds NaN or Inf"):
        net.save(tmp_path / "m.safetensors")
    state = {"epoch": 0, "batch": 0, "rng": {}, "optimizer": {}, "history": {}}
    with pytest.raises(ValueError, match="non-finite weights are never saved"):
        save_checkpoint(tmp_path / "ck", net, state)
    assert list(tmp_path.iterdir()) == []


# ----- 15.5: one trainer per checkpoint folder ----------------------------------------------------
def test_a_held_folder_is_refused_at_once_naming_the_pid(capsys, tmp_path):
    from deltaprop.commands._paths import folder_lock

    ck = tmp_path / "ck"
    with folder_lock(ck):
        rc, out, err = cli(capsys, "train", *TINY, "--checkpoint-dir", ck)
        one_line(rc, err, 2, f"--checkpoint-dir {ck} is in use by another training run (PID {os.getpid()})")
        assert not (ck / "checkpoint.safetensors").exists()
    assert cli(capsys, "train", *TINY, "--checkpoint-dir", ck)[0] == 0  # released


def _wait_for(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_two_trainers_on_one_folder_and_a_stale_lock_after_sigkill(tmp_path):
    ck = tmp_path / "ck"
    train_argv = [sys.executable, "-m", "deltaprop", "train", "--hidden", "8", "--epochs", "100000", "--quiet",
                  "--checkpoint-dir", str(ck)]
    first = subprocess.Popen(train_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: (ck / "checkpoint.safetensors").exists() or first.poll() is not None, "a first checkpoint")
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        for argv in (train_argv, [sys.executable, "-m", "deltaprop", "train", "--resume", str(ck), "--quiet"]):
            second = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            lines = second.stderr.strip().splitlines()
            assert second.returncode == 2 and len(lines) == 1, second.stderr
            assert f"{ck} is in use by another training run (PID {first.pid})" in lines[0]
        assert first.poll() is None  # the first run goes on
    finally:
        first.kill()  # SIGKILL: no chance to release anything
        first.wait()
    resumed = subprocess.Popen([sys.executable, "-m", "deltaprop", "train", "--resume", str(ck), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        owner = ck / ".deltaprop.lock.pid"
        _wait_for(lambda: resumed.poll() is not None or (owner.exists() and owner.read_text().strip() == str(resumed.pid)),
                  "the resumed run to take the lock")
        assert resumed.poll() is None, resumed.stderr.read() if resumed.stderr else ""
        epoch = load_checkpoint(ck).state["epoch"]
        _wait_for(lambda: load_checkpoint(ck).state["epoch"] > epoch, "the resumed run to write a checkpoint")
        resumed.send_signal(signal.SIGINT)
        assert resumed.wait(timeout=60) == 130
    finally:
        if resumed.poll() is None:
            resumed.kill()
            resumed.wait()


# ----- 15.4: tiny files that claim huge networks ------------------------------------------------
HUGE = [64, 20000, 20000, 10]  # about 4e8 parameters: 1.6 GB in float32, 3.2 GB in float64


def _claiming(path: Path, sizes, *, checkpoint: bool = False) -> Path:
    """A small real model (or checkpoint) file whose metadata declares ``sizes``."""
    from deltaprop import io as dio

    net = deltaprop.Network([64, 3, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    if checkpoint:
        ds = load_digits(seed=0)
        keeper = Checkpointer(path.parent)
        train(net, ds.X_train[:20], ds.y_train[:20], epochs=1, seed=0, callbacks=[keeper])
        tensors, meta = dio.decode(keeper.path)
    else:
        tensors, meta = dict(dio.model_tensors(net)), dio.model_metadata(net)
    arch = json.loads(meta["architecture"])
    arch.update(sizes=sizes, activations=["relu"] * (len(sizes) - 2) + ["softmax"], dropout=[0.0] * (len(sizes) - 2))
    meta = {**meta, "architecture": json.dumps(arch)}
    meta.pop("sha256", None)
    path.write_bytes(dio.encode(tensors, meta))
    return path


def _answers(path: Path, sizes) -> Path:
    network = {"sizes": sizes, "activations": ["sigmoid"] * (len(sizes) - 1), "cost": "quadratic",
               "weights": [[[0.1, 0.2]]], "biases": [[0.1]]}
    path.write_text(json.dumps({"network": network, "x": [0.5], "y": [1.0], "answers": {"cost": 0.1}}))
    return path


def _peak_bytes(argv) -> tuple[int, int, str]:
    """(exit code, peak bytes allocated while main ran, stderr) of main(argv) under tracemalloc."""
    import contextlib
    import io
    import tracemalloc

    err = io.StringIO()
    tracemalloc.start()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main([str(a) for a in argv])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return rc, peak, err.getvalue()


@pytest.mark.parametrize("case", ["predict", "evaluate", "export", "explain --model", "resume", "check",
                                  "explain --weights", "explain --sizes", "400-digit width"])
def test_a_small_file_claiming_a_huge_network_is_refused_without_building_it(tmp_path, case):
    rows = tmp_path / "rows.npy"
    np.save(rows, np.zeros((2, 64)))
    model = _claiming(tmp_path / "m.safetensors", HUGE if case != "400-digit width" else [64, 10**400, 10])
    argv = {"predict": ["predict", model, rows], "evaluate": ["evaluate", model],
            "export": ["export", model, "--format", "torch", "--out", tmp_path / "m.pt"],
            "explain --model": ["explain", "--model", model, "--x", ",".join(["0"] * 64), "--y", "1"],
            "resume": ["train", "--resume", _claiming(tmp_path / "ck" / "checkpoint.safetensors", HUGE,
                                                      checkpoint=True).parent],
            "check": ["check", _answers(tmp_path / "a.json", HUGE)],
            "explain --weights": ["explain", "--weights", _answers(tmp_path / "a.json", HUGE)],
            "explain --sizes": ["explain", "--sizes", ",".join(map(str, HUGE)), "--x", "0", "--y", "1"],
            "400-digit width": ["predict", model, rows]}[case]
    main(["explain", "--sizes", "2,2", "--x", "0,0", "--y", "1,0"])  # imports done before measuring
    rc, peak, err = _peak_bytes(argv)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "declare" in lines[0] and ("parameters" in lines[0]), lines[0]
    assert peak < 100 * 2**20, f"{case}: {peak / 2**20:.0f} MB allocated before refusing"


def test_max_params_lifts_the_cap(capsys, tmp_path):
    rc, out, err = cli(capsys, "explain", "--sizes", "3,4,2", "--x", "0,0,0", "--y", "1,0", "--max-params", "20")
    one_line(rc, err, 2, "declare 26 parameters, more than the limit of 20 (--max-params N raises it)")
    rc, out, err = cli(capsys, "explain", "--sizes", "3,4,2", "--x", "0,0,0", "--y", "1,0", "--max-params", "26")
    assert rc == 0 and "z" in out


# ----- 15.7: one line instead of a traceback ------------------------------------------------------
BIG = "1" * 400  # a 400-digit number, as JSON text


def _rewritten(path: Path, change) -> None:
    """Rewrite a safetensors file's metadata through change(meta) (the digest dropped: a hand edit)."""
    from deltaprop import io as dio

    tensors, meta = dio.decode(path)
    change(meta)
    meta.pop("sha256", None)
    path.write_bytes(dio.encode(tensors, meta))


def _state_edit(edit):
    def change(meta):
        state, extra = json.loads(meta["state"]), json.loads(meta["extra"])
        edit(state, extra)
        meta["state"] = json.dumps(state).replace('"BIG"', BIG)
        meta["extra"] = json.dumps(extra)
    return change


CHECKPOINT_EDITS = {
    "outputs a list": (_state_edit(lambda s, e: e.__setitem__("outputs", ["a.safetensors", "m.json"])),
                       "'outputs' must map"),
    "empty history": (_state_edit(lambda s, e: s["history"].update({k: [] for k in ("train_cost", "train_accuracy",
                                                                     "val_cost", "val_accuracy", "seconds", "lr")})),
                      "the history holds 0 epochs, the counter says 2"),
    "400-digit epoch": (_state_edit(lambda s, e: s.__setitem__("epoch", "BIG")), "malformed checkpoint state"),
    "400-digit rng state": (_state_edit(lambda s, e: s["rng"]["state"].__setitem__("state", "BIG")),
                            "malformed checkpoint state"),
    "400-digit cost": (_state_edit(lambda s, e: s["history"]["train_cost"].__setitem__(0, "BIG")),
                       "malformed checkpoint state"),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINT_EDITS))
def test_malformed_checkpoints_are_one_line(capsys, tmp_path, case):
    ck = tmp_path / "ck"
    assert cli(capsys, "train", *TINY, "--checkpoint-dir", ck)[0] == 0
    edit, fragment = CHECKPOINT_EDITS[case]
    _rewritten(ck / "checkpoint.safetensors", edit)
    before = (ck / "checkpoint.safetensors").read_bytes()
    rc, out, err = cli(capsys, "train", "--resume", ck, "--quiet")
    one_line(rc, err, 2, fragment)
    assert (ck / "checkpoint.safetensors").read_bytes() == before


@pytest.mark.parametrize("key, value, fragment", [
    ("scaling", '{"kind": "standardize", "mean": [BIG, 0], "std": [1, 1]}', "m.safetensors"),
    ("architecture", '{"sizes": [2, 4, 2], "activations": ["relu", "softmax"], "cost": "cross_entropy", '
                     '"dtype": "float32", "dropout": [1e400]}', "m.safetensors"),
    ("classes", f'["A", {BIG}]', "m.safetensors"),
])
def test_400_digit_numbers_in_model_metadata_are_one_line(capsys, tmp_path, key, value, fragment):
    model = tmp_path / "m.safetensors"
    assert cli(capsys, "train", *TINY, "--out", model)[0] == 0
    _rewritten(model, lambda meta: meta.__setitem__(key, value.replace("BIG", BIG)))
    np.save(tmp_path / "rows.npy", np.zeros((2, 2)))
    rc, out, err = cli(capsys, "predict", model, tmp_path / "rows.npy")
    assert rc in (0, 2) and "Traceback" not in err
    if rc == 2:
        one_line(rc, err, 2, fragment)


@pytest.mark.parametrize("where", ["x", "weights", "answer"])
def test_400_digit_numbers_in_answer_files_are_one_line(capsys, tmp_path, where):
    network = {"sizes": [1, 1], "activations": ["sigmoid"], "cost": "quadratic", "weights": [[[0.5]]],
               "biases": [[0.1]]}
    data = {"network": network, "x": [0.5], "y": [1.0], "answers": {"cost": 0.1}}
    text = json.dumps(data)
    text = {"x": text.replace("[0.5]", f"[{BIG}]", 1), "weights": text.replace("[[[0.5]]]", f"[[[{BIG}]]]"),
            "answer": text.replace('"cost": 0.1', f'"cost": {BIG}.5')}[where]
    path = tmp_path / "a.json"
    path.write_text(text)
    for argv in (["check", path], ["explain", "--weights", path]):
        rc, out, err = cli(capsys, *argv)
        one_line(rc, err, 2, "is not a finite float64")
    assert path.read_text() == text


def test_export_without_onnx_names_the_extra(capsys, tmp_path, monkeypatch):
    model = tmp_path / "m.safetensors"
    deltaprop.Network([2, 2], ["sigmoid"], "quadratic", seed=0).save(model)
    monkeypatch.setitem(sys.modules, "onnx", None)  # as in a .[cli] install: import onnx fails
    rc, out, err = cli(capsys, "export", model, "--format", "onnx", "--out", tmp_path / "m.onnx")
    one_line(rc, err, 2, "pip install 'deltaprop[ecosystem]'")
    assert not (tmp_path / "m.onnx").exists()


def test_export_refuses_an_empty_out(capsys, tmp_path):
    model = tmp_path / "m.safetensors"
    deltaprop.Network([2, 2], ["sigmoid"], "quadratic", seed=0).save(model)
    rc, out, err = cli(capsys, "export", model, "--format", "torch", "--out", "")
    one_line(rc, err, 2, "--out is empty")
