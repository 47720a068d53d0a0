"""Choosing hyperparameters: k-fold splits and cross-validation of k (kNN) and reg (linear).

Conventions: ``X`` is ``(N, D)`` (images ``(N, H, W, C)`` are flattened); ``y`` is ``(N,)``
int64 class indices; fold index arrays are int64 and sorted. Train/validation splits
live in :func:`core.datasets.train_val_split`.

The lecture's rule: never tune on the test set. Split the training data into folds, train
on all folds but one, measure on the held-out fold, and average. For kNN the expensive
part is the distance matrix, which does not depend on k: each fold computes it ONCE (one
neighbour search with ``max(ks)``) and every k is scored from that ranking.
"""
from __future__ import annotations

import inspect
import io
from dataclasses import dataclass

import numpy as np

from core import _cv_blocks
from core._topk import padded_width
from core.distances import METRICS
from core.knn import ALGORITHMS, KNearestNeighbor
from core.metrics import accuracy
from core.progress import check_cancel, report
from core.validation import check_array, check_choice, check_k, check_labels, check_random_state

__all__ = ["KFold", "CVResult", "cross_validate_knn", "cross_validate_linear"]


class KFold:
    """Split sample indices into ``n_splits`` folds.

    Parameters
    ----------
    n_splits : int >= 2.
    shuffle : shuffle before splitting (seeded by ``random_state``).
    stratified : keep each class's share equal across folds -- each class's (shuffled)
        indices are dealt round-robin over the folds, continuing from class to class, so
        both per-class and total fold sizes differ by at most one.
    random_state : None, int or ``np.random.Generator``.
    """

    def __init__(self, n_splits: int = 5, *, shuffle: bool = True, stratified: bool = True,
                 random_state=0):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.stratified = stratified
        self.random_state = random_state

    def split(self, y) -> list[tuple[np.ndarray, np.ndarray]]:
        """Return ``[(train_idx, val_idx), ...]``, one pair per fold; every index is in
        exactly one ``val_idx``."""
        y = check_labels(y, "y")
        n = y.shape[0]
        k = self.n_splits
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
            raise ValueError(f"n_splits must be an integer >= 2 (got n_splits={k!r})")
        if k > n:
            raise ValueError(f"n_splits must be <= the number of samples (got n_splits={k}, n={n})")
        rng = check_random_state(self.random_state)
        if self.stratified:
            parts = []
            for c in np.unique(y):
                members = np.flatnonzero(y == c)
                parts.append(rng.permutation(members) if self.shuffle else members)
            order = np.concatenate(parts)
        else:
            order = rng.permutation(n) if self.shuffle else np.arange(n)
        fold_of = np.empty(n, dtype=np.int64)
        if self.stratified:
            fold_of[order] = np.arange(n) % k
        else:
            fold_of[order] = np.repeat(np.arange(k), [len(a) for a in np.array_split(order, k)])
        return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


@dataclass
class CVResult:
    """Cross-validation scores of one hyperparameter.

    ``values`` (K,) tried values; ``scores`` (K, folds) validation accuracy per fold;
    ``mean``/``std`` (K,) over folds; ``best_value``/``best_index``: the first value with
    the highest mean; ``param_name`` e.g. ``"k"`` or ``"reg"``.
    """

    values: np.ndarray
    scores: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    best_value: float
    best_index: int
    param_name: str

    @classmethod
    def from_scores(cls, values, scores, param_name: str) -> "CVResult":
        values = np.asarray(values)
        scores = np.asarray(scores, dtype=np.float64)
        mean = scores.mean(axis=1)
        best = int(np.argmax(mean))
        return cls(values=values, scores=scores, mean=mean, std=scores.std(axis=1),
                   best_value=values[best].item(), best_index=best, param_name=param_name)

    def to_csv(self) -> str:
        """One row per value: ``param,fold_1,...,fold_F,mean,std``."""
        buf = io.StringIO()
        folds = ",".join(f"fold_{f + 1}" for f in range(self.scores.shape[1]))
        buf.write(f"{self.param_name},{folds},mean,std\n")
        for v, row, m, s in zip(self.values.tolist(), self.scores, self.mean, self.std):
            cells = ",".join(f"{x:.6g}" for x in row)
            buf.write(f"{v:.6g},{cells},{m:.6g},{s:.6g}\n")
        return buf.getvalue()


def _features(X, y):
    X = np.asarray(X)
    if X.ndim > 2:
        X = X.reshape(X.shape[0], -1)
    X = check_array(X, "X")
    y = check_labels(y, "y")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y have different lengths "
                         f"(X has {X.shape[0]} rows, y has {y.shape[0]} labels)")
    return X, y


def _fold_hooks(progress, f: int, folds: int, what: str):
    if progress is None:
        return None
    return lambda done, total, msg="": progress(f + done / max(total, 1), folds,
                                                f"{what}: fold {f + 1}/{folds}")


def cross_validate_knn(X, y, ks, folds: int = 5, metric: str = "l2", *, algorithm: str = "auto",
                       random_state=0, progress=None, cancel=None) -> CVResult:
    """k-fold cross-validation of kNN over several k, one neighbour search per fold.

    Every k is scored from one top-``max(ks)`` search per fold. Where that search would be the brute
    force, each distance between two folds is computed once for both of them (:mod:`core._cv_blocks`:
    half the distance work, the same neighbours); for uint8 L1 and a small k, each pair's pooled lower
    bounds instead (:mod:`core._prune_l1`), then exact distances for the images within reach.

    Parameters
    ----------
    X : (N, D) or (N, H, W, C) training data (uint8 stays uint8).
    y : (N,) labels.
    ks : iterable of k values (each 1 <= k <= smallest training-fold size).
    folds : number of folds (stratified, shuffled with ``random_state``).
    metric : ``"l2"`` or ``"l1"``.
    algorithm : ``"auto"`` or ``"brute"``, as in :class:`core.knn.KNearestNeighbor` (the same
        neighbours either way; ``"brute"`` ranks every training image, so its cost does not depend on k).
    progress : called with ``(done_folds_fraction, folds, message)``.

    Returns
    -------
    CVResult with ``param_name="k"``; ties between classes follow
    :data:`core.knn.TIE_RULE`.
    """
    X, y = _features(X, y)
    ks = [ks] if np.isscalar(ks) else list(ks)
    if not ks:
        raise ValueError("ks must contain at least one k (got an empty list)")
    splits = KFold(folds, random_state=random_state).split(y)
    n_train_min = min(len(tr) for tr, _ in splits)
    ks = [check_k(k, n_train_min, "k") for k in ks]
    check_choice(metric, "metric", METRICS)
    check_choice(algorithm, "algorithm", ALGORITHMS)
    kmax = max(ks)
    scores = np.empty((len(ks), len(splits)))
    blocks = None
    if _cv_blocks.usable(X, splits, kmax, metric, algorithm):
        blocks = _cv_blocks.FoldBlocks(X, splits, metric, _cv_blocks.pools(X, splits, kmax, metric, algorithm))
    for f, (tr, va) in enumerate(splits):
        check_cancel(cancel)
        model = KNearestNeighbor(kmax, metric, algorithm)
        hook = _fold_hooks(progress, f, len(splits), "kNN")
        if blocks is None:
            model.fit(X[tr], y[tr])
            dist, idx = model.kneighbors(X[va], kmax, progress=hook, cancel=cancel)
        elif blocks.pooled:          # each pair's L1 lower bounds once, then the exact candidates
            model.fit(X[tr], y[tr])
            V = blocks.keys(f, padded_width(len(tr)), cancel, hook)
            dist, idx = _cv_blocks.select_pooled(blocks.rows[f], model._train_set(), V, kmax,
                                                 blocks.sets[f].d, cancel)
            del V
        else:            # each pair's distances once, for both folds (see core._cv_blocks)
            model._fit_prepared(blocks.train_set(X[tr]), y[tr])
            V = blocks.keys(f, padded_width(len(tr)), cancel, hook)
            dist, idx = _cv_blocks.select(blocks.rows[f], model._train_set(), V, kmax, cancel)
            del V
        preds = model.predict_from_neighbors(dist, idx, ks)
        for i, k in enumerate(ks):
            scores[i, f] = accuracy(y[va], preds[k])
        report(progress, f + 1, len(splits), f"kNN: fold {f + 1}/{len(splits)} done")
    return CVResult.from_scores(np.asarray(ks), scores, "k")


def cross_validate_linear(X, y, regs, folds: int = 5, *, estimator_params: dict | None = None,
                          epochs: int = 5, random_state=0, progress=None, cancel=None) -> CVResult:
    """k-fold cross-validation of a linear classifier over regularization strengths.

    ``X`` should already be preprocessed features (see :mod:`core.preprocess`). For each
    ``reg`` and fold: ``LinearClassifier(**estimator_params, reg=reg,
    random_state=random_state).fit(X_train, y_train, epochs=epochs).score(X_val, y_val)``.
    Cancel is checked between fits (and passed to ``fit`` when it accepts it); progress
    counts fits.
    """
    from core.linear import LinearClassifier  # model_selection builds on linear; lazy to stay light

    X, y = _features(X, y)
    regs = [regs] if np.isscalar(regs) else list(regs)
    if not regs:
        raise ValueError("regs must contain at least one value (got an empty list)")
    params = dict(estimator_params or {})
    for bad in ("reg", "random_state"):
        if bad in params:
            raise ValueError(f"estimator_params must not contain {bad!r}; it is set by cross_validate_linear")
    splits = KFold(folds, random_state=random_state).split(y)
    scores = np.empty((len(regs), len(splits)))
    total = len(regs) * len(splits)
    fit_kwargs = {"epochs": epochs}
    if "cancel" in inspect.signature(LinearClassifier.fit).parameters:
        fit_kwargs["cancel"] = cancel                   # lets a long fit stop early
    for i, reg in enumerate(regs):
        for f, (tr, va) in enumerate(splits):
            check_cancel(cancel)
            model = LinearClassifier(**params, reg=reg, random_state=random_state)
            scores[i, f] = model.fit(X[tr], y[tr], **fit_kwargs).score(X[va], y[va])
            done = i * len(splits) + f + 1
            report(progress, done, total, f"linear: reg={reg:g}, fold {f + 1}/{len(splits)}")
    return CVResult.from_scores(np.asarray(regs, dtype=np.float64), scores, "reg")
