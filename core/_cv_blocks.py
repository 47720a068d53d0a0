"""Private: k-fold cross-validation's neighbour searches with each pair's distance computed once.

In k-fold cross-validation an image ``a`` of fold f is a query against every image ``b`` of the other
folds -- and ``b``, in its own fold's turn, is a query against ``a``. A brute-force search per fold
therefore computes every distance twice. Here the folds are taken in pairs ``(f, g)``, ``f < g``: one
block serves both directions (L2: the product ``-2 X_f X_g^T`` -- of ``X - c`` for ``uint8`` images, with
one centre ``c`` for all folds, see :mod:`core.distances` -- from which both directions' keys are made
exactly as :func:`core.distances._l2_keys` makes them; L1: the distances, symmetric). Each fold's key
matrix is assembled from its blocks, and its k nearest are chosen by the same selection as the brute
force (:func:`core.knn._select_rows`, which re-measures exactly every key that rounding could have put
in the wrong order), so the neighbours -- and the scores -- are the same as one
:meth:`core.knn.KNearestNeighbor.kneighbors` per fold, at half the distance work. For ``uint8`` L1 and
a small k (:func:`pools`) the blocks hold the pooled lower bounds of :mod:`core._prune_l1` instead, and
:func:`select_pooled` measures exactly only the images within reach.

:func:`core.model_selection.cross_validate_knn` uses it when the per-fold search would be the brute force
(the projection shortcut of :mod:`core._prune` is faster still where it applies) and the blocks fit in
memory (:data:`MAX_IMAGES`).
"""
from __future__ import annotations

import numpy as np

from core import _prune_l1
from core.distances import TrainSet, mean_image, query_operand
from core.knn import _dense_search, _select_rows, uses_projection
from core.progress import check_cancel

__all__ = ["MAX_IMAGES", "MAX_FOLDS", "usable", "pools", "FoldBlocks", "select", "select_pooled"]

MAX_IMAGES = 16_000   # blocks alive at once: <= ~(F/2)^2 of (N/F)^2 float32 -- ~330 MB at 16000 images
MAX_FOLDS = 20        # many tiny folds would mean many tiny blocks; the per-fold search is fine there
SELECT_ROWS = 512     # query rows selected at a time


def usable(X: np.ndarray, splits, k: int, metric: str, algorithm: str) -> bool:
    """Whether the fold-pair blocks replace the per-fold searches (see the module doc)."""
    if not (2 <= len(splits) <= MAX_FOLDS and X.shape[0] <= MAX_IMAGES):
        return False
    return not any(uses_projection(algorithm, metric, X.dtype == np.uint8, len(va), len(tr), X.shape[1], k)
                   for tr, va in splits)                # (the shortcut would be faster still)


def pools(X: np.ndarray, splits, k: int, metric: str, algorithm: str) -> bool:
    """Whether the blocks hold pooled L1 lower bounds (:mod:`core._prune_l1`) instead of distances:
    uint8 L1, large folds and a k small against them (k <= max(10, M / 160), M the training images of
    a fold). Pooled blocks cost ~35 % of the full ones, and each query's candidates ~1 us apiece.
    5-fold CV of 10000 CIFAR-10 images: k = 1..10 6.6 s against 11.6 s; with k up to 100 (~600
    candidates a query) 11.0-12.8 s against 12.6 s, no gain, so such a k keeps the full blocks."""
    return (metric == "l1" and algorithm == "auto" and X.dtype in (np.uint8, np.bool_)
            and X.shape[1] >= 64 and all(len(tr) >= 4096 and len(va) >= 64 and k <= max(10, len(tr) // 160)
                                         for tr, va in splits))


class FoldBlocks:
    """The distance blocks of one cross-validation, made as the folds need them.

    ``X`` (N, D) is the whole data set and ``splits`` the folds' ``(train_idx, val_idx)`` (ascending,
    as :class:`core.model_selection.KFold` gives them). :meth:`keys` returns fold f's ranking keys
    against its training images in ``train_idx`` order; a block is freed once both of its folds
    have used it.
    """

    def __init__(self, X: np.ndarray, splits, metric: str, pooled: bool = False):
        self.splits, self.metric, self.pooled = splits, metric, pooled
        self.vals = [va for _, va in splits]
        # one centre for every fold (uint8 L2, see core.distances): blocks made for two folds, and
        # each fold's training set (train_set), must expand around the same image
        X8 = X.view(np.uint8) if X.dtype == np.bool_ else X          # as TrainSet sees it
        self.center = mean_image(X8) if metric == "l2" and X8.dtype == np.uint8 else None
        self.rows = [X8[va] for va in self.vals]                      # each fold's images
        if pooled:                    # L1 lower bounds of quarter-size images (see pools)
            self.sets = [TrainSet(_prune_l1.pool(r), "l1", name="X") for r in self.rows]
        else:
            self.sets = [TrainSet(r, metric, name="X", center=self.center) for r in self.rows]
        self.blocks: dict[tuple[int, int], np.ndarray] = {}
        self.block_calls = 0          # blocks computed (each pair of folds once)
        self._buffers: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, rows: int, cols: int) -> np.ndarray:
        """A C-contiguous (rows, cols) float32 view of a buffer kept across folds (the folds' sizes
        differ by one at most; fresh pages of ~65 MB per fold cost ~20 ms to fault in)."""
        flat = self._buffers.get(name)
        if flat is None or flat.size < rows * cols:
            flat = self._buffers[name] = np.empty(rows * cols, dtype=np.float32)
        return flat[:rows * cols].reshape(rows, cols)

    def _block(self, f: int, g: int, A: np.ndarray, cancel) -> np.ndarray:
        """(n_f, n_g) float32 of folds ``f < g``, from fold f's rows ``A`` as :meth:`keys` prepared them
        once: for L2 ``A`` is ``-2 (X_f - c)`` in float32 and the block is ``-2 (X_f - c) (X_g - c)^T``
        (``c`` = 0 without a centre); for L1 ``A`` is ``X_f`` (pooled: its quarter-size rows) and the
        block holds the distances."""
        self.block_calls += 1
        B = self.sets[g]
        if self.metric == "l1":
            out = np.empty((len(A), B.m), dtype=np.float32)
            B.keys(A, out, cancel=cancel)
            return out
        check_cancel(cancel)
        if self.center is None:
            return np.matmul(A, B.X.astype(np.float32, copy=False).T)
        return np.matmul(A, np.subtract(B.X, self.center, dtype=np.float32).T)

    def train_set(self, X_train: np.ndarray) -> TrainSet:
        """A fold's training images ``X_train`` (= ``X[train_idx]``) as a :class:`TrainSet` with this
        cross-validation's centre -- the one the fold's keys were made with."""
        return TrainSet(X_train, self.metric, name="X", center=self.center)

    def keys(self, f: int, width: int, cancel=None, progress=None) -> np.ndarray:
        """Fold f's keys (n_f, ``width`` >= its number of training images) float32, the padding +inf:
        what :meth:`train_set` ``(X[train_idx]).keys`` would give, up to float32 rounding in the products.
        The array is reused by the next call. ``progress(done, total)`` after each block (``total``
        counts one more step, the selection that follows)."""
        tr, va = self.splits[f]
        m = len(tr)
        V = self._buffer("keys", len(va), width)
        V[:, m:] = np.inf
        others = [g for g in range(len(self.splits)) if g != f]
        A = self.sets[f].X                                  # fold f's rows (gathered once, in __init__)
        if self.metric == "l2" and f < len(self.splits) - 1:
            A = query_operand(A, self.center)               # -2 (X_f - c), exact, as in _l2_keys
        # the blocks side by side, fold after fold, then one gather into train_idx order (a column
        # gather of whole rows is ~2.5x faster than scattering each block's columns into place)
        grouped = self._buffer("grouped", len(va), m)
        at = 0
        for done, g in enumerate(others):
            if g > f:
                part = self.blocks[f, g] = self._block(f, g, A, cancel)
            else:
                part = self.blocks.pop((g, f)).T            # made in fold g's turn; fold f is its last user
            dest = grouped[:, at:at + part.shape[1]]
            if self.metric == "l2":
                np.add(part, self.sets[g].expansion(True).sq32, out=dest)
            else:
                dest[...] = part
            at += part.shape[1]
            if progress is not None:
                progress(done + 1, len(others) + 1)         # the last share is the caller's selection
        where = np.searchsorted(tr, np.concatenate([self.vals[g] for g in others]))
        order = np.empty(m, dtype=np.intp)
        order[where] = np.arange(m)                         # train_idx position -> grouped column
        np.take(grouped, order, axis=1, out=V[:, :m], mode="clip")
        return V


def select_pooled(A: np.ndarray, train: TrainSet, V: np.ndarray, k: int, groups: int, cancel=None):
    """:func:`select` for pooled blocks: the exact k nearest (L1) of the query rows ``A`` from their
    pooled lower bounds ``V`` (:func:`core._prune_l1.search_keys`; queries the bound cannot narrow
    down get the full search). ``train`` is the fold's training set (L1), ``groups`` the pooled width."""
    n = A.shape[0]
    dist = np.empty((n, k), dtype=np.float32)
    idx = np.empty((n, k), dtype=np.int64)
    for i in range(0, n, SELECT_ROWS):
        check_cancel(cancel)
        j = min(n, i + SELECT_ROWS)
        d, ix, heavy = _prune_l1.search_keys(A[i:j], train.X, train.sums, V[i:j], k, groups)
        dist[i:j], idx[i:j] = d, ix
        if heavy.size:
            dist[i + heavy], idx[i + heavy] = _dense_search(A[i:j][heavy], train, k, None, cancel)
    return dist, idx


def select(A: np.ndarray, train: TrainSet, V: np.ndarray, k: int, cancel=None):
    """The k nearest (dist (n, k) float32, idx (n, k) int64) of the query rows ``A`` from their key
    rows ``V`` (:meth:`FoldBlocks.keys`, centred for every ``uint8`` L2 row however many there are) --
    :func:`core.knn._select_rows` a block of rows at a time."""
    n = A.shape[0]
    centred = train.centrable
    if train.metric == "l2":
        train.expansion(centred)      # made here once, not by both selection threads of the first block
    dist = np.empty((n, k), dtype=np.float32)
    idx = np.empty((n, k), dtype=np.int64)
    for i in range(0, n, SELECT_ROWS):
        check_cancel(cancel)
        j = min(n, i + SELECT_ROWS)
        dist[i:j], idx[i:j] = _select_rows(A[i:j], train, V[i:j], k, centred)
    return dist, idx
