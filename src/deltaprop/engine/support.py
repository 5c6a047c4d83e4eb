r"""What each fast path computes: the one table of layers, and whether numba is installed.

The fast paths (``dense``, ``sparse``, ``per_sample``) compute the hidden activations and the
output/cost pairs listed here, matched by exact type (a user subclass of ReLU with another
derivative goes to the reference kernel, which calls its methods). The compiled loops code them
as integers: hidden g_l as ``HIDDEN[type(g)]``, the output layer with its cost as
``OUTPUTS[(type(g_L), type(cost))]``.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from ..activations import Activation, Identity, ReLU, Sigmoid, Softmax, Tanh
from ..costs import BinaryCrossEntropy, Cost, CrossEntropy, Quadratic
from ..network import Network

# hidden activation -> its code in the compiled loops
HIDDEN: dict[type[Activation], int] = {Identity: 0, ReLU: 1, Sigmoid: 2, Tanh: 3}
# (output activation, cost) -> its code in the compiled loops
OUTPUTS: dict[tuple[type[Activation], type[Cost]], int] = {(Softmax, CrossEntropy): 0, (Sigmoid, BinaryCrossEntropy): 1,
                                         (Identity, Quadratic): 2, (Sigmoid, Quadratic): 3}


def described() -> str:
    """The table in words, for error messages."""
    outputs = [f"{g.name} + {c.name}" for g, c in OUTPUTS]
    return (f"{'/'.join(g.name for g in HIDDEN)} hidden layers with {', '.join(outputs[:-1])} or {outputs[-1]} "
            "outputs and no dropout")


def supports(net: Network) -> bool:
    """True when every layer of ``net`` is in the table (dropout aside: the caller knows whether it trains with it)."""
    L = net.L
    return all(type(net.g[l]) in HIDDEN for l in range(1, L)) and (type(net.g[L]), type(net.c)) in OUTPUTS


def hidden_code(net: Network, l: int) -> int:
    """The code of g_l, a hidden layer's activation (l < L)."""
    return HIDDEN[type(net.g[l])]


def output_code(net: Network) -> int:
    """The code of the output activation g_L with the cost."""
    return OUTPUTS[(type(net.g[net.L]), type(net.c))]


_LOOPS: Any = None


def loops() -> Any:
    """The compiled loops (``engine._loops``, numba), imported on first use; None without numba."""
    global _LOOPS
    if _LOOPS is None:
        try:
            from . import _loops
        except ImportError:  # numba is not installed
            _LOOPS = False
        else:
            _LOOPS = _loops
    return _LOOPS or None


def available() -> bool:
    """True when numba is installed (the loops are compiled on their first call, then cached on disk)."""
    return loops() is not None


def require() -> None:
    """RuntimeError unless numba is installed."""
    if not available():
        raise RuntimeError("the compiled kernels need numba: pip install 'deltaprop[fast]'")


def helper_supported() -> bool:
    """Whether the mini-batch kernel's helper thread may start: its primitives (sched_yield, the x86 pause,
    the cycle counter, 64-bit atomics) are verified on Linux x86-64; elsewhere the kernel runs on one thread."""
    return sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")
