r"""Training from data bigger than memory: ``train(net, Stream(data, net, start, stop), None, ...)``.

A :class:`Stream` feeds ``train``'s batch loop (``deltaprop._epochs``) the rows of a streamed data
set (``deltaprop.datasets.stream``) a chunk at a time. Each epoch visits the chunks in an order
drawn from the run's generator (``Trainer.perm`` holds it, so a checkpoint keeps it), and shuffles
the rows of each chunk with a generator seeded by (seed, epoch, chunk), so nothing but the chunk
order needs keeping to resume in the middle of a chunk, bit for bit. Batch b holds positions
b B..(b+1) B - 1 of that sequence (B = batch_size): a batch may span two chunks.

While the batches of one chunk are trained on, a second thread reads (and scales) the next chunk of
the order into a second pair of buffers; the two pairs are used in turn. So memory holds two chunks
(the window and the one read ahead) and the rest of the previous one (fewer rows than a batch), and
the reading is hidden behind the training on a second core. The bytes are the same whichever
thread reads them: the shuffle and the chunk order do not depend on timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
        self._buffer: _Pair | None = None  # the buffers the window is the first rows of (None: its own arrays)
        self._spare: list[_Pair] = []  # buffers free for the next chunk
        self._ahead: tuple[Any, int, int, int, Future[_Part]] | None = None  # (order, epoch, j, lead, the read)
        self._thread: ThreadPoolExecutor | None = None
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
        """X (k', n_0), Y (k', n_L) and the rows idx of batch b within them (the kernel's ``batch``).

        When a batch needs the next chunk, the window moves on (``_fill``), and the chunk after it is
        read on the reader thread meanwhile (its first ``hi mod B`` rows left free for the rest of the
        window that the batch crossing into it will take).
        """
        s, e = b * batch_size, min((b + 1) * batch_size, self.m)
        if self._key is None or self._key[0] is not order or self._key[1] != epoch or not self._lo <= s < e <= self._hi:
            rows = int(self.sizes.max()) + batch_size  # a chunk and the rest of a window
            self._fill(order, epoch, s, e, rows)
            j = int(np.searchsorted(self._offsets, self._hi, side="right")) - 1  # the order's next chunk
            if j < len(order):
                lead = self._hi % batch_size
                self._ahead = (order, epoch, j, lead,
                               self._reader().submit(self._load, int(order[j]), epoch, lead, rows))
        assert self._X is not None and self._Y is not None and self._seq is not None
        return self._X, self._Y, self._seq[s - self._lo:e - self._lo]

    def _fill(self, order: np.ndarray, epoch: int, s: int, e: int, rows: int) -> None:
        """Make the window hold positions s..(at least) e-1 of the epoch's sequence: the rows of the old
        window not yet used, then whole chunks (read ahead, or read now); ``_seq`` lists the window's
        rows in sequence order (a chunk's rows stay in file order, the shuffle is in ``_seq``)."""
        keep: tuple[np.ndarray, np.ndarray] | None = None
        if self._key is not None and self._key[0] is order and self._key[1] == epoch and self._lo <= s < self._hi:
            assert self._X is not None and self._Y is not None and self._seq is not None
            rest = self._seq[s - self._lo:]
            keep, pos = (self._X[rest], self._Y[rest]), self._hi  # fewer rows than a batch
        else:
            self._key = (order, epoch)
            self._offsets = np.concatenate([[0], np.cumsum(self.sizes[order])])
            pos = s
        self._drop_window()
        first = int(np.searchsorted(self._offsets, pos, side="right")) - 1  # the order's chunk holding pos
        last = int(np.searchsorted(self._offsets, e, side="left")) - 1  # ... and the one holding e - 1
        kept = 0 if keep is None else len(keep[0])
        ahead, self._ahead = self._ahead, None
        parts: list[_Part] = []
        for j in range(first, last + 1):
            lead = kept if j == first else 0
            if ahead is not None and ahead[0] is order and ahead[1:4] == (epoch, j, lead):
                parts.append(ahead[4].result())
            else:
                if ahead is not None:  # not the read needed: its buffers come back when it is done
                    self._spare.append(ahead[4].result()[0])
                parts.append(self._load(int(order[j]), epoch, lead, rows))
            ahead = None
        if len(parts) == 1:  # the window is the first rows of the chunk's buffers: nothing is copied
            self._buffer, X, Y, _ = parts[0]
        else:  # chunks smaller than a batch: put together
            X, Y = np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])
            self._spare.extend(p[0] for p in parts)
        if keep is not None:
            X[:kept], Y[:kept] = keep
        del keep
        seq, o = [np.arange(kept)], 0
        for j, (_, Xj, _, sigma) in zip(range(first, last + 1), parts):
            skip = pos - int(self._offsets[j]) if j == first else 0  # > 0 only when resuming inside a chunk
            seq.append(o + (kept if j == first else 0) + sigma[skip:])
            o += len(Xj)
        del parts
        self._X, self._Y, self._seq = X, Y, np.concatenate(seq)
        self._lo, self._hi = s, int(self._offsets[last + 1])

    def _drop_window(self) -> None:
        """Forget the window; its buffers become spare."""
        if self._buffer is not None:
            self._spare.append(self._buffer)
        self._X = self._Y = self._seq = self._buffer = None

    def _load(self, c: int, epoch: int, lead: int, rows: int) -> _Part:
        """Chunk c read and scaled into X (lead + k, n_0) and Y (lead + k, n_L) after ``lead`` free rows,
        and its shuffle sigma (k,) (seeded by seed, epoch and c).

        X and Y are the first rows of a spare pair of buffers of ``rows`` rows (a new pair when none is
        free), so that training keeps reusing two pairs: the window's and the next chunk's.
        """
        k = int(self.sizes[c])
        spare = self._spare.pop() if self._spare else None  # list.pop is atomic: safe on the reader thread
        if spare is None or len(spare[0]) < lead + k:
            spare = (np.empty((max(rows, lead + k), self.net.sizes[0]), self.net.dtype),
                     np.empty((max(rows, lead + k), self.net.sizes[-1]), self.net.dtype))
        X, Y = spare[0][:lead + k], spare[1][:lead + k]
        _, y = self.data.read(self.chunks[c], X[lead:], self._scale)
        Y[lead:] = self.net._Y(self.targets(y), k)
        sigma = np.random.default_rng([self.seed, epoch, c]).permutation(k) if self.shuffle else np.arange(k)
        return spare, X, Y, sigma

    def _reader(self) -> ThreadPoolExecutor:
        """The thread that reads the next chunk while the current one is used (made on first use)."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deltaprop-stream")
        return self._thread

    def _scale(self, raw: np.ndarray, columns: slice, out: np.ndarray) -> None:
        """Write a block of raw inputs (k, n) of the features ``columns`` into ``out`` (k, n) as the network
        sees them (``net.scaling``)."""
        scaling = self.net.scaling
        if scaling is None:
            out[...] = raw
            return
        if columns.stop - columns.start != self.net.sizes[0]:
            key = (columns.start, columns.stop)
            scaling = self._parts.get(key) or self._parts.setdefault(key, scaling.features(*key))
        scaling.apply(raw, out=out)

    def pieces(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The rows in file order, chunk by chunk: X (k, n_0) as the network sees it and the targets (k,).

        The next chunk is read on the reader thread while the caller works on one, into the other of two
        buffers: a piece's X is overwritten once the piece after the next is asked for (copy it to keep it).
        """
        rows = int(self.sizes.max())
        buffers = [np.empty((rows, self.net.sizes[0]), self.net.dtype) for _ in range(min(2, len(self.chunks)))]

        def read(i: int) -> tuple[np.ndarray, np.ndarray]:
            chunk = self.chunks[i]
            return self.data.read(chunk, buffers[i % 2][:chunk.rows], self._scale)

        pending = self._reader().submit(read, 0)
        for i in range(len(self.chunks)):
            piece = pending.result()
            if i + 1 < len(self.chunks):
                pending = self._reader().submit(read, i + 1)
            yield piece
            del piece

    def release(self) -> None:
        """Drop the window, the read ahead and the spare buffers, and end the reader thread."""
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None
        self._key, self._ahead = None, None
        self._drop_window()
        self._spare.clear()


_Pair = tuple[np.ndarray, np.ndarray]  # buffers for X (rows, n_0) and Y (rows, n_L)
_Part = tuple[_Pair, np.ndarray, np.ndarray, np.ndarray]  # a chunk read: its buffers, X, Y and sigma


def _default_targets(net: Network) -> Callable[[np.ndarray], Any]:
    if net.target_scaling is not None:
        return lambda y: net.target_scaling.apply(y.reshape(-1, 1))  # (k, 1)
    return lambda y: y
