r"""Model files: safetensors with the architecture as JSON metadata. Nothing is ever unpickled.

A model file holds the tensors ``layers.{l}.weight`` (n_{l-1}, n_l) and ``layers.{l}.bias``
(n_l,) for l = 1..L, and in its metadata the keys ``format`` ("deltaprop.model"),
``architecture`` (sizes, activations, cost, dtype, dropout), ``scaling`` and ``classes``, and
when known ``target_scaling`` (a regression's target standardisation) and ``data`` (the training
file's name, SHA-256, target, header and held-out split). Files without the last two still load.
Loading checks the header byte by byte before any tensor is read: every name, dtype, shape and
offset must agree with the metadata and with the file's size, header and data must match the
SHA-256 that ``save`` stores in the metadata (entry ``sha256``; files written by other tools may
lack it), and every weight must be finite.
The files are plain safetensors, so the official ``safetensors`` library reads them too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .datasets.scaling import Scaling
from .network import Network

FORMAT = "deltaprop.model"
_MAX_HEADER = 100 * 2**20  # the limit the safetensors library itself uses
# safetensors dtype code <-> little-endian NumPy dtype; only these are written or read.
_CODES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "U64": "<u8", "U32": "<u4"}
_NAMES = {np.dtype(v).newbyteorder("="): k for k, v in _CODES.items()}


def json_ready(value: Any) -> Any:
    """A copy of ``value`` that strict JSON can hold: NumPy values as Python ones, NaN and Inf as None."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if value is None or isinstance(value, (str, int)):
        return value
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A temporary file beside ``path`` to write; when the block ends without an error it is flushed, fsynced and
    renamed over ``path``, else deleted (``path`` untouched).

    A crash at any moment leaves either the old file or the new one, whole; never a mix. A symlink
    is followed: the file it names is replaced, in that file's folder, and the link stays. A path
    that exists and is not a regular file (a FIFO, a device, a folder) is refused with ValueError.
    """
    path = Path(path).resolve()
    if path.exists() and not path.is_file():
        raise ValueError(f"{path} exists and is not a regular file; refusing to replace it")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        os.chmod(tmp, _mode(path))  # mkstemp makes 0600; give the file the permissions open() would
        with os.fdopen(fd, "wb") as f:
            yield f
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


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``open_atomic``): the old file or the new one, whole, never a mix."""
    with open_atomic(path) as f:
        f.write(data)


def _mode(path: Path) -> int:
    """The permission bits of the file being replaced, else 0o666 minus the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def encode(tensors: dict[str, np.ndarray], metadata: dict[str, str], *, digest: bool = False) -> bytes:
    """The bytes of a safetensors file: an 8-byte little-endian header size, a JSON header, the data.

    Parameters
    ----------
    tensors : dict of str to ndarray
        float32, float64, int64, uint64 or uint32 arrays of any shape, written in this order.
    metadata : dict of str to str
    digest : bool, keyword-only
        Add the metadata entry ``sha256``: the SHA-256 of the header's canonical JSON (without
        this entry) followed by the data section, which ``decode`` checks.

    Raises
    ------
    TypeError
        For another dtype, or metadata that is not str to str.
    """
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("safetensors metadata must map str to str")
    header: dict[str, Any] = {"__metadata__": {k: v for k, v in metadata.items() if k != "sha256"}}
    offset, chunks = 0, []
    for name, arr in tensors.items():
        code, raw = _raw(name, arr)
        header[name] = {"dtype": code, "shape": list(np.shape(arr)), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    body = b"".join(chunks)
    if digest:
        header["__metadata__"]["sha256"] = _digest(header, body)
    elif "sha256" in metadata:
        header["__metadata__"]["sha256"] = metadata["sha256"]
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the format pads the header to 8 bytes
    return struct.pack("<Q", len(head)) + head + body


def _raw(name: str, arr: np.ndarray) -> tuple[str, bytes]:
    """The dtype code and little-endian bytes of one tensor."""
    arr = np.ascontiguousarray(arr)
    code = _NAMES.get(arr.dtype.newbyteorder("="))
    if code is None or name == "__metadata__":
        raise TypeError(f"cannot store tensor {name!r} of dtype {arr.dtype}; expected one of "
                        f"float32, float64, int64, uint64, uint32")
    return code, arr.astype(_CODES[code], copy=False).tobytes()


def _digest(header: dict[str, Any], body: bytes | memoryview) -> str:
    """SHA-256 of the header (canonical JSON, without the sha256 entry) and the data section."""
    meta = {k: v for k, v in header.get("__metadata__", {}).items() if k != "sha256"}
    canonical = json.dumps({**header, "__metadata__": meta}, sort_keys=True, separators=(",", ":"))
    h = hashlib.sha256(canonical.encode())
    h.update(body)
    return h.hexdigest()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"the key {next(k for k in keys if keys.count(k) > 1)!r} appears twice")
    return dict(pairs)


def decode(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file strictly: (tensors, metadata). ValueError for anything malformed.

    The header must be a JSON object without repeated keys; every tensor needs a known dtype,
    a shape of non-negative integers and data_offsets that tile the data section exactly, in
    order, with no gap, overlap or trailing byte. Tensors are returned as native-endian copies.
    """
    path = Path(path)
    return decode_bytes(path.read_bytes(), f"{path}: not a valid safetensors file")


def decode_bytes(data: bytes, where: str = "not a valid safetensors file") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``decode`` of a file's bytes already in memory; ``where`` opens every error message."""
    if len(data) < 8:
        raise ValueError(f"{where} (only {len(data)} bytes; a safetensors file starts with an 8-byte header size)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(_MAX_HEADER, len(data) - 8):
        raise ValueError(f"{where} (header claims {n} bytes, the file has {len(data) - 8} after the size field: "
                         "truncated, or not safetensors at all)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{where} (header is not valid JSON: {exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{where} (header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{where} (metadata must map names to strings)")
    claimed = metadata.get("sha256")
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"{where} (tensor {name!r} must be described by exactly dtype, shape and "
                             f"data_offsets, got {info!r})")
    body = memoryview(data)[8 + n:]
    tensors, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: _offsets(kv, where)):
        start, stop = _offsets((name, info), where)
        dtype, shape = _CODES.get(info["dtype"]), info["shape"]
        if dtype is None or not isinstance(shape, list) or not all(_is_count(s) for s in shape):
            raise ValueError(f"{where} (tensor {name!r} has dtype {info['dtype']!r}, shape {shape!r}; expected "
                             f"one of {', '.join(_CODES)} and a list of non-negative integers)")
        size = math.prod(shape) * np.dtype(dtype).itemsize
        if start != end or stop - start != size:
            raise ValueError(
                f"{where} (tensor {name!r}: offsets [{start}, {stop}] do not match its shape {shape} "
                f"and dtype ({size} bytes expected from byte {end}))"
            )
        if stop > len(body):
            raise ValueError(f"{where} (tensor {name!r} ends at byte {stop} of the data, which has only "
                             f"{len(body)} bytes: truncated)")
        end = stop
        tensors[name] = np.frombuffer(body[start:stop], dtype=dtype).reshape(shape).astype(dtype[1:], copy=True)
    if end != len(body):
        raise ValueError(f"{where} (the header describes {end} bytes of data, the file has {len(body)}: truncated or padded)")
    if claimed is not None and _digest({**header, "__metadata__": metadata}, body) != claimed:
        raise ValueError(f"{where} (its header or data do not match the SHA-256 in its metadata: the file was "
                         "altered or damaged after it was written; if it was edited on purpose, drop the 'sha256' entry)")
    return tensors, metadata


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _offsets(item: tuple[str, Any], where: str) -> tuple[int, int]:
    name, info = item
    offs = info.get("data_offsets")
    if not (isinstance(offs, list) and len(offs) == 2 and all(_is_count(o) for o in offs) and offs[0] <= offs[1]):
        raise ValueError(f"{where} (tensor {name!r} has malformed data_offsets {offs!r})")
    return offs[0], offs[1]


def _classes(classes: Any, n_L: int, where: str) -> tuple[Any, ...] | None:
    """None, or n_L distinct labels (2 for a single sigmoid output), each a str or a number."""
    if classes is None:
        return None
    if not isinstance(classes, (list, tuple)) or not all(
            isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in classes):
        raise ValueError(f"{where}: classes must be a list of labels (str or numbers), got {classes!r}")
    want = 2 if n_L == 1 else n_L
    if len(classes) != want or len({str(c) for c in classes}) != len(classes):
        raise ValueError(f"{where}: classes must be {want} distinct labels for n_L = {n_L} outputs, "
                         f"got {list(classes)!r}")
    return tuple(classes)


def model_metadata(net: Network) -> dict[str, str]:
    """The metadata strings that describe ``net`` (architecture, scaling, classes).

    Raises ValueError when ``net.classes`` cannot be stored (not n_L distinct str or number labels).
    """
    arch = {"sizes": list(net.sizes), "activations": list(net.activations), "cost": net.cost_name,
            "dtype": net.dtype.name, "dropout": list(net.dropout)}
    scaling = net.scaling.to_json() if net.scaling is not None else None
    classes = None if net.classes is None else [c.item() if isinstance(c, np.generic) else c for c in net.classes]
    _classes(classes, net.sizes[-1], "cannot save the model")
    meta = {"format": FORMAT, "architecture": json.dumps(arch), "scaling": json.dumps(scaling),
            "classes": json.dumps(classes)}
    if net.target_scaling is not None:
        meta["target_scaling"] = json.dumps(net.target_scaling.to_json())
    if net.data is not None:
        meta["data"] = json.dumps(net.data)
    return meta


def model_tensors(net: Network) -> dict[str, np.ndarray]:
    """layers.{l}.weight and layers.{l}.bias for l = 1..L."""
    out = {}
    for l in range(1, net.L + 1):
        out[f"layers.{l}.weight"] = net.weights[l - 1]
        out[f"layers.{l}.bias"] = net.biases[l - 1]
    return out


def finite_weights(net: Network, what: str) -> None:
    """ValueError, starting with ``what``, when a weight or bias of ``net`` is NaN or Inf."""
    for name, arr in model_tensors(net).items():
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}: {name} holds NaN or Inf; non-finite weights are never saved")


def save(net: Network, path: str | os.PathLike[str]) -> None:
    """Write ``net`` to ``path`` as safetensors (atomically: temporary file, fsync, rename).

    ValueError, writing nothing, when a weight is NaN or Inf.
    """
    finite_weights(net, f"cannot save the model to {path}")
    write_atomic(path, to_bytes(net))


def network_from(tensors: dict[str, np.ndarray], metadata: dict[str, str], where: str) -> Network:
    """Rebuild a Network from decoded tensors and metadata, checking each against the other.

    ValueError, naming ``where``, for a foreign format, malformed architecture, scaling or
    classes, unknown or missing tensor names, a shape or dtype that the architecture does not
    give, or a non-finite weight.
    """
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{where}: not a deltaprop model (metadata format is {metadata.get('format')!r}, expected {FORMAT!r})")
    try:
        arch = json.loads(metadata["architecture"])
        scaling = json.loads(metadata.get("scaling", "null"))
        classes = json.loads(metadata.get("classes", "null"))
        target_scaling = json.loads(metadata.get("target_scaling", "null"))
        data = json.loads(metadata.get("data", "null"))
        sizes, acts, cost, dtype = arch["sizes"], arch["activations"], arch["cost"], arch["dtype"]
        dropout = arch.get("dropout") or None
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{where}: malformed architecture metadata ({exc!r})") from None
    _declared_fits(sizes, tensors, where)
    try:
        net = Network(sizes, acts, cost, dtype=dtype, dropout=dropout)
    except (ValueError, TypeError, OverflowError) as exc:
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
    try:
        net.weights = [tensors[f"layers.{l}.weight"] for l in range(1, net.L + 1)]
        net.biases = [tensors[f"layers.{l}.bias"] for l in range(1, net.L + 1)]
        if scaling is not None:
            net.scaling = Scaling.from_json(scaling)
            if net.scaling.mean is not None and len(net.scaling.mean) != net.sizes[0]:
                raise ValueError(f"scaling has {len(net.scaling.mean)} features, the network n_0 = {net.sizes[0]}")
        if target_scaling is not None:
            net.target_scaling = Scaling.from_json(target_scaling)
            if net.target_scaling.kind != "standardize" or net.sizes[-1] != 1 or len(net.target_scaling.mean or ()) != 1:
                raise ValueError("target_scaling must standardize the single output of a regression (n_L = 1)")
        if data is not None and not (isinstance(data, dict) and isinstance(data.get("sha256"), str)
                                     and data.get("task") in ("classification", "regression")
                                     and _is_count(data.get("seed")) and isinstance(data.get("test_fraction"), float)
                                     and 0 < data["test_fraction"] < 1):
            raise ValueError(f"data must be a JSON object with sha256, task, seed and test_fraction in (0, 1), "
                             f"got {data!r}")
        net.data = data
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    net.classes = _classes(classes, net.sizes[-1], where)
    return net


def _declared_fits(sizes: Any, tensors: dict[str, np.ndarray], where: str) -> None:
    """ValueError when the declared sizes need more parameters than the file's tensors hold.

    Checked before the Network is built, so a small file that declares a huge network is refused
    without allocating it (malformed sizes are left to the Network's own checks).
    """
    if not isinstance(sizes, list) or not all(_is_count(n) for n in sizes):
        return
    declared = sum(sizes[l - 1] * sizes[l] + sizes[l] for l in range(1, len(sizes)))
    present = sum(int(t.size) for t in tensors.values())
    if declared > present:
        shown = sizes if len(str(sizes)) < 80 else f"{str(sizes)[:60]}..."
        count = f"{declared:,}" if declared < 10**15 else f"about 10^{len(str(declared)) - 1}"
        raise ValueError(f"{where}: the architecture declares sizes {shown} ({count} parameters), but the "
                         f"file holds only {present} numbers: damaged, or not written by deltaprop")


def to_bytes(net: Network) -> bytes:
    """The bytes ``save`` writes: how a network travels to another process (never as a pickle)."""
    return encode(model_tensors(net), model_metadata(net), digest=True)


def from_bytes(data: bytes) -> Network:
    """The inverse of ``to_bytes``, as strict as ``load`` (ValueError for malformed bytes)."""
    return network_from(*decode_bytes(data, "model bytes: not a valid safetensors file"), "model bytes")


def load(path: str | os.PathLike[str]) -> Network:
    """Read a model written by ``save``: the Network with its scaling and class labels attached.

    Raises
    ------
    ValueError
        If the file is not a well-formed deltaprop model (see ``decode`` and ``network_from`` in this module).
    OSError
        If it cannot be read.
    """
    tensors, metadata = decode(path)
    return network_from(tensors, metadata, str(path))
