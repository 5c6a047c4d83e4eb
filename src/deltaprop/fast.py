r"""Compiled training loops (numba, from the optional extra ``fast``) that skip exact zeros.

Two places lose most of their time in NumPy: the first layer of an image network, whose inputs are
mostly 0 (about 81 % of MNIST's pixels), and per-sample SGD, where every step is a few small
vector operations. Here both are written as loops and compiled by numba on first use:

- ``SparseKernel``, the mini-batch kernel that ``train`` picks for mostly-zero inputs. Its first
  layer computes z_i^(1) = b^(1) + sum over x_ij != 0 of x_ij W^(1)[j, :] and
  dW^(1)[j, :] = sum_i x_ij delta_i^(1) over the nonzero x_ij only: the terms it skips are exactly 0.
  Rows of X are read in place through the batch's indices (no copy of the batch).
- ``sgd_steps(net, X, Y, steps, eta, rng)``, seed 002's rule W^(l) <- W^(l) - eta a^(l-1)T delta^(l)
  and b^(l) <- b^(l) - eta delta^(l), one drawn sample per step; ``train(..., batch_size=1)`` with
  plain SGD runs the same loop. Rows j with a_j^(l-1) = 0 (zero pixels, inactive ReLUs) are
  skipped in the forward pass and in the update, where their change would be exactly 0.

numba is imported only when one of these runs; without it ``available()`` is False, ``train``
keeps to NumPy and ``sgd_steps`` runs the same steps through NumPy (much slower, same rule).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from . import _checks
from .kernels import CHUNK, DenseKernel
from .network import Network
from ._fastloops import LOOPS, output_code, hidden_codes

SPARSE_FRACTION = 0.5  # the compiled first layer pays when at least this share of the inputs is 0
_compiled: SimpleNamespace | None = None
_tried = False
