r"""Training from data bigger than memory: ``train(net, Stream(data, net, start, stop), None, ...)``.

A :class:`Stream` feeds ``train``'s batch loop (``deltaprop._epochs``) the rows of a streamed data
set (``deltaprop.datasets.stream``) a chunk at a time. Each epoch visits the chunks in an order
drawn from the run's generator (``Trainer.perm`` holds it, so a checkpoint keeps it), and shuffles
the rows of each chunk with a generator seeded by (seed, epoch, chunk), so nothing but the chunk
order needs keeping to resume in the middle of a chunk, bit for bit. Batch b holds positions
b B..(b+1) B - 1 of that sequence (B = batch_size): a batch may span two chunks, and no more than
the current chunk and the rest of the previous one (fewer rows than a batch) are in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .datasets.stream import StreamData
from .network import Network


class Stream:
    """Rows start..stop-1 of a streamed data set, as the network sees them, chunk by chunk.

    Parameters
    ----------
    data : StreamData
        From ``deltaprop.datasets.stream.open_stream``.
    net : Network
        Its ``scaling`` (when set) maps the raw inputs; its dtype is the inputs'.
    start, stop : int
        The rows fed (0 <= start < stop <= data.n_rows).
    seed : int
        Seeds the shuffle within each chunk (the chunk order comes from ``train``'s generator).
    targets : callable, optional
        Maps a chunk's targets (k,) (class indices or numbers) to what ``net``'s cost takes, e.g.
        ``commands.evaluate.targets_for``; default: class indices, or the numbers standardised by
        ``net.target_scaling`` when it is set.

    Attributes
    ----------
    m : int
        The rows fed, stop - start.
    """

    def __init__(self, data: StreamData, net: Network, start: int, stop: int, *, seed: int = 0,
                 targets: Callable[[np.ndarray], Any] | None = None) -> None:
        if not isinstance(data, StreamData):
            raise TypeError(f"data must be a StreamData from open_stream, got {type(data).__name__}")
        if not 0 <= start < stop <= data.n_rows:
            raise ValueError(f"the rows start..stop-1 must lie in 0..{data.n_rows - 1} with start < stop, "
                             f"got start={start}, stop={stop}")
        if data.n_features != net.sizes[0]:
            raise ValueError(f"the data have {data.n_features} features; this network expects n_0 = {net.sizes[0]}")
        self.data, self.net, self.seed = data, net, int(seed)
        self.targets = targets or _default_targets(net)
        self.chunks = data.chunks(start, stop)
        self.sizes = np.array([c.rows for c in self.chunks], dtype=np.int64)  # (C,)
        self.m = int(stop - start)
        self.shuffle = True
        self._key: tuple[Any, int] | None = None  # (order, epoch) of the window
        self._offsets = np.zeros(0, dtype=np.int64)  # where each chunk of the order starts
        self._X: np.ndarray | None = None  # the window: the rows of positions lo..hi-1 of the epoch's sequence
        self._Y: np.ndarray | None = None
        self._seq: np.ndarray | None = None  # _seq[i]: the window's row at position lo + i
        self._lo = self._hi = 0
        self._parts: dict[tuple[int, int], Any] = {}  # the scaling of some features (Parquet is read by columns)

    @property
    def order_size(self) -> int:
        """The length of an epoch's order: the number of chunks C."""
        return len(self.chunks)

    def order(self, rng: np.random.Generator, shuffle: bool) -> np.ndarray:
        """The epoch's order of the chunks (C,): drawn from rng, or 0..C-1 without shuffle."""
        self.shuffle = bool(shuffle)
        return rng.permutation(len(self.chunks)) if shuffle else np.arange(len(self.chunks))

    def batch(self, order: np.ndarray, epoch: int, b: int, batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """X (k', n_0), Y (k', n_L) and the rows idx of batch b within them (the kernel's ``batch``)."""
        s, e = b * batch_size, min((b + 1) * batch_size, self.m)
        if self._key is None or self._key[0] is not order or self._key[1] != epoch or not self._lo <= s < e <= self._hi:
            self._fill(order, epoch, s, e)
        assert self._X is not None and self._Y is not None and self._seq is not None
        return self._X, self._Y, self._seq[s - self._lo:e - self._lo]

    def _fill(self, order: np.ndarray, epoch: int, s: int, e: int) -> None:
        """Make the window hold positions s..(at least) e-1 of the epoch's sequence: the rows of the old
        window not yet used, then whole chunks, read into place; ``_seq`` lists the window's rows in
        sequence order (a chunk's rows stay in file order, the shuffle is in ``_seq``)."""
        keep: tuple[np.ndarray, np.ndarray] | None = None
        if self._key is not None and self._key[0] is order and self._key[1] == epoch and self._lo <= s < self._hi:
            assert self._X is not None and self._Y is not None and self._seq is not None
            rest = self._seq[s - self._lo:]
            keep, pos = (self._X[rest], self._Y[rest]), self._hi  # fewer rows than a batch
        else:
            self._key = (order, epoch)
            self._offsets = np.concatenate([[0], np.cumsum(self.sizes[order])])
            pos = s
        self._X = self._Y = self._seq = None  # dropped before the next chunk is read
        first = int(np.searchsorted(self._offsets, pos, side="right")) - 1  # the order's chunk holding pos
        last = int(np.searchsorted(self._offsets, e, side="left")) - 1  # ... and the one holding e - 1
        kept = 0 if keep is None else len(keep[0])
        rows = kept + int(self._offsets[last + 1] - self._offsets[first])
        X = np.empty((rows, self.net.sizes[0]), self.net.dtype)
        Y = np.empty((rows, self.net.sizes[-1]), self.net.dtype)
        seq = [np.arange(kept)]
        if keep is not None:
            X[:kept], Y[:kept] = keep
        del keep
        o = kept
        for j in range(first, last + 1):
            c = int(order[j])
            k = int(self.sizes[c])
            _, y = self.data.read(self.chunks[c], X[o:o + k], self._scale)
            Y[o:o + k] = self.net._Y(self.targets(y), k)
            sigma = np.random.default_rng([self.seed, epoch, c]).permutation(k) if self.shuffle else np.arange(k)
            skip = pos - int(self._offsets[j]) if j == first else 0  # > 0 only when resuming inside a chunk
            seq.append(o + sigma[skip:])
            o += k
        self._X, self._Y, self._seq = X, Y, np.concatenate(seq)
        self._lo, self._hi = s, int(self._offsets[last + 1])

    def _scale(self, X: np.ndarray, columns: slice) -> np.ndarray:
        """A block of raw inputs (k, n) of the features ``columns`` as the network sees them (``net.scaling``)."""
        scaling = self.net.scaling
        if scaling is None:
            return X
        if columns.stop - columns.start != self.net.sizes[0]:
            scaling = self._parts.get((columns.start, columns.stop)) or \
                self._parts.setdefault((columns.start, columns.stop), scaling.features(columns.start, columns.stop))
        return scaling.apply(X)

    def pieces(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The rows in file order, chunk by chunk: X (k, n_0) as the network sees it and the targets (k,)."""
        for chunk in self.chunks:
            yield self.data.read(chunk, np.empty((chunk.rows, self.net.sizes[0]), self.net.dtype), self._scale)

    def release(self) -> None:
        """Drop the window (a run keeps at most a chunk and the rest of the previous one)."""
        self._key, self._X, self._Y, self._seq = None, None, None, None


def _default_targets(net: Network) -> Callable[[np.ndarray], Any]:
    if net.target_scaling is not None:
        return lambda y: net.target_scaling.apply(y.reshape(-1, 1))  # (k, 1)
    return lambda y: y
