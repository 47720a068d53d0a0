"""Private: the exact L1 kernels behind :meth:`core.distances.TrainSet.keys` (``tr`` is that
:class:`~core.distances.TrainSet`: ``X``, ``d``, ``m``, ``integer`` and the rows' ``sums``).

``uint8`` rows: ``|a - b| = a + b - 2 min(a, b)``, the minima in 16-bit lanes summed four to a 64-bit
word, exact; other rows: float32 ``|a - b|`` tiles. Both split the training rows over two threads.
"""
from __future__ import annotations

import numpy as np

from core import _topk

L1_TILE = 32                    # training rows per L1 tile
L1_STEP = 4                     # test rows per L1 ufunc call at D = 3072 (tile stays in L2 cache)


def l1_keys(A: np.ndarray, tr, out: np.ndarray, stop, cancel) -> None:
    """Fill ``out[:, :tr.m]`` (float32) with the L1 distances of query rows ``A`` (n, D) to every
    training row, exact for ``uint8``."""
    if tr.integer and A.dtype == np.uint8:
        dp = tr.d + (-tr.d) % 4
        if dp // 4 > 256:
            dp = -(-tr.d // 1024) * 1024
        A16 = np.zeros((A.shape[0], dp), dtype=np.uint16)
        A16[:, :tr.d] = A
        a_sums = A.sum(axis=1, dtype=np.int64)
        work, args = _l1_u8_cols, (A16, a_sums)
    else:
        work, args = _l1_float_cols, (np.asarray(A, dtype=np.float32),)
    _topk.split_rows(work, args + (tr, out), tr.m, stop, cancel, L1_TILE)


_M16 = np.uint64(0x0000FFFF0000FFFF)
_M32 = np.uint64(0xFFFFFFFF)


def _l1_u8_cols(A16, a_sums, tr, out, lo: int, hi: int, stop) -> None:
    """Exact uint8 L1 for training rows ``lo:hi``: ``sum a + sum b - 2 sum min(a, b)``.

    ``min(a, b)`` is computed in uint16 lanes; viewed as uint64, each word holds four
    16-bit lanes, so summing up to 256 words cannot overflow a lane (256 * 255 < 2**16).
    """
    n, dp = A16.shape
    words = dp // 4
    per = min(words, 256)
    step = max(L1_STEP, L1_STEP * 3072 // dp)       # narrow rows: more per call, the same cache footprint
    B16 = np.zeros((L1_TILE, dp), dtype=np.uint16)
    tmp = np.empty((step, L1_TILE, dp), dtype=np.uint16)
    tmp64 = tmp.view(np.uint64).reshape(step, L1_TILE, words // per, per)
    S = np.empty((n, L1_TILE, words // per), dtype=np.uint64)
    b_sums = tr.sums.astype(np.int64)
    for j in range(lo, hi, L1_TILE):
        if stop.is_set():
            return
        m = min(hi, j + L1_TILE) - j
        B16[:m, :tr.d] = tr.X[j:j + m]
        for i in range(0, n, step):
            q = min(n, i + step) - i
            np.minimum(A16[i:i + q, None, :], B16[None, :m, :], out=tmp[:q, :m])
            np.add.reduce(tmp64[:q, :m], axis=3, out=S[i:i + q, :m])
        s = S[:, :m]
        s = (s & _M16) + ((s >> np.uint64(16)) & _M16)
        s = (s & _M32) + (s >> np.uint64(32))
        smin = s.sum(axis=2).astype(np.int64)
        out[:, j:j + m] = a_sums[:, None] + b_sums[j:j + m] - 2 * smin


def _l1_float_cols(A32, tr, out, lo: int, hi: int, stop) -> None:
    n, d = A32.shape
    step = 2
    Bt = np.empty((L1_TILE, d), dtype=np.float32)
    tmp = np.empty((step, L1_TILE, d), dtype=np.float32)
    for j in range(lo, hi, L1_TILE):
        if stop.is_set():
            return
        m = min(hi, j + L1_TILE) - j
        np.copyto(Bt[:m], tr.X[j:j + m], casting="unsafe")
        for i in range(0, n, step):
            q = min(n, i + step) - i
            t = tmp[:q, :m]
            np.subtract(A32[i:i + q, None, :], Bt[None, :m], out=t)
            np.abs(t, out=t)
            np.add.reduce(t, axis=2, out=out[i:i + q, j:j + m])
