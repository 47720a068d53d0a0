"""Stratified index selection: per-class subsamples and train/validation splits.

Conventions
-----------
* Labels ``y`` are ``(N,)`` integers ``0 .. C-1`` (any integer dtype is accepted).
* Every function returns *indices* into ``y`` (``int64``, sorted ascending, so the
  original order of the data is kept); apply them with ``X[idx]``, ``y[idx]``.
* Randomness comes only from ``random_state`` via
  :func:`core.validation.check_random_state`; the same seed gives the same indices.
* "Stratified" means every class keeps (as nearly as integers allow) its share of
  the examples, like scikit-learn's ``StratifiedShuffleSplit``. The split sizes use
  ``ceil(val_fraction * N)`` for the validation part, as scikit-learn's
  ``train_test_split`` does for ``test_size``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from core.validation import check_random_state

__all__ = ["stratified_indices", "train_val_split", "stratified_split_counts"]


def _as_labels(y, name: str = "y") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (got shape {y.shape})")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class indices (got dtype {y.dtype})")
    return y.astype(np.int64, copy=False)


def stratified_indices(y, n_per_class, random_state=0) -> np.ndarray:
    """Pick up to ``n_per_class`` random examples of every class.

    Parameters
    ----------
    y : (N,) int array
        Class labels.
    n_per_class : int or None
        How many examples to keep per class. A class with fewer examples keeps all of
        them. ``None`` keeps everything.
    random_state : None, int or numpy Generator

    Returns
    -------
    idx : (M,) int64 array, sorted ascending.
    """
    y = _as_labels(y)
    if n_per_class is None:
        return np.arange(y.size, dtype=np.int64)
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, numbers.Integral):
        raise TypeError(f"n_per_class must be an integer or None (got {n_per_class!r})")
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1 (got n_per_class={n_per_class})")
    rng = check_random_state(random_state)
    keep = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if members.size > n_per_class:
            members = rng.choice(members, size=int(n_per_class), replace=False)
        keep.append(members)
    if not keep:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(keep)).astype(np.int64)


def stratified_split_counts(counts, n_val: int) -> np.ndarray:
    """Share ``n_val`` validation slots among classes in proportion to ``counts``.

    Largest-remainder rounding, so the shares add up to ``n_val``; but every class keeps
    at least one example for training (so a class of one goes wholly to training, and the
    total can then fall short of ``n_val``).

    Parameters
    ----------
    counts : (C,) int array
        Examples per class.
    n_val : int
        Total validation size.

    Returns
    -------
    (C,) int64 array of validation counts per class.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros_like(counts)
    exact = counts * (n_val / total)
    base = np.floor(exact).astype(np.int64)
    remainder = n_val - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:remainder]] += 1
    return np.minimum(base, np.maximum(counts - 1, 0))


def train_val_split(y, val_fraction, random_state=0) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into a training and a validation part, stratified by class.

    Parameters
    ----------
    y : (N,) int array
        Class labels.
    val_fraction : float
        Share of the examples for validation, ``0 < val_fraction < 1``; the validation
        part has ``ceil(val_fraction * N)`` examples (e.g. 0.2 of 1797 -> 360), fewer only
        when that would take the last example of a class (see :func:`stratified_split_counts`),
        but never zero.
    random_state : None, int or numpy Generator

    Returns
    -------
    train_idx, val_idx : int64 arrays, each sorted ascending, disjoint, covering ``y``.
    """
    y = _as_labels(y)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
        raise TypeError(f"val_fraction must be a number (got {val_fraction!r})")
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, exclusive (got val_fraction={val_fraction!r})")
    if y.size < 2:
        raise ValueError(f"y needs at least 2 examples to split (got {y.size})")
    rng = check_random_state(random_state)
    classes, inverse = np.unique(y, return_inverse=True)
    counts = np.bincount(inverse, minlength=classes.size)
    n_val = min(max(1, math.ceil(float(val_fraction) * y.size)), y.size - 1)
    per_class = stratified_split_counts(counts, n_val)
    if per_class.sum() == 0:   # only single-example classes: the validation part must still not be empty
        per_class[int(np.argmax(counts))] = 1
    val = []
    for ci in range(classes.size):
        members = np.flatnonzero(inverse == ci)
        val.append(rng.permutation(members)[: per_class[ci]])
    val_idx = np.sort(np.concatenate(val)).astype(np.int64)
    mask = np.ones(y.size, dtype=bool)
    mask[val_idx] = False
    return np.flatnonzero(mask).astype(np.int64), val_idx
