r"""Model files: safetensors with the architecture as JSON metadata. Nothing is ever unpickled.

A model file holds the tensors ``layers.{l}.weight`` (n_{l-1}, n_l) and ``layers.{l}.bias``
(n_l,) for l = 1..L, and in its metadata the keys ``format`` ("deltaprop.model"),
``architecture`` (sizes, activations, cost, dtype, dropout), ``scaling`` and ``classes``.
Loading checks the header byte by byte before any tensor is read: every name, dtype, shape and
offset must agree with the metadata and with the file's size.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .network import Network

FORMAT = "deltaprop.model"
_DTYPES = {"F32": np.float32, "F64": np.float64}
_MAX_HEADER = 100 * 2**20


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush and fsync it, then rename it over ``path``.

    A crash at any moment leaves either the old file or the new one, whole.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def encode(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The bytes of a safetensors file: an 8-byte little-endian header size, a JSON header, the data."""
    header: dict[str, Any] = {"__metadata__": metadata}
    offset, chunks = 0, []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        code = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64",
                np.dtype(np.uint64): "U64", np.dtype(np.uint32): "U32"}[arr.dtype]
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the format pads the header to 8 bytes
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def decode(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file strictly: (tensors, metadata). ValueError for anything malformed."""
    path = Path(path)
    data = path.read_bytes()
    where = f"{path}: not a valid model file"
    if len(data) < 8:
        raise ValueError(f"{where} (only {len(data)} bytes; a safetensors file starts with an 8-byte header size)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(_MAX_HEADER, len(data) - 8):
        raise ValueError(f"{where} (header claims {n} bytes, the file has {len(data) - 8} after the size field)")
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{where} (header is not JSON: {exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{where} (header is not a JSON object)")
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{where} (metadata must map names to strings)")
    body = memoryview(data)[8 + n:]
    tensors, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: _offsets(kv, where)[0]):
        start, stop = _offsets((name, info), where)
        dtype = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "U64": "<u8", "U32": "<u4"}.get(info.get("dtype"))
        shape = info.get("shape")
        if dtype is None or not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise ValueError(f"{where} (tensor {name!r} has dtype {info.get('dtype')!r}, shape {shape!r})")
        size = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if start != end or stop - start != size:
            raise ValueError(
                f"{where} (tensor {name!r}: offsets [{start}, {stop}] do not match its shape {shape} "
                f"and dtype ({size} bytes expected from byte {end}))"
            )
        end = stop
        tensors[name] = np.frombuffer(body[start:stop], dtype=dtype).reshape(shape).astype(dtype[1:], copy=True)
    if end != len(body):
        raise ValueError(f"{where} (the header describes {end} bytes of data, the file has {len(body)}: truncated or padded)")
    return tensors, metadata


def _offsets(item: tuple[str, Any], where: str) -> tuple[int, int]:
    name, info = item
    offs = info.get("data_offsets") if isinstance(info, dict) else None
    if not (isinstance(offs, list) and len(offs) == 2 and all(isinstance(o, int) for o in offs) and 0 <= offs[0] <= offs[1]):
        raise ValueError(f"{where} (tensor {name!r} has malformed data_offsets {offs!r})")
    return offs[0], offs[1]


def model_metadata(net: Network) -> dict[str, str]:
    """The metadata strings that describe ``net`` (architecture, scaling, classes)."""
    arch = {"sizes": list(net.sizes), "activations": list(net.activations), "cost": net.cost_name,
            "dtype": net.dtype.name, "dropout": list(net.dropout)}
    scaling = net.scaling.to_json() if net.scaling is not None else None
    classes = None if net.classes is None else [c.item() if hasattr(c, "item") else c for c in net.classes]
    return {"format": FORMAT, "architecture": json.dumps(arch), "scaling": json.dumps(scaling),
            "classes": json.dumps(classes)}


def model_tensors(net: Network) -> dict[str, np.ndarray]:
    """layers.{l}.weight and layers.{l}.bias for l = 1..L."""
    out = {}
    for l in range(1, net.L + 1):
        out[f"layers.{l}.weight"] = net.weights[l - 1]
        out[f"layers.{l}.bias"] = net.biases[l - 1]
    return out


def save(net: Network, path: str | os.PathLike[str]) -> None:
    """Write ``net`` to ``path`` as safetensors (atomically: temporary file, fsync, rename)."""
    write_atomic(path, encode(model_tensors(net), model_metadata(net)))


def network_from(tensors: dict[str, np.ndarray], metadata: dict[str, str], where: str) -> Network:
    """Rebuild a Network from decoded tensors and metadata, checking each against the other."""
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{where}: not a deltaprop model (metadata format is {metadata.get('format')!r}, expected {FORMAT!r})")
    try:
        arch = json.loads(metadata["architecture"])
        scaling = json.loads(metadata.get("scaling", "null"))
        classes = json.loads(metadata.get("classes", "null"))
        sizes, acts, cost, dtype = arch["sizes"], arch["activations"], arch["cost"], arch["dtype"]
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{where}: malformed architecture metadata ({exc!r})") from None
    try:
        net = Network(sizes, acts, cost, dtype=dtype, dropout=arch.get("dropout") or None)
    except ValueError as exc:
        if "unknown activation" in str(exc) or "unknown cost" in str(exc):
            raise ValueError(f"{where}: {exc}; register it first (deltaprop.register_activation / register_cost)") from None
        raise ValueError(f"{where}: invalid architecture: {exc}") from None
    expected = {name: (arr.shape, arr.dtype) for name, arr in model_tensors(net).items()}
    unknown = sorted(set(tensors) - set(expected))
    missing = sorted(set(expected) - set(tensors))
    if unknown or missing:
        raise ValueError(f"{where}: tensor names do not match the architecture (unknown: {unknown}, missing: {missing})")
    for name, (shape, dt) in expected.items():
        if tensors[name].shape != shape or tensors[name].dtype != dt:
            raise ValueError(f"{where}: tensor {name!r} is {tensors[name].dtype}{list(tensors[name].shape)}, "
                             f"the architecture says {dt}{list(shape)}")
    net.weights = [tensors[f"layers.{l}.weight"] for l in range(1, net.L + 1)]
    net.biases = [tensors[f"layers.{l}.bias"] for l in range(1, net.L + 1)]
    if scaling is not None:
        from .datasets import Scaling

        net.scaling = Scaling.from_json(scaling)
    net.classes = None if classes is None else tuple(classes)
    return net


def load(path: str | os.PathLike[str]) -> Network:
    """Read a model written by ``save``: the Network with its scaling and class labels attached."""
    tensors, metadata = decode(path)
    return network_from(tensors, metadata, str(path))
