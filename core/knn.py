"""k-nearest-neighbour classifier: ``fit`` memorises, ``predict`` votes among the k closest.

Conventions: training and query images are ``(N, D)`` features or ``(N, H, W, C)``
images (flattened here; ``uint8`` is kept as ``uint8``); labels are ``(N,)`` int64 class
indices ``0 .. C-1``; distances are ``float32``, neighbour indices ``int64``.

How a query block is answered (see :mod:`core.distances`):

1. for a block of queries, a ranking key is computed for every training image (L2: one
   matrix product gives ``||b||^2 - 2 a.b``, which orders neighbours like the squared
   distance; L1: the distance itself) -- never the full ``(N_test, N_train)`` matrix;
2. the k smallest keys of each row are selected (``core._topk.smallest_k``);
3. float32 rounding is accounted for: keys closer to each other than the rounding bound
   are re-measured directly in float64 and re-sorted, and if the k-th and the next key are
   that close, every training image within reach is re-measured. So the order is exact for
   ``uint8`` images, ties go to the lower training index, and a duplicate of the query is
   at distance exactly 0.

Many ``uint8`` queries against a large ``uint8`` training set (L2) take a shortcut with the same
answer (:mod:`core._prune`): a 261-number summary of every image (its main directions, band by band)
gives a lower bound on each distance from one small matrix product; only the training images whose
bound could still beat the k-th nearest found so far are measured exactly (~35 of 10,000 on CIFAR-10
for k = 10), in exact integer arithmetic.

Tie rule for the vote: see :data:`TIE_RULE`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from core import _prune, _prune_l1, _topk
from core.distances import METRICS, REPAIR_FACTOR, TrainSet, block_rows, paired_keys
from core.metrics import accuracy
from core.progress import check_cancel, report
from core.validation import NotFittedError, check_array, check_choice, check_k, check_X_y

_PROJECTION_LOCK = threading.Lock()
ALGORITHMS = ("auto", "brute")

__all__ = ["TIE_RULE", "VoteResult", "vote", "KNearestNeighbor"]

TIE_RULE = ("Majority vote among the k nearest neighbours. If several classes share the "
            "highest count, the tied class whose nearest member is closest wins (at equal "
            "distance, the neighbour with the lower training index counts as closer). "
            "With k = 1 there is never a tie.")


@dataclass(frozen=True)
class VoteResult:
    """Outcome of a vote: ``pred`` (N,) int64, ``tally`` (N, C) int64 votes per class,
    ``tied`` (N,) bool -- True where several classes had the top count and
    :data:`TIE_RULE` decided."""

    pred: np.ndarray
    tally: np.ndarray
    tied: np.ndarray


def vote(neighbor_labels, neighbor_dist, n_classes: int | None = None) -> VoteResult:
    """Majority vote with the documented tie rule (:data:`TIE_RULE`).

    Parameters
    ----------
    neighbor_labels : (N, k) int, the class of each neighbour.
    neighbor_dist : (N, k) float, its distance (any order; sorted stably here).
    n_classes : number of classes C (default: largest label + 1).
    """
    labels = np.asarray(neighbor_labels)
    dist = np.asarray(neighbor_dist)
    if labels.ndim != 2 or labels.shape != dist.shape:
        raise ValueError(f"neighbor_labels and neighbor_dist must be 2-D with the same shape "
                         f"(got {labels.shape} and {dist.shape})")
    if not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.min() < 0):
        raise ValueError("neighbor_labels must hold class indices >= 0")
    n, k = labels.shape
    c = int(labels.max()) + 1 if n_classes is None else int(n_classes)
    if labels.size and labels.max() >= c:
        raise ValueError(f"neighbor_labels must be < n_classes={c} (got {int(labels.max())})")
    order = np.argsort(dist, axis=1, kind="stable")
    labels = np.take_along_axis(labels.astype(np.int64), order, axis=1)
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    tally = np.bincount(rows * c + labels.ravel(), minlength=n * c).reshape(n, c)
    is_top = tally == tally.max(axis=1, keepdims=True)
    tied = is_top.sum(axis=1) > 1
    first = np.take_along_axis(is_top, labels, axis=1).argmax(axis=1)
    pred = labels[np.arange(n), first]
    return VoteResult(pred=pred, tally=tally, tied=tied)


class KNearestNeighbor:
    """The lecture's kNN classifier.

    Parameters
    ----------
    k : int, neighbours that vote (1 <= k <= number of training images).
    metric : ``"l2"`` (Euclidean) or ``"l1"`` (Manhattan).
    algorithm : ``"auto"`` (default) or ``"brute"``. Both give exactly the same neighbours.
        ``"brute"`` ranks every training image by its distance to each query (the lecture's kNN);
        ``"auto"`` may instead use the projection lower bound of :mod:`core._prune` when that is
        faster (many uint8 queries, L2, a large training set).

    Attributes (after ``fit``)
    --------------------------
    X_ : (N, D) training features (``uint8`` kept as ``uint8``).
    y_ : (N,) int64 labels.  classes_ : labels present.  n_classes_ : largest label + 1.
    n_train_ : N.  n_features_ : D.
    """

    def __init__(self, k: int = 1, metric: str = "l2", algorithm: str = "auto"):
        self.k = k
        self.metric = metric
        self.algorithm = algorithm

    def get_params(self) -> dict:
        return {"k": self.k, "metric": self.metric, "algorithm": self.algorithm}

    def set_params(self, **params) -> "KNearestNeighbor":
        for key, value in params.items():
            if key not in ("k", "metric", "algorithm"):
                raise ValueError(f"unknown parameter {key!r} for KNearestNeighbor (use k, metric, algorithm)")
            setattr(self, key, value)
        return self

    # -- training ---------------------------------------------------------------------
    def fit(self, X, y) -> "KNearestNeighbor":
        """Memorise the training set (and its squared norms). Returns ``self``."""
        check_choice(self.metric, "metric", METRICS)
        check_choice(self.algorithm, "algorithm", ALGORITHMS)
        X = _as_features(X, "X")
        X, y = check_X_y(X, y)
        return self._fit_prepared(TrainSet(np.ascontiguousarray(X), self.metric, name="X"), y)

    def _fit_prepared(self, train: TrainSet, y: np.ndarray) -> "KNearestNeighbor":
        """``fit`` with the training set already prepared (``train.X`` and ``y`` checked, ``train``
        made with this metric): cross-validation hands over the one its fold blocks were made for."""
        self.X_ = train.X
        self.y_ = y
        self.classes_ = np.unique(y)
        self.n_classes_ = int(y.max()) + 1
        self.n_train_, self.n_features_ = train.X.shape
        self._train = train
        self._proj = None
        self._pooled = None
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "X_"):
            raise NotFittedError("This KNearestNeighbor is not fitted yet; call fit(X, y) first")

    def _projection(self, cancel) -> _prune.Projection:
        """The lower-bound projection of the uint8 training set (built on first use, then kept)."""
        with _PROJECTION_LOCK:        # fit (and a metric change) reset it to None
            if self._proj is None:
                self._proj = _prune.Projection(self.X_, self._train.sq_norms, cancel)
            return self._proj

    def _pooled_set(self) -> TrainSet:
        """The pooled uint8 training set of the L1 bound (:mod:`core._prune_l1`), made on first use."""
        with _PROJECTION_LOCK:
            if getattr(self, "_pooled", None) is None:
                self._pooled = TrainSet(_prune_l1.pool(self.X_), "l1", name="X")
            return self._pooled

    def _train_set(self) -> TrainSet:
        check_choice(self.metric, "metric", METRICS)
        if self._train.metric != self.metric:
            self._train = TrainSet(self.X_, self.metric, name="X")
            self._proj = None
        return self._train

    def _check_query(self, X) -> np.ndarray:
        X = _as_features(X, "X")
        if X.shape[1] != self.n_features_:
            raise ValueError(f"X has {X.shape[1]} features per image, but the classifier was "
                             f"fitted with {self.n_features_}")
        return X

    # -- neighbours -------------------------------------------------------------------
    def kneighbors(self, X, k: int | None = None, *, progress=None, cancel=None):
        """The k nearest training images of each query.

        Returns
        -------
        dist : (N, k) float32, ascending along each row.
        idx : (N, k) int64 training indices; equal distances are ordered by index.
        """
        self._check_fitted()
        k = check_k(self.k if k is None else k, self.n_train_)
        A = self._check_query(X)
        tr = self._train_set()
        n, m = A.shape[0], tr.m
        check_choice(self.algorithm, "algorithm", ALGORITHMS)
        uint8 = tr.integer and A.dtype == np.uint8
        if uses_pooling(self.algorithm, tr.metric, uint8, n, m, tr.d, k):
            pooled = self._pooled_set()
            return _bounded_search(A, tr, k, block_rows("l1", m, pooled.d), progress, cancel,
                                   lambda Ab, V: _prune_l1.search_block(Ab, tr.X, tr.sums, pooled, V, k))
        proj = None
        if uses_projection(self.algorithm, tr.metric, uint8, n, m, tr.d, k):
            try:
                proj = self._projection(cancel)
            except (ArithmeticError, np.linalg.LinAlgError):   # no usable basis: the full search is exact too
                proj = None
        if proj is None:
            return _dense_search(A, tr, k, progress, cancel)

        def search(Ab, V):
            d2, ib, hb = _prune.search_block(Ab, tr.query_stats(Ab), tr.X, tr.sq_norms, proj, V, k)
            return np.sqrt(d2), ib, hb
        return _bounded_search(A, tr, k, _prune.BLOCK_ROWS, progress, cancel, search)

    def vote(self, neighbor_labels, neighbor_dist) -> VoteResult:
        """:func:`vote` with this classifier's number of classes."""
        self._check_fitted()
        return vote(neighbor_labels, neighbor_dist, self.n_classes_)

    def predict(self, X, k: int | None = None, *, progress=None, cancel=None) -> np.ndarray:
        """Predicted class of each query, (N,) int64."""
        k = self.k if k is None else k
        return self.predict_many_k(X, [k], progress=progress, cancel=cancel)[k]

    def predict_many_k(self, X, ks, *, progress=None, cancel=None) -> dict:
        """Predictions for several k from ONE neighbour search with ``max(ks)``.

        Returns ``{k: (N,) int64}``. The k nearest are a prefix of the ``max(ks)`` nearest,
        so this equals calling :meth:`predict` once per k.
        """
        self._check_fitted()
        ks = _check_ks(ks, self.n_train_)
        dist, idx = self.kneighbors(X, max(ks), progress=progress, cancel=cancel)
        return self.predict_from_neighbors(dist, idx, ks)

    def predict_from_neighbors(self, dist, idx, ks) -> dict:
        """Vote for each k in ``ks`` from an existing ``kneighbors`` result."""
        self._check_fitted()
        labels = self.y_[idx]
        return {k: vote(labels[:, :k], dist[:, :k], self.n_classes_).pred for k in ks}

    def score(self, X, y, k: int | None = None, *, progress=None, cancel=None) -> float:
        """Accuracy of :meth:`predict` on ``(X, y)``."""
        return accuracy(y, self.predict(X, k, progress=progress, cancel=cancel))


def _as_features(X, name: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim > 2:
        X = X.reshape(X.shape[0], -1)
    X = check_array(X, name)
    return X.view(np.uint8) if X.dtype == np.bool_ else X


def _check_ks(ks, n_train: int) -> list[int]:
    ks = [ks] if np.isscalar(ks) else list(ks)
    if not ks:
        raise ValueError("ks must contain at least one k (got an empty list)")
    return [check_k(k, n_train, "k") for k in ks]


def uses_projection(algorithm: str, metric: str, uint8: bool, n_queries: int, m: int, d: int, k: int) -> bool:
    """Whether :meth:`KNearestNeighbor.kneighbors` takes the projection shortcut of :mod:`core._prune`
    (``uint8``: training and query images are both uint8) rather than ranking every training image."""
    return algorithm == "auto" and metric == "l2" and uint8 and _prune.worth_it(n_queries, m, d, k)


def uses_pooling(algorithm: str, metric: str, uint8: bool, n_queries: int, m: int, d: int, k: int) -> bool:
    """Whether :meth:`KNearestNeighbor.kneighbors` takes the pooled L1 bound of :mod:`core._prune_l1`
    rather than measuring every training image (``uint8``: training and query images both uint8)."""
    return algorithm == "auto" and metric == "l1" and uint8 and _prune_l1.worth_it(n_queries, m, d, k)


def _bounded_search(A: np.ndarray, tr: TrainSet, k: int, rows: int, progress, cancel, search):
    """k nearest through a lower bound, ``rows`` queries at a time: ``search(Ab, V)`` (``V`` a scratch
    buffer of keys, padding +inf) returns the block's distances, indices and the rows the bound could
    not narrow down, which then get the full search (:func:`_dense_search`)."""
    n, m = A.shape[0], tr.m
    dist = np.empty((n, k), dtype=np.float32)
    idx = np.empty((n, k), dtype=np.int64)
    buf = np.full((min(rows, n), _topk.padded_width(m)), np.inf, dtype=np.float32)
    heavy = []
    for start in range(0, n, rows):
        check_cancel(cancel)
        Ab = A[start:start + rows]
        dist[start:start + rows], idx[start:start + rows], hb = search(Ab, buf[:len(Ab)])
        heavy.append(start + hb)
        done = min(n, start + rows)
        report(progress, done, n, f"nearest neighbours: {done}/{n} images")
    del buf
    heavy = np.concatenate(heavy)
    if heavy.size:                   # queries the bound could not narrow down: the full search
        dist[heavy], idx[heavy] = _dense_search(A[heavy], tr, k, None, cancel)
    return dist, idx


def _dense_search(A: np.ndarray, tr: TrainSet, k: int, progress, cancel):
    """k nearest by keys for every training image, a block of queries at a time (see module doc)."""
    n, m = A.shape[0], tr.m
    rows = block_rows(tr.metric, m, tr.d)
    buf = np.full((min(rows, n), _topk.padded_width(m)), np.inf, dtype=np.float32)
    dist = np.empty((n, k), dtype=np.float32)
    idx = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, rows):
        check_cancel(cancel)
        Ab = A[start:start + rows]
        V = buf[:Ab.shape[0]]
        tr.keys(Ab, V, cancel=cancel)
        dist[start:start + rows], idx[start:start + rows] = _select_rows(Ab, tr, V, k, tr.centres(len(Ab)))
        done = min(n, start + rows)
        report(progress, done, n, f"nearest neighbours: {done}/{n} images")
    return dist, idx


def _select_rows(Ab: np.ndarray, tr: TrainSet, V: np.ndarray, k: int, centred: bool):
    """:func:`_select` on two halves of the block at once (NumPy releases the GIL)."""
    n = Ab.shape[0]
    if n < 64 or _topk.N_WORKERS < 2:
        return _select(Ab, tr, V, k, centred)
    h = n // 2
    first = _topk.executor().submit(_select, Ab[:h], tr, V[:h], k, centred)
    d2, i2 = _select(Ab[h:], tr, V[h:], k, centred)
    d1, i1 = first.result()
    return np.concatenate([d1, d2]), np.concatenate([i1, i2])


def _exact_keys(Ab: np.ndarray, stat: np.ndarray, tr: TrainSet, rows: np.ndarray, cols: np.ndarray):
    """Exact distances (squared for L2) of the pairs ``(Ab[rows], tr.X[cols])``, float64.

    ``uint8`` L2 pairs go through :func:`core._prune.exact_sq` (float32 products of the training
    pixels with the query's 4-bit digits, exact integers; ~1 us a pair here, half the time of
    :func:`paired_keys`' 16-bit arithmetic, which matters at k = 100, where most of the top-k is
    re-measured); anything else through :func:`paired_keys`."""
    if tr.metric == "l2" and tr.integer and Ab.dtype == np.uint8 and _prune.digit_bits(tr.d) and rows.size:
        order = np.argsort(rows, kind="stable")          # exact_sq wants the pairs grouped by query
        out = np.empty(rows.size)
        out[order] = _prune.exact_sq(Ab, stat, tr.X, tr.sq_norms, rows[order], cols[order])
        return out
    return paired_keys(Ab, rows, tr.X, cols, tr.metric)


def _select(Ab: np.ndarray, tr: TrainSet, V: np.ndarray, k: int, centred: bool):
    """Top-k of one block of keys, re-measuring directly wherever rounding could matter; ``centred``:
    how the keys were written (:meth:`TrainSet.centres`).

    Two neighbouring keys closer than the sum of their float32 rounding bounds
    (:meth:`TrainSet.tolerance_at`, each with its own training image's norm) might be in the
    wrong order, so they are recomputed exactly and the row is re-sorted. If the k-th and the
    (k+1)-th key are within twice the row's bound (:meth:`TrainSet.tolerance`, with the largest
    norm: the (k+1)-th image is not known), every training image whose key is within reach is
    re-measured instead. Near-zero L2 distances are always re-measured (the expansion loses
    precision there).
    """
    m, metric = tr.m, tr.metric
    idx, vals, nxt = _topk.smallest_k(V, m, k)
    stat = tr.query_stats(Ab)                          # exact, for the re-measures
    kstat = tr.key_stats(Ab, centred, stat)            # keys + kstat = distances (L2: squared)
    tol = tr.tolerance(Ab, kstat, centred)
    v = vals.astype(np.float64)
    tol_at = tr.tolerance_at(Ab, kstat, idx, centred)
    close = np.diff(v, axis=1) <= tol_at[:, 1:] + tol_at[:, :-1]
    unsure = np.zeros(v.shape, dtype=bool)
    unsure[:, 1:] |= close
    unsure[:, :-1] |= close
    val = v + kstat[:, None] if metric == "l2" else v
    if metric == "l2":
        unsure |= val <= REPAIR_FACTOR * tol[:, None]
    edge = np.flatnonzero(nxt.astype(np.float64) - v[:, -1] <= 2 * tol)
    er, ec = np.nonzero(V[edge, :m] <= (v[edge, -1] + 2 * tol[edge])[:, None])
    er = edge[er]
    unsure[edge] = False
    ur, uk = np.nonzero(unsure)
    exact = _exact_keys(Ab, stat, tr, np.concatenate([er, ur]), np.concatenate([ec, idx[ur, uk]]))
    if ur.size:
        val[ur, uk] = exact[er.size:]
        rows = np.unique(ur)
        order = np.lexsort((idx[rows], val[rows]), axis=1)
        idx[rows] = np.take_along_axis(idx[rows], order, axis=1)
        val[rows] = np.take_along_axis(val[rows], order, axis=1)
    if edge.size:
        ex = exact[:er.size]
        order = np.lexsort((ec, ex, er))
        er, ec, ex = er[order], ec[order], ex[order]
        pos = np.searchsorted(er, edge)[:, None] + np.arange(k)
        idx[edge] = ec[pos]
        val[edge] = ex[pos]
    if metric == "l2":
        val = np.sqrt(np.maximum(val, 0))
    return val.astype(np.float32), idx
