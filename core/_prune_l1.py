"""Private: exact L1 nearest neighbours of ``uint8`` images with a pooled lower bound.

:meth:`core.knn.KNearestNeighbor.kneighbors` uses this for blocks of many queries against a large
training set of ``uint8`` pixels and a small k. The answer is the same as the full search (the exact
k nearest, ties to the lower training index); only the work is smaller.

Why it is exact
---------------
Cut the D features into G groups of :data:`POOL` consecutive ones (the last padded with zeros) and
let ``S_g`` be a group's sum and ``q_g = S_g // 4`` (0..255, so ``q`` is again ``uint8`` pixels).
Within a group ``sum |a_i - b_i| >= |S_a - S_b|`` (triangle inequality), and ``S = 4 q + r`` with
``0 <= r <= 3`` gives ``|S_a - S_b| >= 4 |q_a - q_b| - 3``. Summed over the groups::

    ||a - b||_1 >= 4 ||q_a - q_b||_1 - 3 G = LB

``||q_a - q_b||_1`` is an L1 distance over D / 4 ``uint8`` features: the same exact integer kernel
(:func:`core._l1.l1_keys`) at a third of the cost. Neighbouring features of an image (the
colours of a pixel, the next pixel) mostly differ from another image's in the same direction, so the
bound is tight: on CIFAR-10 it is 94 % of the distance on average. Then, per query:

1. the ``k0 >= k`` training images with the smallest bounds get their exact distance; the k-th
   smallest of those is an upper bound ``U`` on the k-th nearest distance;
2. every training image with ``LB <= U`` is measured exactly -- any other is farther than ``U``;
3. the k smallest exact distances win, ties to the lower index.

All of it is integer arithmetic (float32 holds the pooled distances exactly), so nothing is pruned
by rounding. Queries whose bound leaves too many candidates (noise images) are answered by the full
search instead (:data:`FALLBACK_FRACTION`).
"""
from __future__ import annotations

import numpy as np

from core import _topk
from core._prune import _seeds, drop_heavy, k_nearest, query_runs
from core.distances import TrainSet

__all__ = ["POOL", "pool", "worth_it", "exact_l1", "search_block", "search_keys", "FALLBACK_FRACTION"]

POOL = 4                     # consecutive features summed into one pooled feature
FALLBACK_FRACTION = 1 / 8    # a query whose candidates exceed this share of M goes the full way
K_LIMIT_DIVISOR = 100        # the shortcut is used for k <= M / this (and any k <= 10), see worth_it


def worth_it(n_queries: int, m: int, d: int, k: int) -> bool:
    """Whether the pooled bound pays for itself: many queries, a large training set, enough features
    to pool, and k small against M (each candidate costs ~3 pooled distances). Measured against
    ``algorithm="brute"`` on CIFAR-10 (500 queries): M = 10000, k = 10 / 20 / 50 / 100: 0.43 / 0.45 /
    0.51 / 0.63 of the time; M = 50000 (flipped and shifted copies), k = 10 / 50 / 100: 0.30 / 0.34 /
    0.44."""
    return n_queries >= 64 and m >= 4096 and d >= 64 and k <= max(10, m // K_LIMIT_DIVISOR)


def pool(X: np.ndarray) -> np.ndarray:
    """``uint8`` rows (N, D) -> (N, ceil(D / 4)) ``uint8``: each group of 4 consecutive features'
    sum, divided by 4 and rounded down (the last group padded with zeros)."""
    n, d = X.shape
    g = -(-d // POOL)
    out = np.empty((n, g), dtype=np.uint8)
    step = max(1, 2**20 // max(1, d))
    buf = np.zeros((min(n, step), g * POOL), dtype=np.uint16)
    for i in range(0, n, step):
        j = min(n, i + step)
        b = buf[:j - i]
        b[:, :d] = X[i:j]
        s = b.reshape(j - i, g, POOL).sum(axis=2, dtype=np.uint16)
        np.right_shift(s, POOL.bit_length() - 1, out=s)
        out[i:j] = s
    return out


def exact_l1(A: np.ndarray, a_sums: np.ndarray, X: np.ndarray, b_sums: np.ndarray,
             rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Exact ``||A[rows[i]] - X[cols[i]]||_1`` (float64) for ``uint8`` rows, ``rows`` non-decreasing:
    ``sum a + sum b - 2 sum min(a, b)`` with each query's training rows gathered once (~1 us a pair,
    against ~1.8 us for :func:`core.distances.paired_keys`). ``a_sums``/``b_sums``: the rows' sums."""
    out = np.empty(len(rows), dtype=np.float64)
    if not len(rows):
        return out
    for s, e in query_runs(rows):
        G = X[cols[s:e]]
        np.minimum(G, A[rows[s]], out=G)
        out[s:e] = G.sum(axis=1, dtype=np.uint32)      # <= 255 D: fits for D < 16.8 million
    return a_sums[rows] + b_sums[cols] - 2 * out


def search_block(Ab: np.ndarray, X: np.ndarray, b_sums: np.ndarray, pooled: TrainSet, V: np.ndarray,
                 k: int):
    """The exact k nearest (L1) of each query row of ``Ab`` (n, D) uint8 among ``X`` (M, D) uint8.

    ``b_sums`` are the rows' sums (float64); ``pooled`` is ``TrainSet(pool(X), "l1")``; ``V`` is an
    (n, padded M) float32 scratch buffer (see
    :func:`core._topk.padded_width`) whose padding columns hold +inf. Returns ``(dist, idx, heavy)``:
    float64 exact distances and int64 indices (n, k), and the rows (ascending) whose bound was too
    weak -- their entries are undefined and the caller must answer them another way.
    """
    pooled.keys(pool(Ab), V)                             # ||q_a - q_b||_1, exact integers
    return search_keys(Ab, X, b_sums, V, k, pooled.d)


def search_keys(Ab: np.ndarray, X: np.ndarray, b_sums: np.ndarray, V: np.ndarray, k: int, groups: int):
    """:func:`search_block` from the pooled distances already in ``V[:, :M]`` (``groups`` pooled
    features; :mod:`core._cv_blocks` makes them once per pair of folds). ``V`` is modified."""
    n, m = Ab.shape[0], X.shape[0]
    # 1. exact distances of the k0 smallest bounds -> an upper bound on the k-th distance
    k0 = min(m, _seeds(k))
    idx0, _, _ = _topk.smallest_k(V, m, k0)
    rows0 = np.repeat(np.arange(n), k0)
    a_sums = Ab.sum(axis=1, dtype=np.int64).astype(np.float64)
    d0 = exact_l1(Ab, a_sums, X, b_sums, rows0, idx0.ravel())
    upper = np.partition(d0.reshape(n, k0), k - 1, axis=1)[:, k - 1]
    limit = np.floor((upper + (POOL - 1) * groups) / POOL).astype(np.float32)   # LB <= U <=> V <= limit
    V[rows0, idx0.ravel()] = np.inf                      # measured already
    # 2. every other image whose bound is within reach
    hits = np.flatnonzero(V[:, :m] <= limit[:, None])
    r, c = np.divmod(hits, m)
    r, c, heavy = drop_heavy(r, c, n, max(4 * k0, int(FALLBACK_FRACTION * m)))
    # 3. their exact distances; the k smallest of each row (ties: lower index) win
    d = exact_l1(Ab, a_sums, X, b_sums, r, c)
    # exact L1 distances are integers <= 255 D <= 255^2 D: the packed keys of the L2 search fit
    out_d, out_i = k_nearest(rows0, idx0.ravel(), d0, r, c, d, heavy, k, n, m, X.shape[1])
    return out_d, out_i, heavy
