"""Issue 15: outputs never destroy inputs or special files, and are checked before any work.

Every case runs the real command line (in-process, or as a subprocess where a process matters)
on real files, FIFOs and symlinks, and compares every input byte for byte afterwards.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import deltaprop
from deltaprop.cli import main
from deltaprop.commands._paths import check_outputs
from clitools import TINY, cli, one_line



def refused(rc, out, err, fragment):
    one_line(rc, err, 2, fragment)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A CSV data set and a model trained on it."""
    folder = tmp_path_factory.mktemp("outputs")
    rows = [f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}" for i in range(20)]
    (folder / "data.csv").write_text("u,v,label\n" + "\n".join(rows) + "\n")
    model = folder / "model.safetensors"
    assert main(["train", "--dataset", str(folder / "data.csv"), "--hidden", "3", "--epochs", "1", "--quiet",
                 "--out", str(model)]) == 0
    return folder


def snapshot(*paths: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


# ----- 15.1: an output that names an input ---------------------------------------------------------
@pytest.mark.parametrize("flag", ["--out", "--metrics-json"])
def test_train_refuses_to_write_over_its_data_set(capsys, files, flag):
    data = files / "data.csv"
    before = snapshot(data)
    rc, out, err = cli(capsys, "train", "--dataset", data, "--hidden", "3", "--epochs", "1", "--quiet", flag, data)
    refused(rc, out, err, f"{flag} {data} is the same file as --dataset {data}")
    assert snapshot(data) == before


@pytest.mark.parametrize("how", ["hard link", "symlink", "dotted path"])
def test_the_same_file_under_another_name_is_refused(capsys, files, tmp_path, how):
    data = files / "data.csv"
    alias = tmp_path / "alias.csv"
    if how == "hard link":
        os.link(data, alias)
    elif how == "symlink":
        alias.symlink_to(data)
    else:
        alias = files / "." / ".." / files.name / "data.csv"
    before = snapshot(data)
    rc, out, err = cli(capsys, "train", "--dataset", data, "--hidden", "3", "--epochs", "1", "--quiet", "--out", alias)
    refused(rc, out, err, "is the same file as --dataset")
    assert snapshot(data) == before
    assert how != "symlink" or alias.is_symlink()


def test_export_refuses_to_write_over_its_model(capsys, files):
    model = files / "model.safetensors"
    before = snapshot(model)
    rc, out, err = cli(capsys, "export", model, "--format", "onnx", "--out", model)
    refused(rc, out, err, f"--out {model} is the same file as MODEL {model}")
    assert snapshot(model) == before


def test_evaluate_refuses_to_write_over_its_inputs(capsys, files):
    model, data = files / "model.safetensors", files / "data.csv"
    before = snapshot(model, data)
    for argv in (["--metrics-json", model], ["--dataset", data, "--metrics-json", data]):
        rc, out, err = cli(capsys, "evaluate", model, *argv)
        refused(rc, out, err, "is the same file as")
    assert snapshot(model, data) == before


def test_out_inside_the_checkpoint_folder_is_refused(capsys, tmp_path):
    ck = tmp_path / "ck"
    rc, out, err = cli(capsys, "train", *TINY, "--checkpoint-dir", ck, "--out", ck / "checkpoint.safetensors")
    refused(rc, out, err, "is the same file as --checkpoint-dir")
    assert not (ck / "checkpoint.safetensors").exists()
    assert cli(capsys, "train", *TINY, "--checkpoint-dir", ck)[0] == 0
    before = snapshot(ck / "checkpoint.safetensors")
    for target in (ck / "checkpoint.safetensors", ck / "last-good.safetensors"):
        rc, out, err = cli(capsys, "train", "--resume", ck, "--quiet", "--out", target)
        refused(rc, out, err, "is the same file as --")
    assert snapshot(ck / "checkpoint.safetensors") == before
    assert cli(capsys, "train", "--resume", ck, "--quiet")[0] == 0  # still resumable


def test_two_outputs_on_one_file_are_refused(capsys, tmp_path):
    same = tmp_path / "both"
    rc, out, err = cli(capsys, "train", *TINY, "--out", same, "--metrics-json", same)
    refused(rc, out, err, f"--metrics-json {same} is the same file as --out {same}")
    assert not same.exists()


# ----- 15.2: special files --------------------------------------------------------------------------
def test_a_fifo_is_refused_before_any_work_and_stays_a_fifo(capsys, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for argv in (["train", *TINY, "--out", fifo], ["train", *TINY, "--metrics-json", fifo]):
        rc, out, err = cli(capsys, *argv)
        refused(rc, out, err, "is a FIFO, not a regular file")
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_device_node_is_refused(capsys, tmp_path):
    node = tmp_path / "null-like"
    try:  # a private node with /dev/null's numbers; the real /dev/null is never named
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here (not root)")
    rc, out, err = cli(capsys, "train", *TINY, "--out", node)
    refused(rc, out, err, "is a character device, not a regular file")
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    with pytest.raises(ValueError, match="not a regular file"):
        deltaprop.io.write_atomic(node, b"x")
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_a_folder_as_out_is_refused(capsys, tmp_path):
    rc, out, err = cli(capsys, "train", *TINY, "--out", tmp_path)
    refused(rc, out, err, "is a folder, not a regular file")


def test_a_symlinked_output_replaces_its_target_and_keeps_the_link(capsys, tmp_path):
    there = tmp_path / "there"
    there.mkdir()
    target, link = there / "model.safetensors", tmp_path / "link.safetensors"
    target.write_bytes(b"old")
    link.symlink_to(target)
    assert cli(capsys, "train", *TINY, "--out", link)[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert deltaprop.load(target).sizes == (2, 4, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.safetensors", "there"]  # no temporary file left
    assert sorted(p.name for p in there.iterdir()) == ["model.safetensors"]


def test_write_atomic_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        deltaprop.io.write_atomic(fifo, b"data")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# ----- 15.6: outputs checked before the first epoch -----------------------------------------------
@pytest.mark.parametrize("flag, value, fragment", [
    ("--out", "no-such-dir/m.safetensors", "the folder no-such-dir does not exist"),
    ("--metrics-json", "no-such-dir/m.json", "the folder no-such-dir does not exist"),
    ("--plot", "curves.txt", "plot files must end in .png or .svg"),
    ("--out", "", "--out is empty"),
    ("--metrics-json", "", "--metrics-json is empty"),
])
def test_bad_outputs_are_refused_before_training(capsys, tmp_path, monkeypatch, flag, value, fragment):
    from deltaprop.commands import train as train_command

    monkeypatch.chdir(tmp_path)
    called = []
    monkeypatch.setattr(train_command, "_load_data", lambda cfg: called.append(cfg))
    argv = ["train", *TINY, "--out", "m.safetensors", "--metrics-json", "m.json", "--plot", "c.png"]
    argv[argv.index(flag) + 1] = value
    rc, out, err = cli(capsys, *argv)
    refused(rc, out, err, fragment)
    assert called == [] and list(tmp_path.iterdir()) == []


def test_a_failed_save_at_the_end_names_where_the_weights_are(capsys, tmp_path, monkeypatch):
    import deltaprop.io as dio

    real = dio.write_atomic
    out = tmp_path / "m.safetensors"

    def disk_full(path, data):
        if Path(path).resolve() == out.resolve():
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(dio, "write_atomic", disk_full)
    monkeypatch.chdir(tmp_path)
    rc, stdout, err = cli(capsys, "train", *TINY, "--out", out)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "No space left on device" in lines[0], err
    kept = Path(lines[0].split("the trained weights were saved to ")[1].split(" instead")[0])
    assert kept.exists() and deltaprop.load(kept).sizes == (2, 4, 2)
    rc, stdout, err = cli(capsys, "train", *TINY, "--out", out, "--checkpoint-dir", tmp_path / "ck")
    assert rc == 2 and f"the trained weights are in the checkpoint {tmp_path / 'ck'}" in err, err
    ck = deltaprop.checkpoint.load_checkpoint(tmp_path / "ck")
    assert np.array_equal(ck.net.weights[0], deltaprop.load(kept).weights[0])  # same run, same seed


def test_check_outputs_accepts_what_it_should(tmp_path):
    (tmp_path / "in.csv").write_text("x\n")
    check_outputs([("--dataset", tmp_path / "in.csv"), ("--resume", None)],
                  {"--out": tmp_path / "new.safetensors", "--plot": tmp_path / "c.PNG", "--metrics-json": None})


# ----- a typed output's name says its format ---------------------------------------------------------
WRONG_SUFFIX = {  # (command line after the files' folder, the output, expected suffixes, the suffix that came)
    "train model .txt": (["train", *TINY, "--out", "m.txt"], "--out", ".safetensors", "'.txt'"),
    "train model, no suffix": (["train", *TINY, "--out", "model"], "--out", ".safetensors", "none"),
    "train model .npz": (["train", *TINY, "--out", "m.npz"], "--out", ".safetensors", "'.npz'"),
    "train metrics .csv": (["train", *TINY, "--metrics-json", "m.csv"], "--metrics-json", ".json", "'.csv'"),
    "evaluate metrics .txt": (["evaluate", "{model}", "--dataset", "{data}", "--metrics-json", "e.txt"],
                              "--metrics-json", ".json", "'.txt'"),
    "export onnx as .pt": (["export", "{model}", "--format", "onnx", "--out", "m.pt"], "--out", ".onnx", "'.pt'"),
    "export torch as .onnx": (["export", "{model}", "--format", "torch", "--out", "m.onnx"], "--out", ".pt or .pth",
                              "'.onnx'"),
}


@pytest.mark.parametrize("case", list(WRONG_SUFFIX))
def test_an_output_whose_suffix_does_not_match_its_format_is_refused_before_any_work(capsys, files, tmp_path,
                                                                                     monkeypatch, case):
    import deltaprop.commands.train as train_command

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(train_command, "_run", no_training)
    argv, flag, expected, came = WRONG_SUFFIX[case]
    argv = [a.format(model=files / "model.safetensors", data=files / "data.csv") for a in argv]
    out_at = argv.index(flag) + 1
    argv[out_at] = str(tmp_path / argv[out_at])
    before = snapshot(files / "model.safetensors", files / "data.csv")
    rc, out, err = cli(capsys, *argv, *(["--checkpoint-dir", tmp_path / "ck"] if argv[0] == "train" else []))
    line = one_line(rc, err, 2, f"{flag} {argv[out_at]}: ")
    assert f"expected a name ending in {expected}, got {came}" in line
    assert sorted(tmp_path.iterdir()) == [] and snapshot(files / "model.safetensors", files / "data.csv") == before


@pytest.mark.parametrize("fmt,name", [("onnx", "m.ONNX"), ("torch", "m.pt"), ("torch", "m.pth")])
def test_an_output_whose_suffix_matches_is_written(capsys, files, tmp_path, fmt, name):
    pytest.importorskip("onnx" if fmt == "onnx" else "torch")
    rc, out, err = cli(capsys, "export", files / "model.safetensors", "--format", fmt, "--out", tmp_path / name)
    assert rc == 0, err
    assert (tmp_path / name).stat().st_size > 0
    rc, out, err = cli(capsys, "train", *TINY, "--out", tmp_path / "M.SafeTensors", "--metrics-json",
                       tmp_path / "m.JSON")
    assert rc == 0, err
    assert deltaprop.load(tmp_path / "M.SafeTensors").sizes == (2, 4, 2)
