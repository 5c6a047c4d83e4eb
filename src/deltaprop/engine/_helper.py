r"""A helper thread for ``engine.sparse.SparseKernel``: half of each large loop or product, without waits.

Waking a sleeping thread takes 0.1-0.2 ms on some virtual machines, as long as half of the work it
would take over, so the helper waits for work spinning inside compiled code (``serve``), without the
GIL, and calls sched_yield every YIELD_EVERY spins so that a thread that needs the core (a BLAS
worker, another process) gets it. The caller hands it a command through a small int64 array, the
mailbox ``ctl``: ctl[CMD] says what to do, ctl[START] and ctl[END] which rows, columns or entries,
ctl[ROWS] how many rows the batch has, ctl[LAYER] which layer, ctl[FLAG] relu (forward), "into part"
(gradients) or nesterov (update), and ctl[MODE] NAP sends the helper back to Python to sleep, and
the command REBIND back to Python to serve on other arrays (a new network's, say) without a new
thread. The helper also goes to sleep by itself after IDLE_CYCLES without work (validation, callbacks,
the caller's own pauses), and the next command wakes it. The helper claims a command by swapping it
for RUNNING, atomically, and clears it when done; the caller can take back a command the helper has
not claimed. Both control words, CMD and MODE, are read with acquire and written with release (or
swapped): the arguments, written before CMD, and the results, written before CMD is cleared, are
visible in full on the other side. The arrays come in one typed bundle (``Arrays``). A caller waits
at most about FINISH_SPINS spins for a command; a helper later than that (held up by another
process on its core) is left alone: the caller computes everything itself from then on, and says so
in the debug log of ``deltaprop.engine``. The primitives (sched_yield, the x86 pause, the cycle
counter) are those of Linux on x86-64, where ``support.helper_supported`` lets the helper start.
This module imports numba: import it lazily.
"""
from __future__ import annotations

import logging
import operator
import threading
import time
import weakref
from collections import deque
from typing import Any, NamedTuple

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._loops import (
    column_gradient,
    group_by_column,
    jit,
    sgd_update_part,
    sparse_forward,
)
from ._uploops import affine_rows, weight_gradient

# ----- the compiled side: the mailbox and the helper's loop ---------------------------------------
CMD, START, END, FLAG, ROWS, MODE, LAYER = range(7)
NONE, FORWARD, GROUP, GRADIENT, UPDATE, AFFINE, BACKWARD, EXIT, RUNNING, REBIND = range(10)
SPIN, NAP = 0, 1
YIELD_EVERY = 64  # idle spins between two sched_yield calls
IDLE_CYCLES = 1 << 23  # cycle-counter ticks without work (about 3 ms) after which the helper sleeps
FINISH_SPINS = 1 << 20  # spins (about 0.1 s) a caller waits for the helper before it computes alone
LOG = logging.getLogger("deltaprop.engine")


class Arrays(NamedTuple):
    """What the helper works on: a ``SparseKernel``'s arrays, tuples indexed l - 1 (see ``_uploops``)."""

    X: np.ndarray  # (m, n_0) the inputs, read through idx
    idx: np.ndarray  # (k,) the chunk's rows of X
    cols: np.ndarray  # (k, n_0) row i's nonzero inputs: columns cols[i, :cnt[i]]
    vals: np.ndarray  # (k, n_0) and their values
    cnt: np.ndarray  # (k,)
    ptr: np.ndarray  # (n_0 + 1,) the nonzeros grouped by column: rows[ptr[j]:ptr[j + 1]], xs[...]
    rows: np.ndarray
    xs: np.ndarray
    check: np.ndarray  # (2, max n_l): check[1] is the helper's finiteness check
    Ws: tuple[np.ndarray, ...]  # W^(l)
    bs: tuple[np.ndarray, ...]  # b^(l)
    As: tuple[np.ndarray, ...]  # the output of layer l: a^(l), z^(L) for l = L
    Ds: tuple[np.ndarray, ...]  # delta^(l)
    dWs: tuple[np.ndarray, ...]  # dC/dW^(l)
    parts: tuple[np.ndarray, ...]  # a chunk's part of dC/dW^(l) (batches of several chunks)
    gWs: tuple[np.ndarray, ...]  # the SGD update's gradients
    vWs: tuple[np.ndarray, ...]  # and velocities (W^(l) itself without momentum)
    rates: np.ndarray  # (eta, mu) in the parameters' dtype


@intrinsic
def _load_acquire(typingctx, arr, i):  # pragma: no cover - compiled
    """arr[i], read with acquire ordering (and never hoisted out of a loop)."""
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]])
        return builder.load_atomic(ptr, "acquire", 8)
    return types.int64(arr, i), codegen


@intrinsic
def _store_release(typingctx, arr, i, v):  # pragma: no cover - compiled
    """arr[i] = v, written with release ordering."""
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]])
        builder.store_atomic(context.cast(builder, args[2], signature.args[2], types.int64), ptr, "release", 8)
        return context.get_dummy_value()
    return types.void(arr, i, v), codegen


@intrinsic
def _swap(typingctx, arr, i, expected, new):  # pragma: no cover - compiled
    """Atomically: if arr[i] == expected, set it to new and return True; else return False."""
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]])
        old = context.cast(builder, args[2], signature.args[2], types.int64)
        value = context.cast(builder, args[3], signature.args[3], types.int64)
        return builder.extract_value(builder.cmpxchg(ptr, old, value, "acq_rel", "acquire"), 1)
    return types.boolean(arr, i, expected, new), codegen


@intrinsic
def _pause(typingctx):  # pragma: no cover - compiled
    """The x86 spin-wait hint: less power, and the sibling hyperthread runs faster (x86-64 only)."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
        builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


@intrinsic
def _cycles(typingctx):  # pragma: no cover - compiled
    """The CPU's cycle counter (rdtsc on x86-64): ticks at a constant rate, for the idle time."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), []),
                                            "llvm.readcyclecounter")
        return builder.call(fn, [])
    return types.int64(), codegen


@intrinsic
def _yield(typingctx):  # pragma: no cover - compiled
    """sched_yield(): let another runnable thread (a BLAS worker, another process) have this core."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
        builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


@jit
def post(ctl, cmd, start, end, flag, rows, layer):  # pragma: no cover - compiled
    """Give the helper a command (its arguments first, the command last)."""
    ctl[START], ctl[END], ctl[FLAG], ctl[ROWS], ctl[LAYER] = start, end, flag, rows, layer
    _store_release(ctl, CMD, cmd)


@jit
def set_mode(ctl, mode):  # pragma: no cover - compiled
    """ctl[MODE] = mode, with release ordering."""
    _store_release(ctl, MODE, mode)


@jit
def get_mode(ctl):  # pragma: no cover - compiled
    """ctl[MODE], with acquire ordering."""
    return _load_acquire(ctl, MODE)


@jit
def take_back(ctl, cmd):  # pragma: no cover - compiled
    """Withdraw command cmd if the helper has not started it (True: the caller must do it)."""
    return _swap(ctl, CMD, cmd, NONE)


@jit
def wait(ctl, limit):  # pragma: no cover - compiled
    """Spin until the helper has finished its command; False after ``limit`` spins."""
    for spin in range(1, limit + 1):
        if _load_acquire(ctl, CMD) == NONE:
            return True
        if spin % YIELD_EVERY == 0:
            _yield()  # the helper may be waiting for this core
        else:
            _pause()
    return False


@jit
def serve(ctl, a):  # pragma: no cover - compiled
    """The helper's loop on the arrays ``a`` (an ``Arrays``): run each posted command, clear it; return on
    EXIT, on REBIND (to be called again with other arrays), or NAP when told to (MODE) or idle for
    IDLE_CYCLES. ctl[LAYER] says which layer (or weight) a command is for.
    """
    idle, since = 0, _cycles()
    while True:
        cmd = _load_acquire(ctl, CMD)
        if cmd == NONE:
            idle += 1
            if idle % YIELD_EVERY == 0:
                if _load_acquire(ctl, MODE) == NAP:
                    return NAP
                if _cycles() - since > IDLE_CYCLES and _swap(ctl, MODE, SPIN, NAP):
                    if _load_acquire(ctl, CMD) == NONE:  # nothing posted meanwhile: sleep
                        return NAP
                    _swap(ctl, MODE, NAP, SPIN)
                _yield()  # the caller may be waiting for this core
            else:
                _pause()
            continue
        idle, since = 0, _cycles()
        if cmd == EXIT:
            return EXIT
        if cmd == RUNNING or not _swap(ctl, CMD, cmd, RUNNING):  # taken back by the caller meanwhile
            continue
        if cmd == REBIND:
            _swap(ctl, CMD, RUNNING, NONE)
            return REBIND
        k, l, i0, i1, flag = ctl[ROWS], ctl[LAYER], ctl[START], ctl[END], ctl[FLAG] != 0  # published by CMD
        if cmd == FORWARD:
            sparse_forward(a.X, a.idx, a.cols, a.vals, a.cnt, a.Ws[0], a.bs[0], a.As[0], flag, i0, i1)
        elif cmd == GROUP:
            group_by_column(a.cols[:k], a.vals[:k], a.cnt[:k], a.ptr, a.rows, a.xs)
        elif cmd == GRADIENT:
            column_gradient(a.ptr, a.rows, a.xs, a.Ds[0], a.parts[0] if flag else a.dWs[0], a.check[1], i0, i1)
        elif cmd == UPDATE:  # of W^(l); FLAG = nesterov
            sgd_update_part(a.Ws[l - 1], a.gWs[l - 1], a.vWs[l - 1], a.rates[0], a.rates[1], flag, i0, i1)
        elif cmd == AFFINE:  # rows of z^(l), l >= 2; FLAG = relu
            affine_rows(a.As[l - 2], a.Ws[l - 1], a.bs[l - 1], a.As[l - 1], flag, i0, i1)
        elif cmd == BACKWARD:  # dW^(l), l >= 2, while the caller computes delta^(l-1); FLAG = into parts
            weight_gradient(a.As[l - 2], a.Ds[l - 1], a.parts[l - 1] if flag else a.dWs[l - 1], k, a.check[1])
        _swap(ctl, CMD, RUNNING, NONE)  # done (unless told to EXIT meanwhile, which stays)


# ----- the Python side ------------------------------------------------------------------------------
class Helper:
    """A second thread that runs half of a loop while the caller runs the other half (module notes).

    On a busy machine the helper can start late or be held up, so each call site times both
    ways, alone and shared (``_Site``), and takes the faster on average; while no site shares,
    the helper sleeps. Results never depend on the way taken.
    """

    FORWARD, GROUP, GRADIENT, UPDATE = FORWARD, GROUP, GRADIENT, UPDATE  # the commands, for the caller
    AFFINE, BACKWARD = AFFINE, BACKWARD
    bundle = Arrays  # the bundle ``bind`` takes, for the kernel (which imports this module only when it runs)

    def __init__(self) -> None:
        self.ctl = np.zeros(8, np.int64)  # the mailbox (see the module notes)
        self.wake = threading.Event()
        self.napping = [False]  # set by the helper while it sleeps
        self.arrays: Arrays | None = None
        self.holder: list[Arrays | None] = [None]  # the arrays the helper thread serves on
        self.thread: threading.Thread | None = None
        self.late = False  # the helper once missed FINISH_SPINS: this thread computes alone from then on
        self._sites: dict[str, _Site] = {}
        self._finalizer: Any = None

    def bind(self, arrays: Arrays) -> None:
        """Give the helper these arrays, unless it already works on exactly them: a running helper takes
        them between two commands (REBIND), else a new helper thread starts on them."""
        if self.arrays is not None and all(map(operator.is_, arrays, self.arrays)):
            return
        if self.thread is not None and self.thread.is_alive():
            self.arrays = self.holder[0] = arrays
            if self.late:
                return  # it gets no more commands
            set_mode(self.ctl, SPIN)
            self.wake.set()  # a sleeping helper serves on holder[0] when it wakes (an Event remembers a set())
            post(self.ctl, REBIND, 0, 0, 0, 0, 0)
            self.finish(REBIND)  # the helper has left the loop on the old arrays (or is late: no more commands)
            return
        self.close()
        self.arrays = self.holder[0] = arrays
        self.napping[0] = self.late = False
        self.ctl[:] = 0  # no thread reads it yet
        self.thread = threading.Thread(target=_serve, args=(self.ctl, self.wake, self.napping, self.holder),
                                       name="deltaprop-fast", daemon=True)
        self.thread.start()
        self._finalizer = weakref.finalize(self, _stop, self.ctl, self.wake, self.thread)

    def run(self, site: str, mine: Any, cmd: int, start: int, middle: int, end: int, flag: int, rows: int,
            layer: int = 1) -> None:
        """mine(start, middle) here and ``cmd`` on middle..end (with flag, rows, layer) in the helper; or
        mine(start, end) here alone."""
        ctl = self.ctl
        s = self._sites.get(site) or self._sites.setdefault(site, _Site())
        s.calls += 1
        share = s.choose() and not self.late
        begin = time.perf_counter()
        if not share:
            mine(start, end)
            s.record(s.alone, time.perf_counter() - begin)
            if self.late or not any(t.prefers for t in self._sites.values()):
                set_mode(ctl, NAP)  # no site shares: the helper may sleep
            return
        napping = self.napping[0]
        if get_mode(ctl) == NAP:  # wake it (an Event remembers a set() that came too early)
            set_mode(ctl, SPIN)
            self.wake.set()
        post(ctl, cmd, middle, end, flag, rows, layer)
        mine(start, middle)
        if take_back(ctl, cmd):  # the helper has not started (or fell asleep first): do its half here
            mine(middle, end)
        else:
            self.finish()
        if not napping:  # a sleeping helper's first job measures its waking, not the sharing
            s.record(s.shared, time.perf_counter() - begin)

    def start(self, cmd: int, rows: int) -> bool:
        """Post a command to a helper that is awake (not napping), without waiting; False otherwise."""
        if self.thread is None or self.late or self.napping[0] or get_mode(self.ctl) == NAP:
            return False
        post(self.ctl, cmd, 0, 0, 0, rows, 1)
        return True

    def take_back(self, cmd: int) -> bool:
        """Withdraw a started command the helper has not claimed yet (True: do it yourself)."""
        return bool(take_back(self.ctl, cmd))

    def finish(self, unclaimed: int = NONE) -> bool:
        """Wait until the helper has done its command: True. Past about FINISH_SPINS spins the helper is late
        (held up by another process, say): it gets no more commands, this thread computes alone from then on,
        and the debug log says so; a command it has claimed is still waited for (its results are needed),
        while ``unclaimed`` (a command it has not started) is not: False then."""
        if wait(self.ctl, FINISH_SPINS):
            return True
        if not self.late:
            LOG.debug("deltaprop's helper thread did not finish a command within %d spins; the main thread "
                      "computes alone from now on", FINISH_SPINS)
        self.late = True
        set_mode(self.ctl, NAP)
        while not wait(self.ctl, YIELD_EVERY):
            if unclaimed != NONE and take_back(self.ctl, unclaimed):
                return False
            if self.thread is None or not self.thread.is_alive():
                raise RuntimeError("deltaprop's helper thread stopped before it finished its work")
            time.sleep(1e-4)  # the helper is running: let it have the core
        return True

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self.arrays, self.thread = None, None


def _serve(ctl: np.ndarray, wake: threading.Event, napping: list[bool], holder: list[Arrays | None]) -> None:
    """The helper thread: serve commands on holder[0]; sleep when told to nap or idle, until woken; serve on
    the arrays now in holder[0] when told to rebind; end on EXIT."""
    while True:
        done = serve(ctl, holder[0])
        if done == EXIT:
            return
        if done == NAP:
            napping[0] = True
            wake.wait()
            wake.clear()
            napping[0] = False


def _stop(ctl: np.ndarray, wake: threading.Event, thread: threading.Thread) -> None:
    post(ctl, EXIT, 0, 0, 0, 0, 0)
    wake.set()
    thread.join(timeout=5)


class _Site:
    """The recent times of one call site, alone and shared, the way they favour (sharing, to start
    with: the helper runs because there is a second core), and when to try the other way again:
    after EXPLORE calls, then twice as many each time it loses (at most MAX_INTERVAL), so that a
    busy machine pays for few tries. (Alternating from the first call instead cost a 10,000-row
    epoch about 5 %: each call alone is as slow as two shared ones.) The mean of the last KEEP calls
    without the slowest one: a helper held up by another process now and then costs
    milliseconds, and such calls count when they recur, not when they happen once."""

    EXPLORE, MAX_INTERVAL, KEEP = 32, 256, 8
    __slots__ = ("alone", "calls", "interval", "next_try", "prefers", "shared")

    def __init__(self) -> None:
        self.alone: deque[float] = deque(maxlen=self.KEEP)
        self.shared: deque[float] = deque(maxlen=self.KEEP)
        self.calls = 0
        self.prefers = True  # sharing is faster
        self.interval = self.next_try = self.EXPLORE

    def choose(self) -> bool:
        """Share this call? The faster way, but the other one for two calls at each try."""
        if self.calls < self.next_try:
            return self.prefers
        if self.calls == self.next_try + 1:  # the second call of this try: schedule the next one
            self.next_try, self.interval = self.calls + self.interval, min(2 * self.interval, self.MAX_INTERVAL)
        return not self.prefers

    def record(self, times: deque[float], seconds: float) -> None:
        if self.calls <= 2:  # the first call each way warms caches (and may compile): not a measure
            return
        times.append(seconds)
        if len(self.alone) >= 2 and len(self.shared) >= 2:
            prefers = _trimmed_mean(self.shared) < _trimmed_mean(self.alone)
            if prefers != self.prefers:
                self.interval = self.EXPLORE  # the machine changed: look again soon
            self.prefers = prefers


def _trimmed_mean(times: deque[float]) -> float:
    """The mean of the times without the largest one."""
    return (sum(times) - max(times)) / (len(times) - 1)
