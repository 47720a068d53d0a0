"""Private: per-row statistics of image matrices for :mod:`core.distances` -- exact squared norms,
absolute sums, the rounded mean image and squared distances to it -- and the centred float32 operand.

``uint8`` rows are summed in integer arithmetic, so every statistic is exact.
"""
from __future__ import annotations

import numpy as np

_M32 = np.uint64(0xFFFFFFFF)


def _row_sq_norms(X: np.ndarray) -> np.ndarray:
    """Exact squared norms, float64. For uint8, squares (<= 65025) go in uint32 lanes and
    two lanes share one uint64 word, so a single integer sum adds both without overflow."""
    out = np.empty(X.shape[0], dtype=np.float64)
    step = max(1, 2**20 // max(1, X.shape[1]))
    for i in range(0, X.shape[0], step):
        x = X[i:i + step]
        if x.dtype.kind in "ub" and x.shape[1] % 2 == 0:
            sq = x.astype(np.uint32)
            sq *= sq
            s = sq.view(np.uint64).sum(axis=1)
            out[i:i + step] = (s & _M32) + (s >> np.uint64(32))
        else:
            x = x.astype(np.float64)
            out[i:i + step] = np.einsum("ij,ij->i", x, x)
    return out


def mean_image(X: np.ndarray) -> np.ndarray:
    """The rows' mean rounded to integers, (D,) float32 -- the centre of the L2 expansion of
    :class:`core.distances.TrainSet` for ``uint8`` images."""
    total = np.zeros(X.shape[1], dtype=np.int64)
    step = max(1, 2**22 // max(1, X.shape[1]))          # uint32 partial sums cannot overflow
    for i in range(0, X.shape[0], step):
        total += X[i:i + step].sum(axis=0, dtype=np.uint32)
    return np.round(total / max(1, X.shape[0])).astype(np.float32)


def _check_center(center, d: int) -> np.ndarray:
    c = np.asarray(center, dtype=np.float32)
    if c.shape != (d,) or not np.array_equal(c, np.clip(np.round(c), 0, 255)):
        raise ValueError(f"center must be {d} integers in 0..255 (got shape {c.shape})")
    return c


def _row_sq_dists(X: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Exact ``||x - c||^2`` (float64) of each row for a centre ``c`` of integers 0..255: for
    ``uint8`` rows ``|x - c|`` is itself uint8, whose squared norms :func:`_row_sq_norms` sums
    exactly; float64 otherwise."""
    out = np.empty(X.shape[0], dtype=np.float64)
    step = max(1, 2**20 // max(1, X.shape[1]))
    c8 = c.astype(np.uint8)
    for i in range(0, X.shape[0], step):
        x = X[i:i + step]
        if X.dtype == np.uint8:
            diff = np.maximum(x, c8)
            diff -= np.minimum(x, c8)
            out[i:i + step] = _row_sq_norms(diff)
        else:
            diff = x.astype(np.float64) - c
            out[i:i + step] = np.einsum("ij,ij->i", diff, diff)
    return out


def _as_key_operand(X: np.ndarray, c: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    """``X - c`` (or ``X``) into the float32 buffer ``out``: exact integers for ``uint8``."""
    if c is None:
        np.copyto(out, X, casting="unsafe")
    else:
        np.subtract(X, c, out=out, casting="unsafe")
    return out


def _row_abs_sums(X: np.ndarray) -> np.ndarray:
    if X.dtype.kind in "ub":
        return X.sum(axis=1, dtype=np.int64).astype(np.float64)
    return np.abs(X).sum(axis=1, dtype=np.float64)
