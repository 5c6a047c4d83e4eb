"""Read and write IDX files, the array format of MNIST.

An IDX file is a 4-byte magic number ``00 00 <type> <ndim>``, then ``ndim`` big-endian
uint32 dimensions, then the ``prod(dims)`` items in row-major order, big-endian. The file may
be gzipped; :func:`read_idx` recognises gzip by its magic bytes ``1f 8b``, not by the name.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
>>> write_idx(path, np.array([5, 0, 4], dtype=np.uint8))
>>> read_idx(path)
array([5, 0, 4], dtype=uint8)
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["read_idx", "write_idx"]

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian dtype as stored in the file.
_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES: dict[np.dtype, int] = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}


def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[np.generic]:
    """Read an IDX file, gzipped or raw.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip is detected from the content (magic bytes ``1f 8b``), so
        ``train-images-idx3-ubyte`` may hold gzipped data and vice versa.

    Returns
    -------
    ndarray of shape dims
        The items in native byte order: uint8, int8, int16, int32, float32 or float64 for
        the type codes 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E. MNIST images give shape
        (m, 28, 28), labels shape (m,).

    Raises
    ------
    FileNotFoundError, OSError
        If the file cannot be read.
    ValueError
        If the gzip stream is corrupt, the magic number or type code is wrong, the header is
        cut short, or the body does not hold exactly prod(dims) items. The message names the
        file and, for the body, the expected and actual byte counts.
    """
    return _decode(_read_content(path), str(path))


def write_idx(path: str | os.PathLike[str], array: npt.ArrayLike) -> None:
    """Write an array as an IDX file, gzipped when the name ends in ``.gz``.

    Parameters
    ----------
    path : str or path-like
        Where to write; an existing file is replaced.
    array : array_like of dtype uint8, int8, int16, int32, float32 or float64
        Any number of dimensions, each below 2**32.

    Raises
    ------
    TypeError
        If the dtype has no IDX type code (for example int64 or bool).
    ValueError
        If the array has more than 255 dimensions or a dimension of 2**32 or more.
    """
    a = np.asarray(array)
    native = a.dtype.newbyteorder("=")
    if native not in _CODES:
        known = ", ".join(str(dt) for dt in _CODES)
        raise TypeError(f"write_idx: dtype {a.dtype} has no IDX type code; expected one of {known}")
    if a.ndim > 255 or any(d >= 2**32 for d in a.shape):
        raise ValueError(f"write_idx: shape {a.shape} does not fit IDX (at most 255 dims, each < 2**32)")
    code = _CODES[native]
    header = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(a, dtype=_TYPES[code]).tobytes()
    data = header + body
    if str(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    Path(path).write_bytes(data)


def _read_content(path: str | os.PathLike[str], source: str | None = None) -> bytes:
    """Return the file's bytes, decompressed when they start with the gzip magic.

    ``source`` names the file in errors (default the path).
    """
    data = Path(path).read_bytes()
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{source or path}: corrupt gzip stream ({exc})") from None


def _decode(data: bytes, source: str) -> npt.NDArray[np.generic]:
    """Parse IDX bytes (already decompressed); ``source`` names the file in errors."""
    magic = data[:4]
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        shown = " ".join(f"{b:02x}" for b in magic) or "none (empty file)"
        raise ValueError(f"{source}: not an IDX file (magic bytes {shown}, expected 00 00 <type> <ndim>)")
    code, ndim = magic[2], magic[3]
    if code not in _TYPES:
        known = ", ".join(f"0x{c:02X}" for c in _TYPES)
        raise ValueError(f"{source}: unknown IDX type code 0x{code:02X}, expected one of {known}")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise ValueError(
            f"{source}: IDX header cut short: {ndim} dims need {start} header bytes, the file has {len(data)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - start
    if actual != expected:
        what = "truncated" if actual < expected else "overlong"
        raise ValueError(
            f"{source}: IDX body {what}: dims {dims} of {dtype.itemsize}-byte items need "
            f"{expected} bytes, got {actual}"
        )
    items = np.frombuffer(data, dtype=dtype, offset=start).reshape(dims)
    return items.astype(dtype.newbyteorder("="))  # a writable copy in native byte order
