"""The progress display of ``deltaprop train``: one live bar on stderr, redrawn only by the trainer."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._common import stderr_console


class Progress:
    """One live progress line on stderr for the whole run, and a line per finished epoch.

    The live line shows epoch n/N, the epoch's batches, cost, accuracy and samples per second;
    ``train`` calls it at most every ``batch_seconds`` (``deltaprop.train.Callbacks``) and it
    redraws only then (no refresh thread). Finished epochs print a line each, at most one per
    ``line_seconds``, and the last always: a fast run is not slowed by its own log.
    """

    batch_seconds = 0.2  # display work at most five times a second
    line_seconds = 0.5

    def __init__(self, epochs: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(TextColumn("epoch {task.fields[epoch]}/" + str(epochs)), BarColumn(),
                                MofNCompleteColumn(), TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                                console=stderr_console(), transient=False, auto_refresh=False)
        self.task = self.bar.add_task("", total=None, epoch=1, stats="")
        self.epochs = epochs
        self.epoch_start = self.drawn = time.perf_counter()
        self.line_at = -np.inf
        self.pending: str | None = None  # the last epoch's line, if not printed yet

    def __enter__(self) -> Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pending is not None:
            self.bar.console.print(self.pending, highlight=False)
        self.bar.refresh()
        self.bar.stop()

    def __call__(self, event: Any) -> None:
        now = time.perf_counter()
        if event.kind == "batch":
            acc = event.trainer._acc
            rate = event.samples / max(now - self.epoch_start, 1e-9)
            stats = f"cost {acc[0] / max(acc[2], 1):.4f}  acc {acc[1] / max(event.samples, 1):.4f}  {rate:,.0f} samples/s"
            self._draw(now, event, event.batch, stats)
            return
        self.epoch_start = now
        h = event.history
        val = "" if h.val_accuracy[-1] is None else f"  val acc {h.val_accuracy[-1]:.4f}"
        stats = f"cost {h.train_cost[-1]:.4f}  acc {h.train_accuracy[-1] or 0:.4f}{val}  {h.seconds[-1]:.2f} s"
        self.pending = f"epoch {event.epoch + 1}/{self.epochs}  {stats}"
        if now - self.line_at >= self.line_seconds:
            self.bar.console.print(self.pending, highlight=False)
            self.pending, self.line_at = None, now
        if now - self.drawn >= self.batch_seconds or event.epoch + 1 == self.epochs:
            self._draw(now, event, event.n_batches, stats)

    def _draw(self, now: float, event: Any, batch: int, stats: str) -> None:
        self.bar.update(self.task, total=event.n_batches, completed=batch, epoch=event.epoch + 1, stats=stats)
        self.bar.refresh()
        self.drawn = now
