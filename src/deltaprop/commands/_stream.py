"""``deltaprop train`` on a streamed data set: the training, validation and test rows as Streams, and the test scores.

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


SCORE_ROWS = 16384  # rows of a streamed test set scored at a time


def stream_scores(net: Any, ds: StreamData) -> dict[str, float]:
    """``evaluate.scores`` of the test rows, computed SCORE_ROWS at a time and combined.

    Means (accuracy, cost, mae) are weighted by rows, rmse^2 too, and r2 = 1 - sum m_k rmse_k^2 / M2,
    with M2 = sum (y - mean y)^2 from the chunks' moments.
    """
    from ..datasets.stream import Moments
    from ..stream import Stream
    from .evaluate import scores

    total: dict[str, float] = {}
    moments = Moments()
    for X, y in Stream(ds, net, ds.n_train, ds.n_rows).pieces():
        for rows in range(0, len(y), SCORE_ROWS):  # bounds the forward pass's a^(l)
            part = scores(net, X[rows:rows + SCORE_ROWS], y[rows:rows + SCORE_ROWS])
            part.pop("r2", None)
            if "rmse" in part:
                part["rmse"] **= 2  # summed as squares
                moments.add(y[rows:rows + SCORE_ROWS].reshape(-1, 1))
            for k, v in part.items():
                total[k] = total.get(k, 0.0) + v * len(y[rows:rows + SCORE_ROWS])
        del X  # not kept while the next chunk is read
    result = {k: v / ds.n_test for k, v in total.items()}
    if "rmse" not in result:
        return result
    M2 = float(moments.M2[0])
    r2 = 1.0 - total["rmse"] / M2 if M2 > 0 else float("nan")
    return {"r2": r2, "rmse": float(np.sqrt(result["rmse"])), "mae": result["mae"], "cost": result["cost"]}
