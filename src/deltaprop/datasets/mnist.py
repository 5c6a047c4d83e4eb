"""MNIST: the four standard IDX files, read from a folder or downloaded once, each verified.

Every file's uncompressed content must match its pinned SHA-256 (``MNIST_SHA256``), so
recompressed mirrors are accepted and a corrupted or truncated file is rejected and never kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from . import idx
from ._base import Dataset, FloatArray, PathLike
from .scaling import Scaling

#: Default mirror of the gzipped MNIST files (the one TensorFlow's loader uses).
MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"


#: SHA-256 of the uncompressed content of each MNIST file. The .gz bytes differ between
#: mirrors (recompressed copies exist); the content does not.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def load_mnist(
    data_dir: PathLike | None = None,
    *,
    cache_dir: PathLike | None = None,
    base_url: str = MNIST_URL,
    subset: tuple[int, int] | None = None,
) -> Dataset:
    """Load MNIST: 60,000 training and 10,000 test 28x28 images of digits.

    The four IDX files (each raw or ``.gz``) are read from ``data_dir`` when given, else from
    the folder named by the environment variable ``DELTAPROP_DATA`` (or its ``mnist``
    subfolder) when set, else downloaded once with pooch from ``base_url`` into
    ``cache_dir`` (default ``pooch.os_cache("deltaprop")``). Every file is checked against
    the SHA-256 of its uncompressed content (``MNIST_SHA256``); a bad download is
    deleted, so the next call downloads it again.

    Parameters
    ----------
    data_dir : str or path-like, optional
    cache_dir : str or path-like, optional
    base_url : str
        Folder URL ending in "/" that serves the four ``.gz`` files.
    subset : (n_train, n_test), optional
        Keep only the first n_train training and n_test test images (for quick tests).

    Returns
    -------
    Dataset
        X_train (60000, 784) and X_test (10000, 784) float32 in [0, 1] (divided by 255),
        classes (0, ..., 9).

    Raises
    ------
    FileNotFoundError
        If a file is missing from the folder.
    ValueError
        If a file is truncated, corrupt, or its checksum differs (expected vs got).
    """
    if subset is not None:
        if (not isinstance(subset, (tuple, list)) or len(subset) != 2
                or not all(isinstance(n, (int, np.integer)) and 1 <= n for n in subset)):
            raise ValueError(f"subset must be a pair (n_train, n_test) of ints >= 1, got {subset!r}")
    folder = data_dir if data_dir is not None else os.environ.get("DELTAPROP_DATA") or None
    arrays = {}
    for name in MNIST_SHA256:
        if folder is not None:
            content = _verified(_find_in_folder(Path(folder), name), name)
        else:
            content = _download(name, base_url, cache_dir)
        arrays[name] = idx._decode(content, name)
    n_train, n_test = subset if subset is not None else (None, None)
    X_train, y_train = _mnist_part(arrays, "train", n_train)
    X_test, y_test = _mnist_part(arrays, "t10k", n_test)
    return Dataset("mnist", X_train, y_train, X_test, y_test, tuple(range(10)), Scaling.divide(255.0))


def _mnist_part(arrays: dict[str, np.ndarray], part: str, n: int | None) -> tuple[FloatArray, np.ndarray]:
    """The first n images of one split as (n, 784) float32 in [0, 1], with int64 labels."""
    images, labels = arrays[f"{part}-images-idx3-ubyte"], arrays[f"{part}-labels-idx1-ubyte"]
    if n is not None and n > len(labels):
        raise ValueError(f"subset asks for {n} {part} images; MNIST has {len(labels)}")
    X = images[:n].reshape(-1, 28 * 28)  # (m, 784)
    return np.divide(X, np.float32(255.0), dtype=np.float32), labels[:n].astype(np.int64)  # one float32 pass


def _find_in_folder(folder: Path, name: str) -> Path:
    for directory in (folder, folder / "mnist"):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(f"{name} (or {name}.gz) not found in {folder} or {folder / 'mnist'}; "
                            "pass data_dir=None and unset DELTAPROP_DATA to download MNIST")


def _verified(path: Path, name: str, source: str = "") -> bytes:
    """Return the uncompressed content of an MNIST file after checking its SHA-256."""
    expected = MNIST_SHA256[name]
    try:
        content = idx._read_content(path, f"{path}{source}")
    except ValueError as exc:
        raise ValueError(f"{exc}; expected the content of {name} with SHA-256 {expected}") from None
    got = hashlib.sha256(content).hexdigest()
    if got != expected:
        raise ValueError(f"{path}{source}: SHA-256 of the uncompressed content is {got}, expected {expected} "
                         f"for {name} ({len(content)} bytes; the file is truncated, corrupt or not MNIST)")
    return content


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """Silence pooch's INFO messages (the library never prints)."""
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _download(name: str, base_url: str, cache_dir: PathLike | None) -> bytes:
    """Fetch ``name``.gz into the cache unless a verified copy is there; never keep a bad file."""
    import pooch  # optional dependency (the cli extra)

    directory = Path(cache_dir) if cache_dir is not None else Path(pooch.os_cache("deltaprop"))
    local = directory / f"{name}.gz"
    if local.is_file():
        try:
            return _verified(local, name)
        except ValueError:
            local.unlink()  # damaged since it was cached: fetch it again
    url = (base_url if base_url.endswith("/") else base_url + "/") + local.name
    with _quiet(pooch.get_logger()):
        pooch.retrieve(url, known_hash=None, fname=local.name, path=directory, progressbar=False)
    try:
        return _verified(local, name, f" (downloaded from {url})")
    except ValueError:
        local.unlink(missing_ok=True)
        raise

