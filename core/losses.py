"""Data losses of a linear classifier: multiclass hinge (SVM), softmax (cross-entropy), one-vs-all hinge.

Conventions
-----------
* ``scores`` is ``(N, C)`` -- one row per example, one column per class -- as produced by
  ``scores = X @ W.T + b`` (``W`` is ``(C, D)``, like scikit-learn's ``coef_``; CS231n uses ``(D, C)``).
* ``y`` is ``(N,)`` integer class indices ``0 .. C-1``.
* Every loss is a pure function of the scores and returns ``(loss, dscores)``: ``loss`` is the **mean**
  over the N examples (a Python float) and ``dscores`` is ``dL/dscores`` with shape ``(N, C)`` (the 1/N
  is already in it). The model turns it into ``dW = dscores.T @ X`` and ``db = dscores.sum(0)``.
  Regularization is *not* part of these functions (see :mod:`core.regularization`).
* Computations stay in the scores' floating dtype (float32 in, float32 out); integer or list input is
  computed in float64. Logs are natural logs.

The losses
----------
Weston--Watkins multiclass hinge (the lecture's "SVM loss")::

    L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + delta)

Softmax / cross-entropy, made numerically stable by subtracting each row's maximum
(which does not change the probabilities)::

    p_ij = exp(s_ij) / sum_k exp(s_ik),   L_i = -ln p_{i, y_i}

One-vs-all hinge, used by the 2-D playground: every class is its own binary classifier with target
``t_j = +1`` for the correct class and ``-1`` for the others::

    L_i = sum_j max(0, delta - t_j * s_j)

(So with all scores 0 each example costs ``C * delta``; scikit-learn's ``LinearSVC`` optimises the same
one-vs-rest hinge per class, but sums over examples and puts ``C`` on the data term instead of ``lambda``
on the weights.)
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "hinge_loss",
    "softmax_loss",
    "one_vs_all_hinge_loss",
    "hinge_margins",
    "hinge_terms",
    "hinge_per_example",
    "softmax_probabilities",
    "softmax_per_example",
    "one_vs_all_terms",
    "LOSSES",
    "data_loss",
    "expected_initial_loss",
]


def _check(scores, y):
    """Return ``(scores, y)`` as a float ``(N, C)`` array and int64 ``(N,)`` indices; raise on misuse."""
    s = np.asarray(scores)
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (N, C) (got shape {s.shape})")
    yy = np.asarray(y)
    if yy.ndim != 1 or yy.shape[0] != s.shape[0]:
        raise ValueError(f"y must have shape ({s.shape[0]},) to match scores (got shape {yy.shape})")
    if not np.issubdtype(yy.dtype, np.integer):
        raise TypeError(f"y must hold integer class indices (got dtype {yy.dtype})")
    if yy.size and (yy.min() < 0 or yy.max() >= s.shape[1]):
        raise ValueError(f"y must be between 0 and {s.shape[1] - 1} for {s.shape[1]} classes "
                         f"(got labels {int(yy.min())}..{int(yy.max())})")
    if s.shape[0] == 0:
        raise ValueError("scores is empty (got 0 examples)")
    return s, yy.astype(np.int64, copy=False)


# --------------------------------------------------------------------------- multiclass hinge
def hinge_margins(scores, y, delta=1.0):
    """Unclipped margins ``s_j - s_{y_i} + delta`` (the lecture's table before ``max(0, .)``).

    Parameters
    ----------
    scores : array (N, C)
    y : int array (N,)
    delta : float

    Returns
    -------
    margins : ndarray (N, C)
        ``margins[i, y_i]`` is set to 0 (the correct class is not compared with itself).
    """
    s, y = _check(scores, y)
    rows = np.arange(s.shape[0])
    m = s - s[rows, y][:, None] + s.dtype.type(delta)
    m[rows, y] = 0
    return m


def hinge_terms(scores, y, delta=1.0):
    """Clipped hinge terms ``max(0, s_j - s_{y_i} + delta)``, shape ``(N, C)``, 0 at ``j = y_i``."""
    m = hinge_margins(scores, y, delta)
    np.maximum(m, 0, out=m)
    return m


def hinge_per_example(scores, y, delta=1.0):
    """Per-example multiclass hinge loss ``L_i``, shape ``(N,)`` (the lecture: 2.9, 0, 12.9)."""
    return hinge_terms(scores, y, delta).sum(axis=1)


def hinge_loss(scores, y, delta=1.0):
    """Weston--Watkins multiclass hinge loss, mean over the batch, and its gradient.

    Parameters
    ----------
    scores : array (N, C)
    y : int array (N,)
        Correct class of each row.
    delta : float
        The margin (1.0 in the lecture).

    Returns
    -------
    loss : float
        ``mean_i sum_{j != y_i} max(0, s_ij - s_{i,y_i} + delta)``.
    dscores : ndarray (N, C)
        ``dloss/dscores``: ``1/N`` where a term is positive, ``-(number of positive terms)/N`` at
        ``y_i``. (At a kink, ``margin == 0``, the subgradient 0 is used.)
    """
    s, y = _check(scores, y)
    return _hinge(s, y, delta)


def _hinge(s, y, delta, n=None):
    """:func:`hinge_loss` for already checked ``s`` (N, C) float and ``y`` (N,) int64 indices; the sum
    and the gradient are divided by ``n`` (default N: the mean; a larger n for part of a batch)."""
    n = s.shape[0] if n is None else n
    rows = np.arange(s.shape[0])
    m = s - s[rows, y][:, None]
    m += s.dtype.type(delta)
    m[rows, y] = 0
    np.maximum(m, 0, out=m)
    loss = float(m.sum(dtype=np.float64)) / n
    d = (m > 0).astype(s.dtype)
    d[rows, y] = -d.sum(axis=1)
    d *= s.dtype.type(1.0 / n)
    return loss, d


# --------------------------------------------------------------------------- softmax
def softmax_probabilities(scores):
    """Row-wise softmax ``exp(s_j) / sum_k exp(s_k)``, stable (the row max is subtracted first).

    Parameters
    ----------
    scores : array (N, C)

    Returns
    -------
    probs : ndarray (N, C), rows sum to 1, same float dtype as ``scores``.
    """
    s = np.asarray(scores)
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (N, C) (got shape {s.shape})")
    e = s - s.max(axis=1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=1, keepdims=True)
    return e


def _log_softmax_correct(s, y):
    """``ln p_{i, y_i}`` for every row, computed stably; returns ``(log_p (N,), shifted_exp (N, C), sum (N, 1))``."""
    rows = np.arange(s.shape[0])
    shifted = s - s.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    z = e.sum(axis=1, keepdims=True)
    log_p = shifted[rows, y] - np.log(z[:, 0])
    return log_p, e, z


def softmax_per_example(scores, y):
    """Per-example cross-entropy ``-ln p_{i, y_i}``, shape ``(N,)`` (the lecture's cat: ``-ln 0.13``)."""
    s, y = _check(scores, y)
    log_p, _, _ = _log_softmax_correct(s, y)
    return -log_p


def softmax_loss(scores, y):
    """Softmax (cross-entropy) loss, mean over the batch, and its gradient.

    Parameters
    ----------
    scores : array (N, C)
    y : int array (N,)

    Returns
    -------
    loss : float
        ``mean_i -ln(softmax(s_i)[y_i])`` (natural log), computed stably.
    dscores : ndarray (N, C)
        ``(p - onehot(y)) / N``.
    """
    s, y = _check(scores, y)
    return _softmax(s, y)


def _softmax(s, y, delta=None, n=None):
    """:func:`softmax_loss` for already checked ``s`` and ``y`` (``delta`` is ignored; ``n`` as in
    :func:`_hinge`)."""
    n = s.shape[0] if n is None else n
    log_p, e, z = _log_softmax_correct(s, y)
    loss = -float(log_p.sum(dtype=np.float64)) / n
    e /= z
    e[np.arange(s.shape[0]), y] -= 1
    e *= s.dtype.type(1.0 / n)
    return loss, e


# --------------------------------------------------------------------------- one-vs-all hinge
def one_vs_all_terms(scores, y, delta=1.0):
    """One-vs-all hinge terms ``max(0, delta - t_j * s_j)``, ``t_j = +1`` at ``y_i`` else ``-1``; ``(N, C)``."""
    s, y = _check(scores, y)
    t = np.full_like(s, -1)
    t[np.arange(s.shape[0]), y] = 1
    m = s.dtype.type(delta) - t * s
    np.maximum(m, 0, out=m)
    return m


def one_vs_all_hinge_loss(scores, y, delta=1.0):
    """One-vs-all (one-vs-rest) hinge loss, summed over classes, mean over the batch, and its gradient.

    Parameters
    ----------
    scores : array (N, C)
    y : int array (N,)
    delta : float

    Returns
    -------
    loss : float
        ``mean_i sum_j max(0, delta - t_ij * s_ij)`` with ``t_ij = +1`` if ``j == y_i`` else ``-1``.
    dscores : ndarray (N, C)
        ``-t_ij / N`` where the term is positive, else 0.
    """
    s, y = _check(scores, y)
    return _one_vs_all(s, y, delta)


def _one_vs_all(s, y, delta, n=None):
    """:func:`one_vs_all_hinge_loss` for already checked ``s`` and ``y`` (``n`` as in :func:`_hinge`)."""
    n = s.shape[0] if n is None else n
    t = np.full_like(s, -1)
    t[np.arange(s.shape[0]), y] = 1
    m = s.dtype.type(delta) - t * s
    loss = float(np.maximum(m, 0).sum(dtype=np.float64)) / n
    d = np.where(m > 0, -t, 0).astype(s.dtype, copy=False)
    d *= s.dtype.type(1.0 / n)
    return loss, d


LOSSES = {"hinge": hinge_loss, "softmax": softmax_loss, "ova_hinge": one_vs_all_hinge_loss}
"""Name -> ``f(scores, y[, delta]) -> (loss, dscores)``; the names ``LinearClassifier(loss=...)`` takes."""


_UNCHECKED = {"hinge": _hinge, "softmax": _softmax, "ova_hinge": _one_vs_all}


def data_loss(name, scores, y, delta=1.0, *, checked=False, n=None):
    """Dispatch on a loss name from :data:`LOSSES`; returns ``(loss, dscores)``.

    ``checked=True`` skips the checks of ``scores``/``y`` (the SGD hot loop: ``scores`` is a fresh
    float32 (N, C) array and ``y`` int64 indices in range, both checked when training started); with it,
    ``n`` divides the summed loss and the gradient instead of N (rows that are part of a batch of n).

    Raises
    ------
    ValueError
        If ``name`` is not one of ``"hinge"``, ``"softmax"``, ``"ova_hinge"``.
    """
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))} (got loss={name!r})")
    if checked:
        return _UNCHECKED[name](scores, y, delta, n)
    if name == "softmax":
        return softmax_loss(scores, y)
    return LOSSES[name](scores, y, delta)


def expected_initial_loss(loss, n_classes, delta=1.0):
    """The sanity-check value of the data loss when all scores are (almost) equal, e.g. at a tiny random W.

    ``hinge``: every wrong class contributes ``delta``, so ``(C - 1) * delta`` (9 for CIFAR-10).
    ``softmax``: every probability is ``1/C``, so ``ln C`` (2.303 for CIFAR-10).
    ``ova_hinge``: every class contributes ``delta``, so ``C * delta``.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))} (got loss={loss!r})")
    c = int(n_classes)
    if c < 1:
        raise ValueError(f"n_classes must be >= 1 (got n_classes={n_classes!r})")
    if loss == "hinge":
        return (c - 1) * float(delta)
    if loss == "softmax":
        return math.log(c)
    return c * float(delta)
