"""Streamed data sets on the command line: the training, validation and test rows of ``deltaprop train`` as Streams,
and the scores of some rows combined chunk by chunk (``deltaprop train``'s test scores, ``deltaprop evaluate``).

See ``deltaprop.datasets.stream`` for the files and ``deltaprop.stream`` for how training reads them.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..config import TrainConfig
from ..datasets.stream import StreamData


def streams(cfg: TrainConfig, net: Any, ds: StreamData) -> tuple[Any, Any, Any]:
    """The training rows of a streamed data set (and with --early-stopping, the validation rows) as Streams.

    The validation rows are the last --validation-fraction of the training rows (which come before the
    test rows), as the test rows are the last of the file's.
    """
    from ..stream import Stream
    from .evaluate import targets_for

    targets = functools.partial(targets_for, net)
    stop, validation = ds.n_train, None
    if cfg.early_stopping:
        n_val = max(1, round(cfg.validation_fraction * ds.n_train))
        if n_val >= ds.n_train:
            raise ValueError(f"--validation-fraction {cfg.validation_fraction} holds out all {ds.n_train} training "
                             "rows; choose a smaller fraction")
        stop = ds.n_train - n_val
        validation = Stream(ds, net, stop, ds.n_train, targets=targets)
    return Stream(ds, net, 0, stop, seed=cfg.seed, targets=targets), None, validation


SCORE_ROWS = 16384  # rows of a streamed data set scored at a time


def stream_scores(net: Any, ds: StreamData) -> dict[str, float]:
    """``evaluate.scores`` of the test rows (the last ``ds.n_test``), combined over the chunks (``stream_evaluation``)."""
    return stream_evaluation(net, ds, ds.n_train, ds.n_rows)[0]


def stream_evaluation(net: Any, ds: StreamData, start: int, stop: int, *, classes: np.ndarray | None = None,
                      confusion: bool = False) -> tuple[dict[str, float], np.ndarray | None]:
    """``evaluate.scores`` of rows start..stop-1, computed SCORE_ROWS at a time and combined; and with
    ``confusion`` the confusion matrix of a classifier summed over the blocks.

    Parameters
    ----------
    net : Network
        A classifier, or a regression with n_L = 1.
    ds : StreamData
    start, stop : int
        The rows scored, 0 <= start < stop <= ds.n_rows; one chunk (and its outputs SCORE_ROWS at a
        time) is in memory at once.
    classes : ndarray of shape (K_ds,), optional
        The index into ``net.classes`` of each of ``ds.classes`` (default: the same classes).
    confusion : bool
        Also count the confusion matrix.

    Returns
    -------
    scores : dict
        accuracy and cost, or r2, rmse, mae and cost, as ``evaluate.scores`` gives them for all the rows.
    cm : ndarray of shape (max(n_L, 2), max(n_L, 2)) or None
        Rows: true class, columns: predicted class; None without ``confusion`` or for a regression.

    Notes
    -----
    Means (accuracy, cost, mae) are weighted by rows, rmse^2 too, and r2 = 1 - sum m_k rmse_k^2 / M2,
    with M2 = sum (y - mean y)^2 from the blocks' moments (Chan's merge).
    """
    from ..datasets.stream import Moments
    from ..stream import Stream
    from .evaluate import confusion_matrix, scores

    total: dict[str, float] = {}
    moments = Moments()
    K = max(net.sizes[-1], 2)
    cm = np.zeros((K, K), dtype=np.int64) if confusion and net.classifies else None
    for X, y in Stream(ds, net, start, stop).pieces():
        if classes is not None and net.classifies:
            y = classes[y]
        for rows in range(0, len(y), SCORE_ROWS):  # bounds the forward pass's a^(l)
            Xb, yb = X[rows:rows + SCORE_ROWS], y[rows:rows + SCORE_ROWS]  # (k, n_0), (k,)
            part = scores(net, Xb, yb)
            part.pop("r2", None)
            if "rmse" in part:
                part["rmse"] **= 2  # summed as squares
                moments.add(yb.reshape(-1, 1))
            for k, v in part.items():
                total[k] = total.get(k, 0.0) + v * len(yb)
            if cm is not None:
                with np.errstate(all="ignore"):
                    cm += confusion_matrix(yb, net.predict(Xb), K)
        del X  # not kept while the next chunk is read
    result = {k: v / (stop - start) for k, v in total.items()}
    if "rmse" not in result:
        return result, cm
    M2 = float(moments.M2[0])
    r2 = 1.0 - total["rmse"] / M2 if M2 > 0 else float("nan")
    return {"r2": r2, "rmse": float(np.sqrt(result["rmse"])), "mae": result["mae"], "cost": result["cost"]}, cm
