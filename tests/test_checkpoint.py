"""Checkpoints: a stopped and resumed run ends bit-identical to an uninterrupted one; writes are
atomic; a damaged or foreign checkpoint is refused with a clear message."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

from deltaprop import Network, train
from deltaprop.checkpoint import FILENAME, Checkpointer, checkpoint_path, load_checkpoint, save_checkpoint
from deltaprop.io import save


def data(m: int = 37, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 5))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)  # three classes
    return X, y


def fresh(dropout=None, dtype="float32") -> Network:
    return Network([5, 8, 3], ["tanh", "softmax"], "cross_entropy", seed=3, dropout=dropout, dtype=dtype)


OPTIONS = {
    "sgd": {"optimizer": "sgd", "lr": 0.2},
    "momentum+cosine": {"optimizer": "momentum", "lr": 0.1,
                        "optimizer_options": {"momentum": 0.9, "schedule": {"name": "cosine", "total_epochs": 4}}},
    "adam+weight decay": {"optimizer": "adam", "lr": 0.01, "optimizer_options": {"weight_decay": 1e-3}},
}


class StopAt:
    """Sets trainer.stop after the given number of batch events (a stand-in for Ctrl-C or a crash)."""

    def __init__(self, batches: int) -> None:
        self.batches, self.seen = batches, 0

    def __call__(self, event) -> None:
        if event.kind == "batch":
            self.seen += 1
            if self.seen == self.batches:
                event.trainer.stop = True


def params(net: Network) -> list[np.ndarray]:
    return net.weights + net.biases


@pytest.mark.parametrize("name", sorted(OPTIONS))
@pytest.mark.parametrize("stop_after", [1, 6, 10, 23])  # 10 batches per epoch: mid-epoch and at a boundary
def test_stop_checkpoint_resume_is_bit_identical(tmp_path, name, stop_after):
    X, y = data()
    opts = dict(OPTIONS[name], epochs=4, batch_size=4, seed=11)
    whole = fresh(dropout=[0.3])
    h_whole = train(whole, X, y, **opts)

    first = fresh(dropout=[0.3])
    keeper = Checkpointer(tmp_path / "ck", every=3)
    train(first, X, y, callbacks=[keeper, StopAt(stop_after)], **opts)
    keeper.save()  # what the command line does after a stop
    ck = load_checkpoint(tmp_path / "ck")
    in_epoch = 0 if ck.state["perm"] is None else ck.state["batch"]  # perm None: at an epoch's end
    assert ck.state["epoch"] * 10 + in_epoch == stop_after
    for a, b in zip(params(ck.net), params(first)):
        assert a.shape == b.shape and np.array_equal(a, b)

    h_resumed = train(ck.net, X, y, resume=ck.state, **opts)
    for l, (a, b) in enumerate(zip(params(ck.net), params(whole))):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert np.array_equal(a, b), f"parameter {l} differs after resuming"
    assert h_resumed.train_cost == h_whole.train_cost and h_resumed.lr == h_whole.lr


def test_resume_with_early_stopping_restores_the_same_best_weights(tmp_path):
    X, y = data(60)
    Xv, yv = data(20, seed=1)
    opts = {"optimizer": "sgd", "lr": 2.0, "epochs": 12, "batch_size": 8, "seed": 0, "validation": (Xv, yv),
            "early_stopping": 2}
    whole = fresh(dtype="float64")
    h_whole = train(whole, X, y, **opts)
    first = fresh(dtype="float64")
    keeper = Checkpointer(tmp_path, every=5)
    train(first, X, y, callbacks=[keeper, StopAt(13)], **opts)
    keeper.save()
    ck = load_checkpoint(tmp_path)
    h = train(ck.net, X, y, resume=ck.state, **opts)
    assert h_whole.stopped_early and ck.state["epoch"] < h_whole.epochs
    assert (h.best_epoch, h.stopped_early, h.val_cost) == (h_whole.best_epoch, h_whole.stopped_early, h_whole.val_cost)
    assert all(np.array_equal(a, b) for a, b in zip(params(ck.net), params(whole)))


def test_checkpoint_holds_every_part_of_the_state(tmp_path):
    X, y = data()
    net = fresh()
    seen = {}

    def grab(event):
        if event.kind == "batch" and event.epoch == 1 and event.batch == 4:
            seen["state"] = event.trainer.state()
            save_checkpoint(tmp_path, net, seen["state"], extra={"note": "hello", "big": 2**100})
            event.trainer.stop = True

    train(net, X, y, epochs=3, batch_size=4, optimizer="momentum", lr=0.1, seed=5, callbacks=[grab])
    state, ck = seen["state"], load_checkpoint(tmp_path / FILENAME)
    assert ck.extra == {"note": "hello", "big": 2**100}
    assert (ck.state["epoch"], ck.state["batch"]) == (1, 4) and ck.where == "epoch 2, batch 4"
    assert ck.state["perm"].shape == (37,) and np.array_equal(ck.state["perm"], state["perm"])
    assert ck.state["rng"] == state["rng"]  # 128-bit integers exactly
    assert ck.state["history"] == state["history"] and ck.state["acc"] == state["acc"]
    for key in ("velocity",):
        for a, b in zip(ck.state["optimizer"][key], state["optimizer"][key]):
            assert a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    assert {k: v for k, v in ck.state["optimizer"].items() if k != "velocity"} == \
        {k: v for k, v in state["optimizer"].items() if k != "velocity"}
    # The generator's big integers are stored as decimal strings in the JSON metadata.
    raw = (tmp_path / FILENAME).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    meta = json.loads(raw[8:8 + n])["__metadata__"]
    assert json.loads(meta["state"])["rng"]["state"]["state"] == {"$int": str(state["rng"]["state"]["state"])}


def test_official_safetensors_reads_a_checkpoint(tmp_path):
    from safetensors.numpy import load_file

    X, y = data()
    net = fresh()
    keeper = Checkpointer(tmp_path)
    train(net, X, y, epochs=1, batch_size=4, optimizer="adam", seed=0, callbacks=[keeper])
    tensors = load_file(str(tmp_path / FILENAME))
    assert np.array_equal(tensors["layers.1.weight"], net.weights[0])
    assert {"state.optimizer.m.0", "state.optimizer.v.3"} <= set(tensors)


def test_a_failed_write_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    X, y = data()
    net = fresh()
    keeper = Checkpointer(tmp_path)
    train(net, X, y, epochs=1, batch_size=4, seed=0, callbacks=[keeper])
    before = (tmp_path / FILENAME).read_bytes()
    real_fsync = os.fsync

    def crash(fd):  # the machine dies after the data are written but before the rename
        real_fsync(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        train(net, X, y, epochs=1, batch_size=4, seed=1, callbacks=[keeper])
    monkeypatch.undo()
    assert (tmp_path / FILENAME).read_bytes() == before
    assert load_checkpoint(tmp_path).state["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILENAME]


def test_stale_temporary_files_are_removed(tmp_path):
    stale = tmp_path / f".{FILENAME}.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    Checkpointer(tmp_path)
    assert not stale.exists()


def test_checkpoint_every_counts_batches_across_epochs(tmp_path):
    X, y = data()  # 37 rows, batch 4: 10 batches per epoch, 30 in all
    keeper = Checkpointer(tmp_path, every=7)
    train(fresh(), X, y, epochs=3, batch_size=4, seed=0, callbacks=[keeper])
    assert keeper.writes == 3 + 4  # after epochs 1, 2, 3 and batches 7, 14, 21, 28


def bad_state(edit):
    def make(tmp_path):
        X, y = data()
        net = fresh()
        keeper = Checkpointer(tmp_path)
        train(net, X, y, epochs=1, batch_size=4, seed=0, callbacks=[keeper, StopAt(3)], optimizer="momentum")
        state = keeper.trainer.state()
        edit(state)
        save_checkpoint(tmp_path, net, state)
    return make


def flip_byte(tmp_path):
    X, y = data()
    Checkpointer(tmp_path).save(_trainer(X, y))
    raw = bytearray((tmp_path / FILENAME).read_bytes())
    raw[-3] ^= 0x10
    (tmp_path / FILENAME).write_bytes(bytes(raw))


def _trainer(X, y):
    seen = []
    train(fresh(), X, y, epochs=1, batch_size=4, seed=0, callbacks=[seen.append])
    return seen[-1].trainer


def model_file(tmp_path):
    save(fresh(), tmp_path / FILENAME)


BAD = {
    "a flipped byte": (flip_byte, ValueError, "do not match the SHA-256"),
    "a model file, not a checkpoint": (model_file, ValueError, "not a deltaprop checkpoint"),
    "no checkpoint": (lambda tmp_path: None, FileNotFoundError, "no checkpoint here"),
    "perm not a permutation": (bad_state(lambda s: s.update(perm=np.zeros(37, np.int64))), ValueError,
                               "perm must be a permutation"),
    "negative epoch": (bad_state(lambda s: s.update(epoch=-1)), ValueError, "epoch must be an integer >= 0"),
    "foreign bit generator": (bad_state(lambda s: s["rng"].update(bit_generator="os.system")), ValueError,
                              "rng must be the state of one of"),
    "generator state damaged": (bad_state(lambda s: s["rng"]["state"].update(inc="x")), ValueError,
                                "malformed checkpoint state"),
    "optimizer arrays of other shapes": (bad_state(lambda s: s["optimizer"].update(
        velocity=[np.zeros(2, np.float32)] * 4)), ValueError, "malformed checkpoint state"),
    "history with unknown keys": (bad_state(lambda s: s["history"].update(secret=1)), ValueError,
                                  "malformed checkpoint state"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_damaged_checkpoints_are_refused(tmp_path, case):
    make, error, message = BAD[case]
    make(tmp_path)
    with pytest.raises(error, match=message):
        load_checkpoint(tmp_path)


def test_save_checkpoint_refuses_what_is_not_a_state(tmp_path):
    with pytest.raises(TypeError, match="state must be a dict from Trainer.state"):
        save_checkpoint(tmp_path, fresh(), {"epoch": 1})
    with pytest.raises(TypeError, match="cannot checkpoint state.history.f"):
        save_checkpoint(tmp_path, fresh(), {"epoch": 0, "batch": 0, "rng": {}, "optimizer": {},
                                            "history": {"f": print}})
    assert not (tmp_path / FILENAME).exists()


def test_checkpoint_path_names():
    assert checkpoint_path("runs/a").name == FILENAME
    assert str(checkpoint_path("runs/a/b.safetensors")) == os.path.join("runs", "a", "b.safetensors")
