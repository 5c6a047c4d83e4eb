"""Data sets: the digits and MNIST images, Higham & Higham's toy points, CSV and NPZ files.

Every loader returns a :class:`Dataset` whose inputs are already scaled, together with the
:class:`Scaling` that was applied, so a saved model can apply the same map to new rows
(:func:`read_features` returns them raw).

Examples
--------
>>> data = load_digits()
>>> data.X_train.shape, data.X_test.shape, data.classes[:3]
((1347, 64), (450, 64), (0, 1, 2))
>>> data.scaling
Scaling(kind='divide', scale=16.0, mean=None, std=None)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import numpy.typing as npt

from . import idx
from ._tables import check_finite, load_npz_arrays, read_csv_table, stratified_split, to_classes

__all__ = [
    "MNIST_URL", "Dataset", "Scaling", "higham_points", "load_csv", "load_dataset", "load_digits",
    "load_mnist", "load_npz", "one_hot", "read_features",
]

FloatArray = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.int64]

#: Default mirror of the gzipped MNIST files (the one TensorFlow's loader uses).
MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"

# SHA-256 of the uncompressed content of each MNIST file. The .gz bytes differ between
# mirrors (recompressed copies exist), the content does not.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
