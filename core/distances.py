"""Distances between images: L1 (Manhattan) and L2 (Euclidean), computed block by block.

Conventions: ``A`` is ``(N, D)`` and ``B`` is ``(M, D)``, both ``uint8`` pixels or floats
(images ``(N, H, W, C)`` are flattened first, see :func:`core.preprocess.to_features`); the
result is ``(N, M)`` ``float32`` with ``out[i, j] = d(A[i], B[j])``.

* **L1** ``d1(a, b) = sum_i |a_i - b_i|`` -- the lecture's worked example has
  ``d1 = 456``. For ``uint8`` inputs we use ``|a - b| = a + b - 2 min(a, b)``, so the work
  is one ``np.minimum`` and one integer sum per tile; the result is exact. Two worker
  threads share the training rows (NumPy releases the GIL inside ufuncs).
* **L2** ``d2(a, b) = sqrt(sum_i (a_i - b_i)^2)`` via the "no loops" expansion
  ``||a||^2 + ||b||^2 - 2 a.b``: one float32 matrix product per block (for a handful of
  queries, NumPy products on cache-sized chunks in two threads instead). Rounding can make
  the expansion slightly negative, so it is clipped to 0 before the square root, and
  entries close to 0 (near-duplicates, where the expansion loses precision) are recomputed
  directly, so identical images are at distance exactly 0. For ``uint8`` training images the
  expansion is taken around ``c``, the training set's mean image rounded to integers:
  ``||a - c||^2 + ||b - c||^2 - 2 (a - c).(b - c)`` is the same distance, its operands are
  still exact small integers in float32, and their norms are about half as large (CIFAR-10:
  3,400 against 7,400), so the product's rounding error -- which decides how many ranked
  neighbours must be re-measured exactly (:func:`core.knn._select`) -- is about 4x smaller.
  Not for a handful of query rows: there subtracting ``c`` from every training pixel would cost
  half as much again as the product, and little is re-measured anyway (:meth:`TrainSet.centres`).

Memory stays bounded: rows of ``A`` are processed in blocks whose ``(rows, M)`` buffer is
at most ``BLOCK_BYTES``; ``uint8`` training rows are converted to float32 a chunk at a time
(never a float copy of the whole training set). :func:`iter_distance_blocks` yields the
blocks without ever building the full ``(N, M)`` matrix.
"""
from __future__ import annotations

import math
import threading
from typing import NamedTuple

import numpy as np

from core import _topk
from core._l1 import L1_STEP, l1_keys
from core._rowstats import (_as_key_operand, _check_center, _row_abs_sums, _row_sq_dists,
                             _row_sq_norms, mean_image)
from core.progress import check_cancel, report
from core.validation import check_array, check_choice

__all__ = ["METRICS", "BLOCK_BYTES", "REPAIR_FACTOR", "pairwise_distances", "iter_distance_blocks",
           "paired_distances", "paired_keys", "distance", "TrainSet", "Expansion", "block_rows",
           "mean_image", "query_operand"]

METRICS = ("l2", "l1")
BLOCK_BYTES = 256 * 2**20       # budget of one (rows, M) float32 block (rows <= 1024)
_CHUNK_BYTES = 24 * 2**20       # training rows converted to float32 at a time (L2): few big
_CHUNK_BYTES_FEW = 3 * 2**20    # GEMM calls; but for < 64 queries, chunks that stay in cache
_FEW_ROWS = 8                   # up to this many queries: no BLAS (see _l2_few_cols)
_FEW_CHUNK = 256                # training rows per step on that path
_EPS32 = float(np.finfo(np.float32).eps) / 2
REPAIR_FACTOR = 32.0            # recompute L2 entries with d^2 below this * tolerance


def distance(a, b, metric: str = "l2") -> float:
    """Distance between two single images or vectors (any equal shapes), exact in float64."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape (got {a.shape} and {b.shape})")
    return float(paired_distances(a.reshape(1, -1), b.reshape(1, -1), metric)[0])


def paired_distances(A, B, metric: str = "l2") -> np.ndarray:
    """Row-by-row distances ``d(A[i], B[i])`` computed directly (no expansion), float64.

    Exact for ``uint8`` pixels. Used for the worked examples and to double-check the
    fast path. ``A`` and ``B`` are ``(P, D)``; returns ``(P,)`` float64.
    """
    check_choice(metric, "metric", METRICS)
    A = check_array(A, "A")
    B = check_array(B, "B")
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape (got {A.shape} and {B.shape})")
    rows = np.arange(A.shape[0])
    out = paired_keys(A, rows, B, rows, metric)
    return np.sqrt(out) if metric == "l2" else out


def paired_keys(A, ai, B, bi, metric: str) -> np.ndarray:
    """Direct ``d(A[ai[p]], B[bi[p]])`` for each pair p: squared for L2, float64.

    Works a few rows at a time (gathering per chunk), so memory stays small; ``uint8``
    pairs use exact integer arithmetic ((a-b)^2 <= 65025 fits uint16 lanes).
    """
    p, d = len(ai), A.shape[1]
    out = np.empty(p, dtype=np.float64)
    step = max(1, 2**17 // max(1, d))
    integer = A.dtype == np.uint8 and B.dtype == np.uint8
    for i in range(0, p, step):
        a = A[ai[i:i + step]]
        b = B[bi[i:i + step]]
        if integer and metric == "l1":
            diff = np.maximum(a, b)
            diff -= np.minimum(a, b)
            out[i:i + step] = diff.sum(axis=1, dtype=np.uint64)
        elif integer:
            diff = a.astype(np.int16)
            diff -= b
            np.abs(diff, out=diff)
            sq = diff.view(np.uint16)
            sq *= sq
            out[i:i + step] = sq.sum(axis=1, dtype=np.uint64)
        else:
            diff = a.astype(np.float64) - b
            if metric == "l1":
                out[i:i + step] = np.abs(diff).sum(axis=1)
            else:
                out[i:i + step] = np.einsum("ij,ij->i", diff, diff)
    return out


class Expansion(NamedTuple):
    """One way of writing L2 keys, ``||b - c||^2 - 2 (a - c).(b - c)``: ``center`` (D,) float32
    integers, or None for ``c = 0``; ``sq32`` (M,) float32 ``||b - c||^2``; ``norms`` (M,) float64
    ``||b - c||``; ``max_norm`` the largest."""
    center: np.ndarray | None
    sq32: np.ndarray
    norms: np.ndarray
    max_norm: float


class TrainSet:
    """The right-hand operand ``B`` prepared once: norms, sums and error scales.

    :class:`core.knn.KNearestNeighbor` builds one in ``fit`` so the squared norms of the
    training images are computed once, not per query.

    Attributes: ``X`` (M, D); L2: ``sq_norms`` (M,) float64 exact ``||b||^2``; L1: ``sums`` (M,)
    and ``max_sum``. ``centrable``: ``uint8`` L2, whose keys for more than a handful of query rows
    are written around the rounded mean image (:meth:`centres`, :meth:`expansion`; see the module doc).
    """

    def __init__(self, B, metric: str = "l2", name: str = "B", *, center: np.ndarray | None = None):
        """``center``: the (D,) integer-valued image to expand L2 around (``uint8`` only); by default
        this set's own rounded mean, computed when first needed. Sets whose keys are combined (the fold
        blocks of :mod:`core._cv_blocks`) pass the same one."""
        check_choice(metric, "metric", METRICS)
        B = check_array(B, name)
        if B.dtype == np.bool_:
            B = B.view(np.uint8)
        self.metric = metric
        self.X = np.ascontiguousarray(B)
        self.m, self.d = B.shape
        self.integer = B.dtype == np.uint8
        self.centrable = self.integer and metric == "l2"
        self._center = None if center is None or not self.centrable else _check_center(center, self.d)
        self._expansions: dict[bool, Expansion] = {}
        if metric == "l2":
            sq = _row_sq_norms(self.X)
            self.sq_norms = sq
            norms = np.sqrt(sq)
            self._expansions[False] = Expansion(None, sq.astype(np.float32), norms, float(norms.max()))
        else:
            sums = _row_abs_sums(self.X)
            self.sums = sums
            self.max_sum = float(sums.max())

    def centres(self, n_rows: int) -> bool:
        """Whether the L2 keys of ``n_rows`` query rows are written around the centre: ``uint8`` images
        and more than a handful of rows (for a few, subtracting the centre from every training pixel
        would cost 50 % more than the product, and re-measuring for rounding costs next to nothing)."""
        return self.centrable and n_rows > _FEW_ROWS

    def expansion(self, centred: bool) -> Expansion:
        """The L2 keys' :class:`Expansion`, around the centre or not (made once, on first use)."""
        centred = bool(centred and self.centrable)
        if centred not in self._expansions:
            c = mean_image(self.X) if self._center is None else self._center
            sq = _row_sq_dists(self.X, c)
            norms = np.sqrt(sq)
            self._expansions[centred] = Expansion(c, sq.astype(np.float32), norms, float(norms.max()))
        return self._expansions[centred]

    def tolerance(self, A: np.ndarray, key_stat: np.ndarray, centred: bool) -> np.ndarray:
        """Per query row: a bound on the float32 rounding error of the fast keys; ``key_stat`` is
        :meth:`key_stats` of ``A`` and ``centred`` says how the keys were written (:meth:`centres`).

        Zero for L1 on ``uint8`` (exact integers). For L2 it is an empirical bound,
        ``8 eps (sqrt(D) + 2) (max||b'||^2 + 2 ||a'|| max||b'||)`` with ``a' = a - c``,
        ``b' = b - c`` (:meth:`expansion`): the largest error seen on 10^7 CIFAR-10 pairs was ~0.7 eps
        sqrt(D) ||a|| ||b|| without the centre and ~0.16 eps sqrt(D) ||a'|| ||b'|| with it (13 against
        386 in absolute terms; tests/test_distances.py checks the bound on real images).
        """
        if self.metric == "l1":
            if self.integer and A.dtype == np.uint8:
                return np.zeros(A.shape[0])
            return 8 * _EPS32 * (math.log2(self.d) + 2) * (key_stat + self.max_sum)
        a_norm = np.sqrt(key_stat)
        big = self.expansion(centred).max_norm
        return 8 * _EPS32 * (math.sqrt(self.d) + 2) * (big ** 2 + 2 * a_norm * big)

    def tolerance_at(self, A: np.ndarray, key_stat: np.ndarray, cols: np.ndarray, centred: bool) -> np.ndarray:
        """:meth:`tolerance` of the keys of training columns ``cols`` (n, q) only: the same bound
        with their own ``||b'||`` (``sums``) in place of the largest one, (n, q) float64."""
        if self.metric == "l1":
            if self.integer and A.dtype == np.uint8:
                return np.zeros(cols.shape)
            return 8 * _EPS32 * (math.log2(self.d) + 2) * (key_stat[:, None] + self.sums[cols])
        b = self.expansion(centred).norms[cols]
        return 8 * _EPS32 * (math.sqrt(self.d) + 2) * (b * b + 2 * np.sqrt(key_stat)[:, None] * b)

    def query_stats(self, A: np.ndarray) -> np.ndarray:
        """Squared norms (L2) or absolute sums (L1) of query rows, float64 -- exact for ``uint8``."""
        return _row_sq_norms(A) if self.metric == "l2" else _row_abs_sums(A)

    def key_stats(self, A: np.ndarray, centred: bool, stat: np.ndarray | None = None) -> np.ndarray:
        """What turns a row of keys into distances: L2 ``||a - c||^2`` (``c`` of
        :meth:`expansion`; without a centre ``stat`` = :meth:`query_stats` is reused if given), L1 the
        absolute sums."""
        c = self.expansion(centred).center if self.metric == "l2" else None
        if c is None:
            return self.query_stats(A) if stat is None else stat
        return _row_sq_dists(A, c)

    def keys(self, A: np.ndarray, out: np.ndarray, stop: threading.Event | None = None,
             cancel=None) -> None:
        """Fill ``out[:, :m]`` with ranking keys for query rows ``A``.

        L2: ``||b - c||^2 - 2 (a - c).(b - c)`` (the :meth:`expansion` that :meth:`centres` picks
        for ``len(A)`` rows): the squared distance minus the row constant :meth:`key_stats`; L1: the
        distance itself. ``out`` is ``(len(A), >= m)`` float32.
        """
        if self.metric == "l2":
            _l2_keys(A, self, out, cancel)
        else:
            l1_keys(A, self, out, stop, cancel)


def query_operand(A: np.ndarray, center: np.ndarray | None) -> np.ndarray:
    """``-2 (A - center)`` float32, the left operand of the L2 key product (exact for ``uint8``)."""
    if center is None:
        return np.multiply(A, -2, dtype=np.float32)      # exact for uint8 and float32
    A32 = np.subtract(A, center, dtype=np.float32)
    A32 *= -2
    return A32


def _l2_keys(A: np.ndarray, tr: TrainSet, out: np.ndarray, cancel) -> None:
    e = tr.expansion(tr.centres(A.shape[0]))
    A32 = query_operand(A, e.center)
    X = tr.X
    if A.shape[0] <= _FEW_ROWS:
        _topk.split_rows(_l2_few_cols, (A32, tr, out), tr.m, None, cancel, _FEW_CHUNK)
        return
    if X.dtype == np.float32:
        chunk = max(256, tr.m // 4 + 1)
        buf = None
    else:
        budget = _CHUNK_BYTES if A.shape[0] >= 64 else _CHUNK_BYTES_FEW
        chunk = max(256, budget // (4 * tr.d))
        buf = np.empty((min(chunk, tr.m), tr.d), dtype=np.float32)
    for j in range(0, tr.m, chunk):
        check_cancel(cancel)
        j2 = min(tr.m, j + chunk)
        if buf is None:
            Bc = X[j:j2]
        else:
            Bc = _as_key_operand(X[j:j2], e.center, buf[:j2 - j])
        block = out[:, j:j2]
        np.matmul(A32, Bc.T, out=block)
        block += e.sq32[j:j2]


def _l2_few_cols(A32, tr: TrainSet, out, lo: int, hi: int, stop) -> None:
    """L2 keys for a handful of queries (never centred, see :meth:`TrainSet.centres`): a plain NumPy
    product per cache-sized chunk.

    A BLAS call per chunk would wake and synchronise BLAS threads hundreds of times for
    one query (very slow on a busy machine); here each worker thread owns half the rows.
    """
    e = tr.expansion(False)
    buf = np.empty((min(_FEW_CHUNK, hi - lo), tr.d), dtype=np.float32)
    for j in range(lo, hi, _FEW_CHUNK):
        if stop.is_set():
            return
        j2 = min(hi, j + _FEW_CHUNK)
        Bc = _as_key_operand(tr.X[j:j2], None, buf[:j2 - j])
        block = out[:, j:j2]
        np.einsum("ij,kj->ik", A32, Bc, out=block)
        block += e.sq32[j:j2]


def _check_pair(A, B, metric: str):
    check_choice(metric, "metric", METRICS)
    A = check_array(A, "A")
    B = check_array(B, "B")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B must have the same number of features "
                         f"(A has D={A.shape[1]}, B has D={B.shape[1]})")
    if A.dtype == np.bool_:
        A = A.view(np.uint8)
    return A, B


def block_rows(metric: str, m: int, d: int) -> int:
    """Query rows per block: the ``(rows, M)`` buffer fits ``BLOCK_BYTES`` and, for L1, one
    block is roughly a tenth of a second of work (so cancel stays responsive)."""
    rows = BLOCK_BYTES // (4 * _topk.padded_width(m))
    if metric == "l1":
        rows = min(rows, max(L1_STEP, int(1.5e9 // max(1, m * d))))
    return int(max(1, min(rows, 1024)))


def iter_distance_blocks(A, B, metric: str = "l2", *, train: TrainSet | None = None,
                         rows: int | None = None, squared: bool = False,
                         progress=None, cancel=None):
    """Yield ``(start, block)`` with ``block = distances(A[start:start+len(block)], B)``.

    The ``(rows, M)`` float32 ``block`` is a reused buffer: copy it if you keep it. Pass a
    prepared ``train=TrainSet(B, metric)`` to reuse norms across calls (then ``B`` may be
    None). ``squared=True`` yields squared L2 distances.
    """
    if train is None:
        A, B = _check_pair(A, B, metric)
        train = TrainSet(B, metric)
    else:
        A, _ = _check_pair(A, train.X[:1], train.metric)
    metric = train.metric
    n, m = A.shape[0], train.m
    rows = rows or block_rows(metric, m, train.d)
    buf = np.empty((min(rows, n), m), dtype=np.float32)
    for start in range(0, n, rows):
        check_cancel(cancel)
        Ab = A[start:start + rows]
        V = buf[:Ab.shape[0]]
        train.keys(Ab, V, cancel=cancel)
        if metric == "l2":
            _finish_l2(Ab, train, V, squared)
        yield start, V
        report(progress, min(n, start + rows), n, f"distances: {min(n, start + rows)}/{n} rows")


def _finish_l2(Ab: np.ndarray, tr: TrainSet, V: np.ndarray, squared: bool) -> None:
    """Turn keys into distances (adding :meth:`TrainSet.key_stats`), repairing near-zero entries exactly."""
    centred = tr.centres(Ab.shape[0])
    a2 = tr.key_stats(Ab, centred)
    V += a2.astype(np.float32)[:, None]
    limit = (REPAIR_FACTOR * tr.tolerance(Ab, a2, centred)).astype(np.float32)
    r, c = np.nonzero(V <= limit[:, None])
    if r.size:
        V[r, c] = paired_keys(Ab, r, tr.X, c, "l2")
    np.maximum(V, 0, out=V)
    if not squared:
        np.sqrt(V, out=V)


def pairwise_distances(A, B, metric: str = "l2", *, progress=None, cancel=None) -> np.ndarray:
    """All distances between the rows of ``A`` and the rows of ``B``.

    Parameters
    ----------
    A : (N, D) array, uint8 pixels or floats.
    B : (M, D) array, same D.
    metric : ``"l2"`` (Euclidean) or ``"l1"`` (Manhattan).
    progress, cancel : see :mod:`core.progress`; checked between blocks of rows.

    Returns
    -------
    (N, M) float32, ``out[i, j] = d(A[i], B[j])``.

    Raises
    ------
    ValueError
        unknown metric, non-2-D input, different feature counts, NaN/inf values.
    """
    A, B = _check_pair(A, B, metric)
    train = TrainSet(B, metric)
    out = np.empty((A.shape[0], B.shape[0]), dtype=np.float32)
    for start, block in iter_distance_blocks(A, None, metric, train=train,
                                             progress=progress, cancel=cancel):
        out[start:start + block.shape[0]] = block
    return out
