"""Private: one minibatch's loss and gradient at the speed of the BLAS's small-matrix kernels, with the
next minibatch's rows gathered on the second core meanwhile.

Conventions: ``X`` is ``(N, D)`` float32, ``W`` is ``(C, D)``, ``b`` is ``(C,)``; scores are
``X @ W.T + b`` (``(B, C)``) and the data loss is the batch mean (see :mod:`core.losses`).

Why it is written this way (CIFAR-10, D = 3072, C = 10, batch 200; measured on the 2-core CI machine):

* **Small products.** A step is two thin products, ``(B, D) @ (D, C)`` forward and ``(C, B) @ (B, D)``
  backward. OpenBLAS runs a product with its small-matrix kernels while ``M * N * K <= 100**3`` (its
  ``gemm_small_kernel_permit``): ~75 GFLOP/s on one core here, against ~32 for the general, packed path
  that a whole batch takes. So the forward product is cut into pieces of a few rows and the backward one
  into pieces of a few columns (:func:`rows_times`, :func:`times_cols`). The pieces go to NumPy as one
  stacked (3-D) product, which NumPy loops over in C with the interpreter lock released.
* **One thread computes, the other gathers.** Gathering a batch's 200 random rows from a 614 MB array
  (``np.take``) is bound by memory bandwidth, ~290 us of a step. The batches of an epoch are known in
  advance, so while this thread computes batch t, the ``core._halves`` helper thread gathers batch t + 1
  into another buffer (:class:`BatchRows`). A step waits at most 0.3 ms for it: when the helper has not
  finished by then (it may get no core in time on a busy machine, or while the GUI repaints), this thread
  gathers the rows itself into a third buffer. When that happened in 2 of the last 4 steps, the rows are
  gathered here for a while without asking the helper: :data:`PAUSE_MIN_STEPS` steps at first, twice as
  many each time the helper is late again right after a pause (a busy machine: up to :data:`PAUSE_STEPS`),
  halved again for each gather it has ready in time. A GUI repaint takes the second core for a few
  milliseconds every 100 ms; with a fixed 200-step pause each such burst made the next ~200 steps gather
  their own rows (measured: 64 % of the steps while the app trained; 3-4 % now). Computing the batch in two
  halves on two threads instead was slower once the products got fast: with a dozen hand-overs of the
  interpreter lock per step, each one waking a sleeping thread (~60 us here), the two threads waited for
  each other. Here the helper is woken once per step, and the gather is shorter than the computation.
* **The same weights on one core and two.** Which thread gathers changes nothing in the arithmetic, so
  ``jobs=1`` and ``jobs=2`` give the same weights to the last bit; the pieces depend only on the shapes.
"""
from __future__ import annotations

import threading

import numpy as np

from core import _halves
from core.losses import data_loss

__all__ = ["SMALL_GEMM", "MIN_PIECE", "LATE_SECONDS", "PAUSE_MIN_STEPS", "PAUSE_STEPS", "rows_times",
           "times_cols", "scores", "accuracy", "batch_gradient", "BatchRows"]

SMALL_GEMM = 100 ** 3
"""The largest ``M * N * K`` that OpenBLAS multiplies with its small-matrix kernels."""

MIN_PIECE = 16
"""Pieces would be smaller than this (many classes, huge images): no cut, the calls would cost more than
the kernels save."""

LATE_SECONDS = 0.0003
"""How long a step waits for the helper's gather before gathering the rows itself (~the gather's time)."""

PAUSE_MIN_STEPS = 8
"""Steps to gather in this thread after the helper was late twice in four steps, the first time (then it
gets another chance; a short burst of other work on its core, such as a repaint, is over by then)."""

PAUSE_STEPS = 256
"""The longest such pause: each pause that is followed by the helper being late again doubles the next one
(a machine whose other core stays busy), up to this."""


def _piece(n: int, other: int) -> int:
    """How many of ``n`` rows (or columns) go into one small product whose other two sides multiply to
    ``other``; ``n`` (no cut) when it is small enough already or when pieces would be under MIN_PIECE."""
    size = SMALL_GEMM // max(1, other)
    return n if n <= size or size < MIN_PIECE else size


def rows_times(xs, Wt, out) -> None:
    """``out[:] = xs @ Wt`` for ``xs (h, D)``, ``Wt (D, C)`` and ``out (h, C)`` C-contiguous, as small
    products of a few rows each (the last piece may be shorter)."""
    h, dim = xs.shape
    r = _piece(h, dim * Wt.shape[1])
    if r == h:
        np.matmul(xs, Wt, out=out)
        return
    q = (h // r) * r
    np.matmul(xs[:q].reshape(-1, r, dim), Wt, out=out[:q].reshape(-1, r, out.shape[1]))
    if q < h:
        np.matmul(xs[q:], Wt, out=out[q:])


def times_cols(dsT, xs, out) -> None:
    """``out[:] = dsT @ xs`` for ``dsT (C, h)``, ``xs (h, D)`` and ``out (C, D)``, as small products of a
    few columns each (the last piece may be narrower)."""
    c, h = dsT.shape
    dim = xs.shape[1]
    w = _piece(dim, c * h)
    if w == dim:
        np.matmul(dsT, xs, out=out)
        return
    q = dim // w
    sx, so = xs.strides, out.strides
    stack_x = np.lib.stride_tricks.as_strided(xs, (q, h, w), (w * sx[1], sx[0], sx[1]), writeable=False)
    stack_o = np.lib.stride_tricks.as_strided(out, (q, c, w), (w * so[1], so[0], so[1]))
    np.matmul(dsT, stack_x, out=stack_o)
    if q * w < dim:
        np.matmul(dsT, xs[:, q * w:], out=out[:, q * w:])


def scores(X, W, b):
    """``X @ W.T + b`` as ``(N, C)`` in ``result_type(X, W)``, computed as :func:`rows_times` does (so
    every caller -- SGD, accuracies, predictions -- gets the same bits for the same rows)."""
    out = np.empty((X.shape[0], W.shape[0]), dtype=np.result_type(X.dtype, W.dtype))
    if X.shape[0]:
        rows_times(X, W.T, out)
    out += b
    return out


def accuracy(W, b, X, yi, jobs: int) -> float:
    """Fraction of the rows of ``X (N, D)`` whose highest score ``X @ W.T + b`` is at class index
    ``yi (N,)``, the rows cut in two parts (``core._halves.row_cut``), the first part on the helper thread
    when ``jobs >= 2``; 0.0 for no rows. Call it with BLAS limited to one thread (as SGD runs)."""
    n = X.shape[0]
    if n == 0:
        return 0.0
    correct = [0, 0]

    def part(lo: int, hi: int) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            s = scores(X[lo:hi], W, b)
        correct[0 if lo == 0 else 1] = int(np.count_nonzero(s.argmax(axis=1) == yi[lo:hi]))

    _halves.halves(part, _halves.row_cut(n), n, jobs)
    return (correct[0] + correct[1]) / n


def batch_gradient(W, b, xs, yb, loss: str, delta: float, grad):
    """Data loss, accuracy and gradient of one minibatch.

    Parameters
    ----------
    W : (C, D) float32;  b : (C,) float32;  xs : (B, D) float32 -- the batch's rows
    yb : (B,) int64 class indices (already checked);  grad : (C, D) float32, receives dW

    Returns ``(data_loss, accuracy, dW (C, D) = grad, db (C,))``; the data loss is the batch mean.
    """
    n = xs.shape[0]
    s = scores(xs, W, b)
    data, ds = data_loss(loss, s, yb, delta, checked=True, n=n)
    times_cols(ds.T, xs, grad)
    return data, float(np.count_nonzero(s.argmax(axis=1) == yb)) / n, grad, ds.sum(axis=0)


class BatchRows:
    """The rows ``X[idx]`` of one model's minibatches, in one of three ``(rows, D)`` buffers.

    :meth:`gather` returns a batch's rows: the ones the helper gathered ahead when it has finished them,
    else gathered now (into a buffer the helper is not writing). :meth:`prefetch` starts gathering the
    next batch's rows on the helper thread. Nobody waits for a late helper during a run of steps;
    :meth:`finish` (always, e.g. in a ``finally``, after the last step) waits for it and frees it.
    """

    def __init__(self, rows: int, dim: int, dtype=np.float32):
        self._bufs = tuple(np.empty((rows, dim), dtype=dtype) for _ in range(3))
        self._cur = 0                   # the buffer holding the batch being computed
        self._ready = None              # (X, idx, buffer): rows gathered ahead
        self._pending = None            # the same, while the helper gathers them (its end not collected)
        self._late = []                 # whether each of the last prefetches was still running when needed
        self._pause = 0                 # prefetches still to refuse after the helper was late
        self._pause_len = PAUSE_MIN_STEPS   # the next pause's length (doubles while late, halves when on time)

    @property
    def shape(self):
        return self._bufs[0].shape

    def _collect(self, wait) -> None:
        """Take the helper's gather as ready if it ends within ``wait`` seconds (None: wait for it).
        Raises its error."""
        if self._pending is None:
            return
        helper = _halves._get_helper()
        if wait is not None and not helper.finished(wait):
            return
        pending, self._pending = self._pending, None
        helper.wait()
        self._ready = pending

    def gather(self, X, idx):
        """``X[idx]`` as a ``(len(idx), D)`` view of a buffer (valid until the next gather)."""
        self._collect(LATE_SECONDS)
        ready, self._ready = self._ready, None
        pending = self._pending
        if pending is not None and pending[0] is X and np.array_equal(pending[1], idx):
            self._note_late(True)                       # still gathering this very batch
        elif ready is not None and ready[0] is X and np.array_equal(ready[1], idx):
            self._note_late(False)
            self._cur = ready[2]
            return self._bufs[self._cur][:len(idx)]
        if pending is not None and pending[2] == self._cur:
            self._cur = (self._cur + 1) % 3
        out = self._bufs[self._cur][:len(idx)]
        np.take(X, idx, axis=0, out=out, mode="clip")
        return out

    def _note_late(self, late: bool) -> None:
        if not late:
            self._pause_len = max(PAUSE_MIN_STEPS, self._pause_len // 2)
        self._late = self._late[-3:] + [late]
        if sum(self._late) >= 2:
            self._late, self._pause = [], min(self._pause_len, PAUSE_STEPS)
            self._pause_len = min(2 * self._pause_len, PAUSE_STEPS)

    def prefetch(self, X, idx) -> bool:
        """Start gathering ``X[idx]`` on the helper thread into a buffer not in use. False (nothing
        started) on one core, on the helper thread itself, inside another split, when the helper is busy
        (with a late gather, or another caller's work), or for a while after it was late."""
        if _halves.WORKERS < 2 or getattr(_halves._nested, "on", False) or self._pending is not None:
            return False
        if self._pause > 0:
            self._pause -= 1
            return False
        helper = _halves._get_helper()
        if threading.current_thread() is helper.thread:
            return False
        other = (self._cur + 1) % 3
        idx = np.array(idx, copy=True)
        out = self._bufs[other][:len(idx)]

        def job(lo: int, hi: int) -> None:
            np.take(X, idx, axis=0, out=out, mode="clip")

        if not helper.start(job, 0, 0, blocking=False):
            return False
        self._pending = (X, idx, other)
        return True

    def settle(self) -> None:
        """Between steps: take the helper's gather if it has ended, without waiting."""
        self._collect(0.0)

    def finish(self) -> None:
        """After the last step of a run: wait for the helper's gather (if any), which frees the helper
        for other work; its error, if any, is raised here. Rows gathered ahead are forgotten: the next
        run of steps starts by gathering its own."""
        try:
            self._collect(None)
        finally:
            self._ready = None
