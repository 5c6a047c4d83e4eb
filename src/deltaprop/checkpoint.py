r"""Checkpoints: everything a training run needs to go on bit for bit, in one safetensors file.

A checkpoint holds the weights W^(l), b^(l) (``layers.{l}.weight`` / ``layers.{l}.bias``, as in
a model file), the optimiser's state arrays, the current epoch's shuffle, and in its JSON
metadata the epoch and batch counters, the random generator's state, the optimiser's counters
and the history: ``Trainer.state()`` whole, so ``train(..., resume=checkpoint.state)``
continues exactly where the run stopped. Arrays are stored as tensors, never pickled; the
generator's 128-bit integers are stored as decimal strings. Every write goes to a temporary file
that is fsynced and renamed over the old one, so a crash at any moment leaves the previous
checkpoint whole; a SHA-256 of header and data is checked when reading.

Examples
--------
>>> import tempfile
>>> from deltaprop import Network, train
>>> net = Network([2, 3, 2], ["tanh", "softmax"], "cross_entropy", seed=0)
>>> X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1])
>>> folder = tempfile.mkdtemp()
>>> keeper = Checkpointer(folder, every=2)
>>> history = train(net, X, y, epochs=3, batch_size=1, seed=0, callbacks=[keeper])
>>> ck = load_checkpoint(folder)
>>> ck.state["epoch"], all(np.array_equal(W, V) for W, V in zip(ck.net.weights, net.weights))
(3, True)
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from .network import Network
from .optim import optimizer_from_config
from .train import History

__all__ = ["FILENAME", "FORMAT", "Checkpoint", "Checkpointer", "checkpoint_path", "load_checkpoint", "position",
           "save_checkpoint"]

FORMAT = "deltaprop.checkpoint"
FILENAME = "checkpoint.safetensors"
VERSION = "1"
_STORED = {np.dtype(t) for t in ("float32", "float64", "int64", "uint64", "uint32")}
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as read back.

    Attributes
    ----------
    net : Network
        The weights, architecture, scaling and classes at the time of the checkpoint.
    state : dict
        ``Trainer.state()`` as it was written: pass it as ``train(..., resume=state)``.
    extra : dict
        Whatever JSON the writer added (the command line stores its TrainConfig here).
    path : Path
        The file that was read.
    """

    net: Network
    state: dict[str, Any]
    extra: dict[str, Any]
    path: Path

    @property
    def where(self) -> str:
        """Where the run stands, for messages: see :func:`position`."""
        return position(self.state)


def position(state: dict[str, Any]) -> str:
    """Where a ``Trainer.state()`` stands: "end of epoch 3", or "epoch 4, batch 17" (counted from 1)."""
    epoch = int(state["epoch"])
    if state.get("perm") is None:
        return f"end of epoch {epoch}"
    return f"epoch {epoch + 1}, batch {int(state['batch'])}"


def checkpoint_path(path: str | os.PathLike[str]) -> Path:
    """A folder gives folder/checkpoint.safetensors; a path ending in .safetensors is used as it is."""
    p = Path(path)
    return p if p.suffix == ".safetensors" else p / FILENAME


# ----- state <-> (JSON, tensors) ------------------------------------------------------------------
def _to_json(value: Any, name: str, tensors: dict[str, np.ndarray]) -> Any:
    """JSON-able copy of value; arrays go to tensors under name, big ints become strings."""
    if isinstance(value, np.ndarray):
        arr, kind = value, value.dtype
        if kind not in _STORED:
            if kind.kind not in "biuf":
                raise TypeError(f"cannot checkpoint {name}: arrays of dtype {kind} are not supported")
            arr = value.astype(np.float64 if kind.kind == "f" else np.int64)
        tensors[name] = arr
        return {"$tensor": name, "dtype": kind.name}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else {"$int": str(value)}
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"cannot checkpoint {name}: dict keys must be str")
        return {k: _to_json(v, f"{name}.{k}", tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]
    raise TypeError(f"cannot checkpoint {name}: values of type {type(value).__name__} are not supported")


def _from_json(value: Any, tensors: dict[str, np.ndarray], used: set[str]) -> Any:
    if isinstance(value, list):
        return [_from_json(v, tensors, used) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"$int"} and isinstance(value["$int"], str):
        return int(value["$int"])
    if set(value) == {"$tensor", "dtype"}:
        name = value["$tensor"]
        if name not in tensors:
            raise ValueError(f"the state refers to a tensor {name!r} that the file does not hold")
        used.add(name)
        return tensors[name].astype(np.dtype(value["dtype"]), copy=False)
    return {k: _from_json(v, tensors, used) for k, v in value.items()}


def save_checkpoint(path: str | os.PathLike[str], net: Network, state: dict[str, Any], *,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write ``net`` and a ``Trainer.state()`` atomically; returns the file written.

    Parameters
    ----------
    path : str or path-like
        A folder (created if needed; the file is folder/checkpoint.safetensors) or a file
        ending in .safetensors.
    net : Network
    state : dict
        ``event.trainer.state()``: arrays become tensors, everything else JSON.
    extra : dict, optional
        JSON-serialisable information kept beside the state (returned as ``Checkpoint.extra``).
    """
    if not isinstance(state, dict) or not {"epoch", "batch", "rng", "optimizer", "history"} <= set(state):
        raise TypeError("state must be a dict from Trainer.state() (keys epoch, batch, rng, optimizer, history)")
    file = checkpoint_path(path)
    io.finite_weights(net, f"cannot write the checkpoint {file}")
    tensors = dict(io.model_tensors(net))
    meta = io.model_metadata(net)
    meta.update(format=FORMAT, version=VERSION, state=json.dumps(_to_json(state, "state", tensors)),
                extra=json.dumps(_to_json(extra or {}, "extra", tensors)))
    file.parent.mkdir(parents=True, exist_ok=True)
    io.write_atomic(file, io.encode(tensors, meta, digest=True))
    return file


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and check a checkpoint (a folder or a .safetensors file).

    Raises
    ------
    FileNotFoundError
        If there is no checkpoint there.
    ValueError
        If the file is not a whole, well-formed deltaprop checkpoint: tampered or truncated
        data, a foreign format, or a state that could not be resumed (malformed counters,
        generator state, optimiser state, history or shuffle).
    """
    file = checkpoint_path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no checkpoint here (deltaprop train --checkpoint-dir writes one)")
    tensors, meta = io.decode(file)
    where = str(file)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{where}: not a deltaprop checkpoint (format {meta.get('format')!r}, expected {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise ValueError(f"{where}: checkpoint version {meta.get('version')!r}; this deltaprop reads {VERSION!r}")
    model = {k: v for k, v in tensors.items() if k.startswith("layers.")}
    net = io.network_from(model, {**meta, "format": io.FORMAT}, where)
    used = set(model)
    try:
        state = _from_json(json.loads(meta["state"]), tensors, used)
        extra = _from_json(json.loads(meta.get("extra", "{}")), tensors, used)
        if not isinstance(state, dict) or not isinstance(extra, dict):
            raise ValueError("state and extra must be JSON objects")
        _check_state(state, net)
    except (KeyError, TypeError, ValueError, RecursionError, OverflowError) as exc:
        raise ValueError(f"{where}: malformed checkpoint state ({exc})") from None
    if set(tensors) - used:
        raise ValueError(f"{where}: tensors {sorted(set(tensors) - used)} belong to neither the model nor the state")
    return Checkpoint(net, state, extra, file)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def _check_state(state: dict[str, Any], net: Network) -> None:
    """Check that ``train(..., resume=state)`` can use state; ValueError naming the first problem."""
    _count(state["epoch"], "epoch")
    _count(state["batch"], "batch")
    _count(state.get("first_epoch", 0), "first_epoch")  # absent before schedules continued over calls
    perm = state.get("perm")
    if perm is not None and (not isinstance(perm, np.ndarray) or perm.ndim != 1 or perm.dtype.kind not in "iu"
                             or not np.array_equal(np.sort(perm), np.arange(len(perm)))):
        raise ValueError("perm must be a permutation of 0..m-1")
    rng = state["rng"]
    if not isinstance(rng, dict) or rng.get("bit_generator") not in _BIT_GENERATORS:
        raise ValueError(f"rng must be the state of one of {', '.join(_BIT_GENERATORS)}")
    getattr(np.random, rng["bit_generator"])().state = rng  # numpy checks every field
    if "optimizer_config" in state:
        optimizer_from_config(state["optimizer_config"]).load_state_dict(state["optimizer"])
    shapes = [W.shape for W in net.weights + net.biases]
    for key, arrays in state["optimizer"].items():
        if isinstance(arrays, list) and arrays and [a.shape for a in arrays] != shapes:
            raise ValueError(f"optimizer {key} has shapes {[a.shape for a in arrays]}, the network {shapes}")
    history = History.from_dict(state["history"])
    if history.epochs != state["epoch"]:
        raise ValueError(f"the history holds {history.epochs} epochs, the counter says {state['epoch']}")
    for value in (*state.get("acc", ()), *(state["history"].get("train_cost") or ())):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"history and sums must be finite numbers, got {value!r}")


class Checkpointer:
    """A ``train`` callback that writes a checkpoint after every epoch and every ``every`` batches.

    Parameters
    ----------
    directory : str or path-like
        Created at the first write; the file is directory/checkpoint.safetensors, replaced
        atomically. Temporary files left there by a killed write are removed.
    every : int, optional
        Also write after every ``every``-th batch, counted across epochs.
    extra : dict, optional
        JSON stored in each checkpoint (``Checkpoint.extra``).

    Attributes
    ----------
    trainer : Trainer or None
        The run last seen (for a final ``save()`` after ``train`` returns).
    writes : int
        Checkpoints written so far.
    """

    def __init__(self, directory: str | os.PathLike[str], *, every: int | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"every must be a positive number of batches or None, got {every!r}")
        self.path = checkpoint_path(directory)  # the folder is made on the first write
        if self.path.parent.is_dir():
            for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):  # left by a killed write
                stale.unlink(missing_ok=True)
        self.every, self.extra = every, dict(extra or {})
        self.batch_every = every or 0  # train() calls it only at these batches (and the run's first)
        self.trainer: Any = None
        self.writes = 0

    def __call__(self, event: Any) -> None:
        self.trainer = event.trainer
        if event.kind == "epoch":
            self.save()
        elif self.every and event.batch < event.n_batches \
                and (event.epoch * event.n_batches + event.batch) % self.every == 0:
            self.save()  # the last batch of an epoch is followed by the epoch's own checkpoint

    def save(self, trainer: Any = None, **extra: Any) -> Path:
        """Write the current state of ``trainer`` (default: the run last seen) now."""
        trainer = trainer if trainer is not None else self.trainer
        if trainer is None:
            raise RuntimeError("no training run seen yet; nothing to checkpoint")
        path = save_checkpoint(self.path, trainer.net, trainer.state(), extra={**self.extra, **extra})
        self.writes += 1
        return path
