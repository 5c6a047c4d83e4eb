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
import threading
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


def warm_up() -> threading.Thread | None:
    """Start, on a background thread, what the compiled loops cost once per process; the thread, or None
    without numba.

    Importing numba and its code generator's first preparation (which the first call of any compiled
    loop pays, cached or not) take about a second. A program with other work before training (the
    command line reading its data files) starts this first and joins the thread before training, so
    the two overlap on two cores. The thread imports numba, SciPy's linear algebra and parts of NumPy:
    run beside work that imports nothing, since two threads importing the same packages can meet in an
    import cycle.
    """
    if not _numba_installed():
        return None

    def prepare() -> None:
        compiled = loops()
        if compiled is not None:
            compiled.ready()  # the first call of a compiled function: numba prepares its code generator

    thread = threading.Thread(target=prepare, name="deltaprop-warm-up", daemon=True)  # daemon: an error exit
    thread.start()  # need not wait for it
    return thread


def _numba_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def require() -> None:
    """RuntimeError unless numba is installed."""
    if not available():
        raise RuntimeError("the compiled kernels need numba: pip install 'deltaprop[fast]'")


def helper_supported() -> bool:
    """Whether the mini-batch kernel's helper thread may start: its primitives (sched_yield, the x86 pause,
    the cycle counter, 64-bit atomics) are verified on Linux x86-64; elsewhere the kernel runs on one thread."""
    return sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")
