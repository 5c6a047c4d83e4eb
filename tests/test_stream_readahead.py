"""A Stream reads the next chunk on a second thread, into one of two reused buffers; Scaling.apply(out=)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deltaprop.datasets import Scaling
from deltaprop.datasets import _shards as shards
from deltaprop.stream import Stream
from deltaprop.train import train
from test_stream import npy_shards, parquet_file, prepared, table

pytest.importorskip("pyarrow")


# ----- Scaling.apply(X, out=) ------------------------------------------------------------------------
SCALINGS = [Scaling.identity(), Scaling.divide(255.0),
            Scaling("standardize", mean=(1.5, -2.0, 1e3), std=(0.5, 3.0, 7.0))]


@pytest.mark.parametrize("scaling", SCALINGS, ids=["none", "divide", "standardize"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
def test_apply_into_out_gives_the_bits_of_apply_cast_to_out(scaling, dtype):
    X = (np.random.default_rng(0).random((40, 3)) * 200).astype(dtype)
    expected = scaling.apply(X)  # a new array: float32 for float32, else float64
    for out_dtype in (np.float32, np.float64):
        big = np.full((50, 7), np.nan, out_dtype)
        view = big[5:45, 2:5]  # a strided view of a larger array
        assert scaling.apply(X, out=view) is view
        np.testing.assert_array_equal(view, expected.astype(out_dtype))
        assert np.isnan(big[:5]).all() and np.isnan(big[:, :2]).all() and np.isnan(big[:, 5:]).all()
    if X.dtype in (np.float32, np.float64):
        F = np.asfortranarray(X)  # in place, column-major (as a Parquet group is scaled)
        scaling.apply(F, out=F)
        np.testing.assert_array_equal(F, expected)


def test_apply_refuses_an_out_of_another_shape():
    with pytest.raises(ValueError, match=r"out has shape \(2, 3\); expected X's \(3, 3\)"):
        SCALINGS[2].apply(np.zeros((3, 3)), out=np.zeros((2, 3)))


# ----- reading ahead ---------------------------------------------------------------------------------
def numbered(tmp_path, kind, m=1000):
    """A data set whose first feature is the row number (unscaled network), in chunks of 50 rows."""
    X, y = table(m=m)
    X[:, 0] = np.arange(m)
    path = npy_shards(tmp_path / "d", X, y, [m // 2, m - m // 2]) if kind == "npy" else \
        parquet_file(tmp_path / "d.parquet", X, y, 50)
    data, net = prepared(path)
    net.scaling = None
    return data, net


@pytest.mark.parametrize("kind", ["npy", "parquet"])
def test_the_next_chunk_is_read_on_a_second_thread_into_one_of_two_buffers(tmp_path, kind, monkeypatch):
    monkeypatch.setattr(shards, "CHUNK_BYTES", 24 * 50)  # .npy: 50 rows of 6 float32 columns a chunk
    data, net = numbered(tmp_path, kind)
    threads: list[str] = []
    read = data.read

    def spy(chunk, out=None, transform=None):
        threads.append(threading.current_thread().name)
        return read(chunk, out, transform)

    monkeypatch.setattr(data, "read", spy)
    before = set(threading.enumerate())
    s = Stream(data, net, 0, data.n_train, seed=2)
    for epoch in range(2):
        order = s.order(np.random.default_rng(epoch), True)
        seen, bases, bs = [], [], 32
        for b in range(-(-data.n_train // bs)):
            X, _, idx = s.batch(order, epoch, b, bs)
            seen += X[idx, 0].astype(int).tolist()
            bases.append(X.base)  # kept alive, so that no two buffers can share an id
            del X
        assert sorted(seen) == list(range(data.n_train))  # every row once, whatever thread read it
        # the window and the chunk read ahead: two buffers, used in turn (one, when the reader starts only
        # after the window is done with: it then takes the window's buffer back)
        assert 1 <= len({id(base) for base in bases}) <= 2
    assert len(threads) == 2 * len(s.chunks)
    ahead = sum(t.startswith("deltaprop-stream") for t in threads)
    assert ahead == 2 * (len(s.chunks) - 1)  # every chunk but each epoch's first
    s.release()
    assert not any(t.name.startswith("deltaprop-stream") for t in set(threading.enumerate()) - before)


def test_a_batch_out_of_turn_drops_the_read_ahead_and_gives_the_same_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "CHUNK_BYTES", 24 * 50)
    data, net = numbered(tmp_path, "npy")
    order = np.random.default_rng(0).permutation(15)
    rows = {}
    s = Stream(data, net, 0, data.n_train, seed=1)
    for b in range(24):  # the epoch in turn: the rows of every batch
        X, _, idx = s.batch(order, 0, b, 32)
        rows[b] = X[idx, 0].astype(int).tolist()
    jumpy = Stream(data, net, 0, data.n_train, seed=1)
    for b in (0, 1, 9, 3, 4, 20, 23, 2):  # as a resumed run would ask: the read ahead is not the chunk needed
        X, _, idx = jumpy.batch(order, 0, b, 32)
        assert X[idx, 0].astype(int).tolist() == rows[b], f"batch {b}"
    jumpy.release()
    s.release()


def test_an_error_while_reading_ahead_reaches_train_and_ends_the_reader(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "CHUNK_BYTES", 24 * 50)
    data, net = numbered(tmp_path, "npy")
    read, calls = data.read, []

    def failing(chunk, out=None, transform=None):
        calls.append(threading.current_thread().name)
        if len(calls) == 4:
            raise ValueError("part-001.npy: the disk went away")
        return read(chunk, out, transform)

    monkeypatch.setattr(data, "read", failing)
    before = set(threading.enumerate())
    with pytest.raises(ValueError, match="the disk went away"):
        train(net, Stream(data, net, 0, data.n_train), None, epochs=1, batch_size=16)
    assert calls[3].startswith("deltaprop-stream")  # it was raised on the reader thread
    assert not any(t.name.startswith("deltaprop-stream") for t in set(threading.enumerate()) - before)


@pytest.mark.parametrize("kind", ["npy", "parquet"])
def test_pieces_are_the_rows_in_file_order(tmp_path, kind, monkeypatch):
    monkeypatch.setattr(shards, "CHUNK_BYTES", 24 * 50)
    X, y = table(m=700, offset=10.0)
    path = npy_shards(tmp_path / "d", X, y, [333, 367]) if kind == "npy" else \
        parquet_file(tmp_path / "d.parquet", X, y, 64)
    data, net = prepared(path)
    got_X, got_y = [], []
    for Xk, yk in Stream(data, net, 100, 700).pieces():
        got_X.append(Xk.copy())  # the buffer is reused two pieces on
        got_y.append(yk)
    np.testing.assert_array_equal(np.concatenate(got_X), data.scaling.apply(X[100:]).astype(np.float32))
    np.testing.assert_array_equal(np.concatenate(got_y), y[100:])


def test_the_window_is_dropped_before_streamed_validation(tmp_path, monkeypatch):
    import sys

    train_module = sys.modules["deltaprop.train"]  # the module (deltaprop.train is also its function)
    monkeypatch.setattr(shards, "CHUNK_BYTES", 24 * 50)
    data, net = numbered(tmp_path, "npy")
    feed = Stream(data, net, 0, 600)
    held: list[bool] = []
    validation = train_module._validation

    def spy(net_, val):
        held.append(feed._X is not None or bool(feed._spare))
        return validation(net_, val)

    monkeypatch.setattr(train_module, "_validation", spy)
    train(net, feed, None, epochs=2, batch_size=16, validation=Stream(data, net, 600, 750), seed=0)
    assert held == [False, False]  # only the validation rows' two buffers are in memory while they are scored
