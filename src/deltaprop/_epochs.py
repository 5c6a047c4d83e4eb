r"""The inner loops of ``deltaprop.train``: the rest of an epoch, in mini-batches or one sample at a time.

Both check every step for NaN and Inf (the cost, the gradients, and the weights every GOOD_EVERY
steps); on one, ``_diverged`` puts back the last weights that were finite and either raises
``DivergenceError`` or halves the learning rate, as ``train(on_divergence=...)`` asks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .engine import DivergenceError, all_finite

if TYPE_CHECKING:
    from .train import Callbacks, Trainer

GOOD_EVERY = 16  # steps between copies of the last finite weights (for on_divergence)
MAX_HALVINGS = 30  # on_divergence="halve-lr" gives up after this many halvings in one call (eta / 2^30 ~ 1e-9 eta)
STEPS_PER_RUN = 1024  # per-sample steps per call of the compiled loop


class Rows:
    """The rows in memory as ``batch_epoch`` takes them: batch b is rows order[b B:(b+1) B] of X and Y.

    ``deltaprop.stream.Stream`` offers the same four names for rows read a chunk at a time.
    X is (m, n_0), Y (m, n_L); ``order`` draws an epoch's permutation of the m rows (``Trainer.perm``).
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.X, self.Y, self.m = X, Y, X.shape[0]
        self.order_size = self.m

    def order(self, rng: np.random.Generator, shuffle: bool) -> np.ndarray:
        """A permutation of the m rows drawn from rng, or 0..m-1 without shuffle."""
        return rng.permutation(self.m) if shuffle else np.arange(self.m)

    def batch(self, order: np.ndarray, epoch: int, b: int, batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """X, Y and the rows of batch b."""
        return self.X, self.Y, order[b * batch_size:(b + 1) * batch_size]


def batch_epoch(tr: Trainer, kernel: Any, feed: Any, w: np.ndarray | None, batch_size: int,
                params: list[np.ndarray], good: list[np.ndarray], policy: str, callbacks: Callbacks,
                draw_masks: Any) -> None:
    """The rest of the current epoch in mini-batches (from batch tr.batch on).

    ``feed`` gives each batch's rows (``Rows``, or a ``deltaprop.stream.Stream``);
    ``draw_masks(net, rng, k)`` gives each batch's dropout masks (None without dropout).
    """
    assert tr.perm is not None
    net, opt, m = tr.net, tr.optimizer, feed.m
    grads = kernel.dW + kernel.db
    n_batches = -(-m // batch_size)
    while tr.batch < n_batches and not tr.stop:
        X, Y, idx = feed.batch(tr.perm, tr.epoch, tr.batch, batch_size)
        masks = draw_masks(net, tr.rng, len(idx))
        weight = len(idx) if w is None else float(w[idx].sum())
        cost_sum, correct = kernel.batch(X, Y, idx, w, masks)
        del X  # a Stream's next batch may replace its window: this name must not keep the old one alive
        if not kernel.finite(cost_sum):
            _diverged(tr, params, good, policy, tr.batch + 1)
            continue
        if weight > 0:  # a batch of weight 0 has zero gradients and makes no update (nor optimizer step)
            kernel.update(opt, params, grads)
            tr._fresh_restore = False
            tr._since_good += 1
        if (tr._since_good >= GOOD_EVERY or tr.batch + 1 == n_batches) and not _keep(tr, params, good):
            _diverged(tr, params, good, policy, tr.batch + 1)  # the step overflowed a weight
            continue
        tr._acc[0] += cost_sum
        tr._acc[1] += correct
        tr._acc[2] += weight
        tr.batch += 1
        if callbacks.active:
            callbacks.batch(tr, n_batches, min(tr.batch * batch_size, m))


def sample_epoch(tr: Trainer, loop: Any, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray],
                 good: list[np.ndarray], policy: str, callbacks: Callbacks) -> None:
    """The rest of the current epoch, one sample per step, in compiled runs of up to STEPS_PER_RUN steps.

    A run ends where a callback is due (``Callbacks.steps``): after every step for one that sees
    every batch, never early for one that is only called by the clock.
    """
    assert tr.perm is not None
    m, opt = X.shape[0], tr.optimizer
    while tr.batch < m and not tr.stop:
        n = callbacks.steps(tr.epoch * m + tr.batch, min(STEPS_PER_RUN, m - tr.batch))
        cost_sum, correct, done = loop.run(X, Y, tr.perm[tr.batch:tr.batch + n], opt.eta)
        opt.t += done
        tr._acc[0] += cost_sum
        tr._acc[1] += correct
        tr._acc[2] += done
        tr.batch += done
        if done < n:  # step tr.batch + 1 had a non-finite cost or delta^(L) and was not applied
            _diverged(tr, params, good, policy, tr.batch + 1)
            continue
        tr._since_good += done
        tr._fresh_restore = tr._fresh_restore and done == 0
        if (tr._since_good >= GOOD_EVERY or tr.batch == m) and not _keep(tr, params, good):
            _diverged(tr, params, good, policy, tr.batch)  # a step of this run overflowed a weight
            continue
        if callbacks.active:
            callbacks.batch(tr, m, tr.batch)


def _keep(tr: Trainer, params: list[np.ndarray], good: list[np.ndarray]) -> bool:
    """False when a parameter is not finite; else True, copying params into good every GOOD_EVERY steps."""
    if not all_finite(params):
        return False
    if tr._since_good >= GOOD_EVERY:
        for p, keep in zip(params, good):
            keep[...] = p
        tr._since_good = 0
    return True


def _diverged(tr: Trainer, params: list[np.ndarray], good: list[np.ndarray], policy: str, batch: int) -> None:
    """Back to the last finite weights; raise ("stop") or halve the learning rate ("halve-lr").

    Finite weights can still be too large to take a step from; when the weights just restored
    diverge again before any step succeeds, "halve-lr" goes back to the weights training started
    from, and zeroes the optimiser's velocity or moments, which carried the runaway steps.
    """
    if policy != "stop" and tr._fresh_restore and tr._start is not None:
        for keep, start in zip(good, tr._start):
            keep[...] = start
        for name in ("velocity", "m", "v"):
            for state in getattr(tr.optimizer, name, None) or []:
                state[...] = 0
    for p, keep in zip(params, good):
        p[...] = keep
    tr._fresh_restore = True
    tr._since_good = 0
    where = f"epoch {tr.epoch + 1}, batch {batch}"
    if policy == "stop":
        tr.history.events.append(f"diverged at {where}; stopped with the last good weights")
        raise DivergenceError(
            f"training diverged at {where}: the cost, a gradient or a weight became NaN or Inf "
            f"(likely cause: learning rate {tr.optimizer.eta:g} too high); the last good weights were kept"
        )
    if tr.halvings >= MAX_HALVINGS or tr.optimizer.lr / 2 < 1e-12:
        tr.history.events.append(f"diverged at {where}; gave up after {tr.halvings} halvings of the learning rate")
        raise DivergenceError(
            f"training diverged at {where} and did not recover after {tr.halvings} halvings of the learning rate "
            f"(now {tr.optimizer.lr:g}); the last good weights were kept")
    tr.optimizer.lr /= 2
    tr.halvings += 1
    tr.optimizer.set_epoch(tr.first_epoch + tr.epoch)
    tr.history.events.append(f"diverged at {where}; learning rate halved to {tr.optimizer.lr:g}")
