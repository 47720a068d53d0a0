"""Private helpers for the kNN code: fast k-smallest selection per row, and 2-thread work.

Nothing here is part of the public API; :mod:`core.distances` and :mod:`core.knn` use it.

Selection trick (``smallest_k``)
--------------------------------
``np.argpartition`` on a whole ``(n, M)`` block costs about as much as a quarter of the
matrix product that produced the block. We instead split each row into groups of
``GROUP`` columns and take each group's minimum (one fast vectorised pass). The ``k + 1``
smallest values of a row always lie inside the ``k + 1`` groups with the smallest
minima, so only those ``(k + 1) * GROUP`` values need a real partition.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from core.progress import check_cancel

__all__ = ["GROUP", "padded_width", "smallest_k", "executor", "split_rows", "N_WORKERS"]

GROUP = 64
N_WORKERS = max(1, min(2, os.cpu_count() or 1))

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The shared pool of ``N_WORKERS`` threads (created on first use, never at import)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=N_WORKERS, thread_name_prefix="lcl-knn")
        return _executor


def split_rows(work, args: tuple, m: int, stop: threading.Event | None, cancel, align: int) -> None:
    """Run ``work(*args, lo, hi, stop)`` on the worker threads, each owning a range
    ``lo:hi`` of ``m`` training rows (cut at multiples of ``align``).

    The calling thread polls ``cancel`` every 50 ms; when it fires, ``stop`` is set (the
    workers check it between tiles) and :class:`~core.progress.Cancelled` is raised once
    they have stopped. A worker's exception is re-raised here.
    """
    n_workers = N_WORKERS if m >= 2 * align else 1
    bounds = [m * w // n_workers for w in range(n_workers + 1)]
    bounds = [b - b % align if 0 < b < m else b for b in bounds]
    stop = stop if stop is not None else threading.Event()
    check_cancel(cancel)
    if n_workers == 1:
        work(*args, 0, m, stop)
        return
    futures = [executor().submit(work, *args, lo, hi, stop) for lo, hi in zip(bounds[:-1], bounds[1:])]
    try:
        while True:
            done, pending = wait(futures, timeout=0.05)
            for f in done:
                f.result()
            if not pending:
                break
            if cancel is not None and cancel():
                stop.set()
                wait(futures)
                check_cancel(cancel)
    finally:
        if any(not f.done() for f in futures):
            stop.set()
            wait(futures)


def padded_width(m: int) -> int:
    """Row width of a key buffer for ``m`` columns: a multiple of ``GROUP``."""
    return -(-m // GROUP) * GROUP


def smallest_k(V: np.ndarray, m: int, k: int, group_mins: np.ndarray | None = None):
    """The ``k`` smallest entries of each row of ``V[:, :m]``, plus the next value.

    Parameters
    ----------
    V : (n, Mp) float32, C-contiguous, ``Mp = padded_width(m)``; the padding columns
        ``m .. Mp-1`` must hold ``+inf``.
    m : number of real columns.
    k : 1 <= k <= m.

    Returns
    -------
    idx : (n, k) int64 column indices, sorted by (value, index).
    vals : (n, k) float32 values ``V[r, idx[r]]``, ascending.
    nxt : (n,) float32, the (k+1)-th smallest value of the row (``+inf`` when ``k == m``).
        Any column not in ``idx`` holds a value ``>= nxt``.

    ``group_mins`` may pass ``V.reshape(n, GROUP, -1).min(axis=1)`` when the caller has it already.
    A large k gets smaller groups (down to 8 columns, so that there are at least 4 (k + 1) groups):
    k = 100 among 8000 columns then partitions 1616 values per row instead of all 8000.
    """
    n, mp = V.shape
    kk = min(k + 1, m)
    size = GROUP
    while size > 8 and mp // size < 4 * kk:
        size //= 2                                   # mp is a multiple of GROUP, so of size too
    groups = mp // size
    if groups > 2 * kk and m > 4 * size:
        if group_mins is None or size != GROUP:
            group_mins = V.reshape(n, size, groups).min(axis=1)
        gsel = np.argpartition(group_mins, kk - 1, axis=1)[:, :kk]
        cols = (gsel[:, :, None] + groups * np.arange(size)).reshape(n, kk * size)
        cand = np.take_along_axis(V, cols, axis=1)
    else:
        cols = None
        cand = V[:, :m]
    if cand.shape[1] > kk:
        part = np.argpartition(cand, kk - 1, axis=1)[:, :kk]
    else:
        part = np.broadcast_to(np.arange(cand.shape[1]), (n, cand.shape[1]))
    vals = np.take_along_axis(cand, part, axis=1)
    idx = part if cols is None else np.take_along_axis(cols, part, axis=1)
    order = np.lexsort((idx, vals), axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    idx = np.take_along_axis(idx, order, axis=1).astype(np.int64, copy=False)
    if kk > k:
        nxt = vals[:, k].copy()
    else:
        nxt = np.full(n, np.inf, dtype=np.float32)
    return idx[:, :k], vals[:, :k], nxt
