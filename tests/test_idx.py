"""Tests for deltaprop.datasets.idx: IDX round trips, header and body checks, gzip detection."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from deltaprop.datasets.idx import read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(0,), (1,), (7,), (3, 4), (2, 3, 5), (2, 1, 2, 3)]


def _array(dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:  # cover the whole range, extremes included
        a = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
        if a.size >= 2:
            a.flat[0], a.flat[1] = info.min, info.max
        return a
    return rng.standard_normal(shape).astype(dtype) * 1e3


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(tmp_path: Path, dtype: type, shape: tuple[int, ...], suffix: str) -> None:
    a = _array(dtype, shape)
    path = tmp_path / f"a-idx{len(shape)}{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.shape == a.shape
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(b, a)
    assert b.flags.writeable


def test_big_endian_layout_by_hand(tmp_path: Path) -> None:
    # int16 [1, -2], shape (2,): magic 00 00 0B 01, dim 00 00 00 02, items 00 01 and FF FE.
    path = tmp_path / "x"
    write_idx(path, np.array([1, -2], dtype="<i2"))
    assert path.read_bytes() == bytes.fromhex("00000b01" "00000002" "0001" "fffe")
    np.testing.assert_array_equal(read_idx(path), [1, -2])


def test_big_endian_input_array(tmp_path: Path) -> None:
    a = np.arange(6, dtype=">f8").reshape(2, 3)
    write_idx(tmp_path / "x", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), a)


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "real.gz", a)
    (tmp_path / "gzipped-without-suffix").write_bytes((tmp_path / "real.gz").read_bytes())
    write_idx(tmp_path / "raw", a)
    (tmp_path / "raw-with-suffix.gz").write_bytes((tmp_path / "raw").read_bytes())
    for name in ("gzipped-without-suffix", "raw-with-suffix.gz"):
        np.testing.assert_array_equal(read_idx(tmp_path / name), a, err_msg=name)


def test_write_gz_only_for_gz_suffix(tmp_path: Path) -> None:
    write_idx(tmp_path / "a.gz", np.zeros(3, np.uint8))
    write_idx(tmp_path / "a", np.zeros(3, np.uint8))
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "a").read_bytes()[:4] == b"\x00\x00\x08\x01"


def test_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "bad"
    path.write_bytes(bytes([8, 3, 0, 0]) + bytes(20))
    msg = f"{path}: not an IDX file (magic bytes 08 03 00 00, expected 00 00 <type> <ndim>)"
    with pytest.raises(ValueError, match=re.escape(msg)):
        read_idx(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


def test_unknown_type_code(tmp_path: Path) -> None:
    path = tmp_path / "bad"
    path.write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 0]))
    with pytest.raises(ValueError, match="unknown IDX type code 0x0A, expected one of 0x08"):
        read_idx(path)


def test_header_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "bad"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2]))  # 3 dims announced, 1 given
    with pytest.raises(ValueError, match="header cut short: 3 dims need 16 header bytes, the file has 8"):
        read_idx(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_body(tmp_path: Path, suffix: str) -> None:
    raw = bytes([0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(11)  # (2, 3) int16: 12 bytes needed
    path = tmp_path / f"short{suffix}"
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    msg = f"{path}: IDX body truncated: dims (2, 3) of 2-byte items need 12 bytes, got 11"
    with pytest.raises(ValueError, match=re.escape(msg)):
        read_idx(path)


def test_overlong_body(tmp_path: Path) -> None:
    path = tmp_path / "long"
    write_idx(path, np.arange(5, dtype=np.float32))
    path.write_bytes(path.read_bytes() + b"\x00")
    msg = f"{path}: IDX body overlong: dims (5,) of 4-byte items need 20 bytes, got 21"
    with pytest.raises(ValueError, match=re.escape(msg)):
        read_idx(path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    good = tmp_path / "good.gz"
    write_idx(good, np.arange(1000, dtype=np.int32))
    data = good.read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(data[: len(data) // 2])
    flipped = tmp_path / "flipped.gz"
    flipped.write_bytes(data[:20] + bytes([data[20] ^ 0xFF]) + data[21:])
    crc = tmp_path / "crc.gz"
    crc.write_bytes(data[:-8] + bytes([data[-8] ^ 0x01]) + data[-7:])
    for path in (cut, flipped, crc):
        with pytest.raises(ValueError, match=re.escape(f"{path}: corrupt gzip stream")):
            read_idx(path)


def test_missing_file_is_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float16, np.uint16])
def test_write_unsupported_dtype(tmp_path: Path, dtype: type) -> None:
    with pytest.raises(TypeError, match="has no IDX type code; expected one of uint8"):
        write_idx(tmp_path / "x", np.zeros(2, dtype=dtype))
    assert not (tmp_path / "x").exists()


def test_real_mnist_test_labels(mnist_dir: Path) -> None:
    path = next(p for p in (mnist_dir / "t10k-labels-idx1-ubyte.gz", mnist_dir / "t10k-labels-idx1-ubyte")
                if p.is_file())
    labels = read_idx(path)
    assert labels.shape == (10_000,)
    assert labels.dtype == np.uint8
    assert labels.min() == 0 and labels.max() == 9
    assert set(np.unique(labels).tolist()) == set(range(10))
