r"""Pictures of training and of trained networks, drawn with matplotlib and written to PNG or SVG.

- ``learning_curves(history, path)``: cost and accuracy per epoch, training and validation;
- ``confusion_matrix(cm, classes, path)``: counts of (true, predicted) class pairs;
- ``first_layer_weights(net, path)``: each column of W^(1), the pattern a hidden unit responds
  to, drawn as an image (8x8 digits, 28x28 MNIST);
- ``decision_regions(net, X, y, path)``: the class the network predicts over the plane, for
  2-D inputs, with the training points on top.

The file type follows the suffix (.png or .svg). Figures are built with ``matplotlib.figure.Figure``
and rendered off screen (Agg for PNG), so nothing touches pyplot's global state or opens a
window; each file is written atomically. The library never prints.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .io import write_atomic
from .network import Network
from .network import classes as classes_of  # the one prediction rule (a parameter below is named classes)

_FORMATS = {".png": "png", ".svg": "svg"}
_DPI = 100
_MAX_TILES = 64


def _format(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"plot files must end in .png or .svg, got {str(path)!r}")
    if not Path(path).resolve().parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {Path(path).parent} does not exist")
    return _FORMATS[suffix]


def check_path(path: str | os.PathLike[str]) -> None:
    """Raise now if ``path`` cannot take a plot (suffix not .png/.svg, or no such folder).

    The commands call it before training, so a typo costs no training time.
    """
    _format(path)


def _save(fig: Figure, path: str | os.PathLike[str], fmt: str) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=_DPI)
    write_atomic(path, buffer.getvalue())


def _points(values: Sequence[Any]) -> tuple[list[int], list[float]]:
    """(epochs from 1, values) for the entries that are not None."""
    kept = [(e, float(v)) for e, v in enumerate(values, start=1) if v is not None]
    return [e for e, _ in kept], [v for _, v in kept]


def learning_curves(history: Any, path: str | os.PathLike[str]) -> None:
    """Training and validation cost (and accuracy, for classifiers) per epoch.

    Parameters
    ----------
    history : deltaprop.History
        Lists train_cost, val_cost, train_accuracy, val_accuracy indexed by epoch; the
        validation and accuracy lists may hold None (no validation data, or a regression).
    path : str or path-like
        A .png or .svg file.
    """
    fmt = _format(path)
    n = len(getattr(history, "train_cost", []))
    if n == 0:
        raise ValueError("history holds no epochs to plot (train_cost is empty)")
    curves = {"cost": (history.train_cost, history.val_cost),
              "accuracy": (history.train_accuracy, history.val_accuracy)}
    if not _points(history.train_accuracy)[0] and not _points(history.val_accuracy)[0]:
        del curves["accuracy"]  # a regression: cost only
    fig = Figure(figsize=(5.2 * len(curves), 4.0), layout="constrained")
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, (what, (train, val)) in zip(axes, curves.items()):
        marker = "o" if n <= 30 else None
        for label, values, style in (("training", train, "-"), ("validation", val, "--")):
            epochs, ys = _points(values)
            if epochs:
                ax.plot(epochs, ys, style, marker=marker, markersize=4, label=label)
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch + 1, color="0.5", linestyle=":", label=f"best epoch ({history.best_epoch + 1})")
        costs = _points(train)[1] + _points(val)[1]
        if what == "cost" and min(costs) > 0 and max(costs) / min(costs) > 30:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("C (mean cost per sample)" if what == "cost" else "accuracy")
        ax.set_title(f"{what} per epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if history.stopped_early:
        fig.suptitle(f"stopped early after {n} epochs", fontsize="medium")
    _save(fig, path, fmt)


def confusion_matrix(cm: Any, classes: Sequence[Any], path: str | os.PathLike[str]) -> None:
    """A (K, K) confusion matrix as a heat map with the counts written in (for K <= 20).

    Parameters
    ----------
    cm : array of shape (K, K), non-negative integers
        cm[i, j] counts the samples of true class i predicted as class j.
    classes : sequence of K labels
    path : str or path-like
        A .png or .svg file.
    """
    fmt = _format(path)
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"cm must be a square (K, K) array of counts, got shape {cm.shape}")
    if not np.issubdtype(cm.dtype, np.integer) or (cm < 0).any():
        raise ValueError(f"cm must hold non-negative integer counts, got dtype {cm.dtype}")
    K = cm.shape[0]
    if len(classes) != K:
        raise ValueError(f"classes must name the K = {K} classes of cm, got {len(classes)} labels")
    size = min(3.5 + 0.45 * K, 14.0)
    fig = Figure(figsize=(size + 1.2, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="samples")
    labels = [str(c) for c in classes]
    ax.set_xticks(range(K), labels, rotation=90 if max(map(len, labels)) > 3 else 0)
    ax.set_yticks(range(K), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = int(cm.sum())
    accuracy = np.trace(cm) / total if total else float("nan")
    ax.set_title(f"confusion matrix: accuracy {accuracy:.4f} on {total} samples")
    if K <= 20:
        high = cm.max() / 2
        for (i, j), count in np.ndenumerate(cm):
            ax.text(j, i, str(count), ha="center", va="center", fontsize="small" if K > 10 else "medium",
                    color="white" if count > high else "black")
    _save(fig, path, fmt)


def _image_shape(n_0: int, image_shape: Any) -> tuple[int, int]:
    if image_shape is None:
        side = math.isqrt(n_0)
        if side * side != n_0:
            raise ValueError(f"cannot infer an image shape for n_0 = {n_0} inputs (not a square number); "
                             f"pass image_shape=(height, width)")
        return side, side
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) != 2
            or not all(isinstance(s, (int, np.integer)) and s > 0 for s in image_shape)):
        raise ValueError(f"image_shape must be (height, width) with positive integers, got {image_shape!r}")
    h, w = int(image_shape[0]), int(image_shape[1])
    if h * w != n_0:
        raise ValueError(f"image_shape {h}x{w} holds {h * w} pixels; the network has n_0 = {n_0} inputs")
    return h, w


def first_layer_weights(net: Network, path: str | os.PathLike[str], image_shape: Any = None) -> None:
    """Each hidden unit's incoming weights W^(1)[:, j] drawn as an image (at most 64 units).

    Red pixels raise z^(1)_j, blue ones lower it; each tile is divided by its largest ``|weight|``.

    Parameters
    ----------
    net : Network
        W^(1) has shape (n_0, n_1); n_0 must be h * w pixels.
    path : str or path-like
        A .png or .svg file.
    image_shape : (h, w), optional
        Inferred for square images: 64 inputs give 8x8 (digits), 784 give 28x28 (MNIST).
    """
    fmt = _format(path)
    if not isinstance(net, Network):
        raise TypeError(f"net must be a deltaprop.Network, got {type(net).__name__}")
    W = net.weights[0]  # (n_0, n_1)
    h, w = _image_shape(W.shape[0], image_shape)
    k = min(W.shape[1], _MAX_TILES)
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    gap = max(1, h // 6)
    mosaic = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)  # one image, NaN between tiles
    for j in range(k):
        tile = W[:, j].reshape(h, w)  # (h, w) image of unit j's weights
        r, c = divmod(j, cols)
        mosaic[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tile / (np.abs(tile).max() or 1.0)
    fig = Figure(figsize=(max(1.1 * cols + 1.3, 5.5), max(1.1 * rows + 0.6, 4.0)), layout="constrained")
    ax = fig.subplots()
    cmap = colormaps["RdBu_r"].with_extremes(bad="white")
    image = ax.imshow(mosaic, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    fig.colorbar(image, ax=ax, shrink=0.8, label="weight / its unit's max |weight|")
    shown = f"the first {k} of {W.shape[1]}" if k < W.shape[1] else f"all {k}"
    fig.suptitle(f"$W^{{(1)}}$ as {h}x{w} images: {shown} hidden units, row by row", fontsize="medium")
    _save(fig, path, fmt)


def decision_regions(net: Network, X: Any, y: Any, path: str | os.PathLike[str], *,
                     classes: Sequence[Any] | None = None) -> None:
    """For 2-D inputs: the class the network predicts at every point of the plane, with the data on top.

    Parameters
    ----------
    net : Network
        n_0 = 2. The predicted class is argmax a^(L), or a^(L) >= 1/2 for a single output.
    X : array of shape (m, 2)
        Points as the network sees them (already scaled).
    y : array of shape (m,) of class indices, or one-hot rows of shape (m, n_L)
    path : str or path-like
        A .png or .svg file.
    classes : sequence of K labels, optional
        Names for the legend; default ``net.classes`` or 0..K-1.
    """
    fmt = _format(path)
    if not isinstance(net, Network):
        raise TypeError(f"net must be a deltaprop.Network, got {type(net).__name__}")
    if net.sizes[0] != 2:
        raise ValueError(f"decision regions need a network with n_0 = 2 inputs, got n_0 = {net.sizes[0]}")
    X = net._X(X)
    labels = _labels(y, X.shape[0], net.sizes[-1])
    K = max(net.sizes[-1], 2)
    names = list(classes) if classes is not None else list(net.classes) if net.classes is not None else list(range(K))
    if len(names) != K:
        raise ValueError(f"classes must name the K = {K} classes, got {len(names)} labels")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.where(hi > lo, 0.1 * (hi - lo), 0.5)
    g1, g2 = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 300),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], 300))  # each (300, 300)
    grid = np.column_stack([g1.ravel(), g2.ravel()])  # (90000, 2)
    region = classes_of(net.forward(grid)).reshape(g1.shape)  # the network's prediction rule
    colours = [_colour(k, K) for k in range(K)]
    fig = Figure(figsize=(6.4, 5.2), layout="constrained")
    ax = fig.subplots()
    ax.imshow(region, origin="lower", extent=(g1[0, 0], g1[0, -1], g2[0, 0], g2[-1, 0]), aspect="auto",
              cmap=ListedColormap(colours), vmin=-0.5, vmax=K - 0.5, alpha=0.3, interpolation="nearest")
    ax.contour(g1, g2, region, levels=np.arange(K) + 0.5, colors="0.3", linewidths=0.8)
    markers = "osD^v<>ph*"
    for k in range(K):
        mine = labels == k
        if mine.any():
            ax.scatter(X[mine, 0], X[mine, 1], color=colours[k], marker=markers[k % len(markers)], s=36,
                       edgecolor="black", linewidth=0.6, label=str(names[k]), zorder=3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(f"decision regions of a {'-'.join(map(str, net.sizes))} network")
    ax.legend(title="class", loc="best", framealpha=0.9)
    _save(fig, path, fmt)


def _labels(y: Any, m: int, n_L: int) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape == (m, n_L) and n_L > 1:
        return classes_of(arr)  # one-hot rows -> class indices
    if arr.ndim == 2 and arr.shape == (m, 1):
        arr = arr[:, 0]
    if arr.shape != (m,):
        raise ValueError(f"y must hold m = {m} class indices or one-hot rows of shape ({m}, {n_L}), got shape {arr.shape}")
    if n_L == 1:
        return classes_of(arr.reshape(m, 1))  # targets get their classes by the same rule as outputs
    if not np.issubdtype(arr.dtype, np.number) or (arr != np.round(arr)).any() or arr.min() < 0 or arr.max() >= n_L:
        raise ValueError(f"y must hold class indices 0..{n_L - 1}, got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)


def _colour(k: int, K: int) -> Any:
    return colormaps["tab10"](k) if K <= 10 else colormaps["tab20"](k % 20)
