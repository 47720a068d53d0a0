"""Private: the second core -- one helper thread, and work cut into two row parts that run on it and here.

One BLAS thread per product is the robust choice (waiting OpenBLAS threads made SGD 4-6x slower on a busy
machine), so the second core is used by a helper thread of our own instead:

* :func:`halves` runs ``fn(0, cut)`` on the helper and ``fn(cut, n)`` here (accuracy over many rows,
  ``core._sgd_kernel.accuracy``; compare mode's two models, :mod:`core._segments`);
* SGD gathers the next minibatch's rows on it while this thread computes (:mod:`core._sgd_kernel`).

The cut depends only on the number of rows, never on the number of threads, and each part is the same
sequence of calls either way -- so one thread (``jobs=1``: the parts one after the other) and two threads
give bit-for-bit the same numbers.
"""
from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

__all__ = ["WORKERS", "row_cut", "halves", "limit_blas_threads"]

WORKERS = max(1, min(2, os.cpu_count() or 1))


class _Helper:
    """One helper thread that runs one job at a time, handed over through two locks.

    Leaner than a ``ThreadPoolExecutor`` (no future, queue or work item per job): the hand-over holds
    the interpreter lock for a few microseconds, which matters when the GUI thread wants it too. A daemon
    thread, idle (blocked on a lock) between jobs, so it never keeps the process alive."""

    def __init__(self) -> None:
        self._go = threading.Lock()
        self._done = threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._job = None
        self._error: BaseException | None = None
        self._busy = threading.Lock()               # one job at a time, whichever thread asks
        self._outstanding = False                   # a job started whose end nobody has collected
        self.thread = threading.Thread(target=self._loop, name="lcl-sgd", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            self._go.acquire()
            err, fn, lo, hi = self._job
            try:
                with np.errstate(**err):             # the caller's floating-point settings (per thread)
                    fn(lo, hi)
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                self._error = exc
            self._done.release()

    def start(self, fn, lo: int, hi: int, blocking: bool = True) -> bool:
        """Hand ``fn(lo, hi)`` to the helper; ``blocking=False`` returns False at once when another caller
        has it. Every start that returned True must be followed by :meth:`wait`."""
        if not self._busy.acquire(blocking):
            return False
        if self._outstanding:        # the last caller was interrupted (Ctrl-C) while waiting: let that job end
            self._done.acquire()
        self._job = (np.geterr(), fn, lo, hi)
        self._error = None
        self._outstanding = True
        self._go.release()
        return True

    def finished(self, timeout: float = 0.0) -> bool:
        """Whether the job handed over last has ended, waiting up to ``timeout`` seconds for it (only its
        starter may ask; :meth:`wait` still has to collect it)."""
        if self._done.acquire(timeout > 0, timeout if timeout > 0 else -1):
            self._done.release()
            return True
        return False

    def wait(self) -> None:
        """Wait for the job; always frees the helper for the next caller, even when a KeyboardInterrupt
        (a notebook's "interrupt") arrives while waiting -- then the next :meth:`start` waits instead."""
        try:
            self._done.acquire()
            self._outstanding = False
            err, self._error, self._job = self._error, None, None
        finally:
            self._busy.release()
        if err is not None:
            raise err


_controller = []  # lazily created threadpoolctl controller (finding the BLAS libraries once costs ~1 ms)


def limit_blas_threads(n=1):
    """Context manager limiting BLAS to ``n`` threads while SGD runs (a no-op without threadpoolctl).

    On a busy 2-core machine waiting (spinning) OpenBLAS threads made SGD 4-6x slower; the second core is
    used by running the two parts of each minibatch on two threads instead (this module)."""
    try:
        if not _controller:
            from threadpoolctl import ThreadpoolController
            _controller.append(ThreadpoolController())
        return _controller[0].limit(limits=n, user_api="blas")
    except Exception:  # noqa: BLE001 - threadpoolctl missing or failing: run with the default threads
        return contextlib.nullcontext()


_helper: _Helper | None = None
_lock = threading.Lock()
_nested = threading.local()         # .on: this thread is running its half of a split


def _forget_helper() -> None:
    """In a forked child the helper thread does not exist (only the forking thread is copied): start anew."""
    global _helper, _lock
    _helper = None
    _lock = threading.Lock()
    _nested.on = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helper)


def _get_helper() -> _Helper:
    global _helper
    with _lock:
        if _helper is None:
            _helper = _Helper()
        return _helper


def row_cut(n: int) -> int:
    """Where ``n`` rows are cut (``n``: not at all, for tiny jobs). The helper thread takes the first 40 %:
    it starts ~60 us late (waking a thread); when SGD ran its minibatches in two parts, a 40/60 cut gave
    287 k examples/s on a CIFAR-10 epoch against 262 k for 45/55 and 203 k for 50/50."""
    return 2 * n // 5 if n >= 32 else n


def halves(fn, cut: int, n: int, jobs: int) -> None:
    """``fn(0, cut)`` and ``fn(cut, n)``: the first on the helper thread when ``jobs >= 2``, else both
    here, one after the other. An empty half is skipped. Exceptions propagate."""
    if cut <= 0 or cut >= n:
        fn(0, n)
        return
    if jobs < 2 or WORKERS < 2:
        fn(0, cut)
        fn(cut, n)
        return
    helper = _get_helper()
    if threading.current_thread() is helper.thread or getattr(_nested, "on", False):
        fn(0, cut)                                       # inside a split already: the helper is taken
        fn(cut, n)
        return
    helper.start(fn, 0, cut)
    _nested.on = True
    try:
        fn(cut, n)
    finally:
        _nested.on = False
        helper.wait()
