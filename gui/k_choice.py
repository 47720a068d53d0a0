"""The four ways of choosing k (the lecture's ideas #1-#4) as background work, and the k-list parser.

:func:`run_mode` runs in a worker thread (runner kind ``"knn-cv"``) and returns a
:class:`core.model_selection.CVResult`: ideas #1-#3 score one split (one column of scores), idea
#4 is :func:`core.model_selection.cross_validate_knn` (one neighbour search per fold, every k
scored from it).
"""
from __future__ import annotations

import numpy as np

from core.config import DEFAULTS
from core.datasets import train_val_split
from core.knn import KNearestNeighbor
from core.metrics import accuracy
from core.model_selection import CVResult, cross_validate_knn

__all__ = ["MODES", "DEFAULT_KS", "parse_ks", "format_ks", "run_mode"]

MODES = {
    "train": ("1 · On the training data", "<b>Idea #1 — BAD.</b> Every training image is its own nearest "
              "neighbour (distance 0), so k = 1 scores (nearly) 100% here — always. Choosing k this way is "
              "cheating: it says nothing about images kNN has not memorised."),
    "test": ("2 · On the test data", "<b>Idea #2 — BAD.</b> The best k on the test set looks good, but then the "
             "test set no longer tells us how kNN does on new data. Keep the test set for the very end."),
    "val": ("3 · On a validation split", "<b>Idea #3 — better.</b> Hold out part of the training data, choose k "
            "on it, and touch the test set only once at the end."),
    "cv": ("4 · By k-fold cross-validation", "<b>Idea #4 — cross-validation.</b> Split the training data into "
           "folds; each fold is the validation set once. Each dot is one fold; the line is their mean with ±1 std "
           "bars. Useful for small data sets; too costly for deep learning."),
}
_TRAIN_QUERIES = 2000   # idea #1 scores at most this many training images (each finds itself)
DEFAULT_KS = tuple(DEFAULTS.default_ks)


def format_ks(ks) -> str:
    return ", ".join(str(k) for k in ks)


def parse_ks(text: str, n_train: int | None = None) -> list[int]:
    """``"1, 3, 5"`` -> ``[1, 3, 5]`` (sorted, duplicates dropped); ValueError says what is wrong."""
    tokens = [t for t in text.replace(";", ",").replace(" ", ",").split(",") if t]
    if not tokens:
        raise ValueError("Enter at least one k value, e.g. 1, 3, 5")
    ks = []
    for t in tokens:
        try:
            k = int(t)
        except ValueError:
            raise ValueError(f"'{t}' is not a whole number: k values are integers like 1, 3, 5") from None
        if k < 1:
            raise ValueError(f"k must be at least 1 (got {k})")
        if n_train is not None and k > n_train:
            raise ValueError(f"k = {k} is more than the {n_train:,} training images")
        ks.append(k)
    return sorted(set(ks))


def run_mode(mode, X, y, X_test, y_test, ks, folds, metric, val_fraction, seed, ctx) -> CVResult:
    """Accuracy for every k under ``mode`` (worker thread)."""
    if mode == "cv":
        return cross_validate_knn(X, y, ks, folds=folds, metric=metric, random_state=seed,
                                  progress=ctx.progress, cancel=ctx.cancelled)
    if mode == "val":
        tr, va = train_val_split(y, val_fraction, seed)
        model, Xq, yq = KNearestNeighbor(metric=metric).fit(X[tr], y[tr]), X[va], y[va]
    elif mode == "test":
        model, Xq, yq = KNearestNeighbor(metric=metric).fit(X, y), X_test, y_test
    else:
        q = np.sort(np.random.default_rng(seed).permutation(len(y))[:_TRAIN_QUERIES])
        model, Xq, yq = KNearestNeighbor(metric=metric).fit(X, y), X[q], y[q]
    preds = model.predict_many_k(Xq, ks, progress=ctx.progress, cancel=ctx.cancelled)
    accs = np.array([[accuracy(yq, preds[k])] for k in ks])    # (K, 1): one "fold"
    return CVResult.from_scores(np.asarray(ks), accs, "k")


