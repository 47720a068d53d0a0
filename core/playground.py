"""The 2-D playground's linear classifier: loss parts, one full-batch gradient step, random start.

Conventions
-----------
* Points ``X`` are ``(N, 2)`` float64, labels ``y`` ``(N,)`` int ``0 .. C-1``, ``W`` is ``(C, 2)``,
  ``b`` is ``(C,)``, ``scores = X @ W.T + b`` ``(N, C)``.
* The loss is the project's: ``L = mean data loss + reg * R(W)`` with ``R`` from
  :mod:`core.regularization` (L2: ``sum W**2``, gradient ``2 W``; L1: ``sum |W|``, gradient
  ``sign W``); the bias is not regularized. The data losses come from :mod:`core.losses`
  (``"hinge"`` = Weston--Watkins, ``"ova_hinge"`` = one-vs-all hinge, ``"softmax"``).
* A step is plain full-batch gradient descent: ``W -= step_size * (dscores.T @ X + reg * dR)``,
  ``b -= step_size * dscores.sum(0)``.
* Difference from the CS231n web demo (vision.stanford.edu/teaching/cs231n-demos/linear-classify):
  its step uses ``0.5 * reg * W`` as the regularization gradient; here the gradient is always the
  exact one of the displayed loss (``2 * reg * W`` for L2), so the printed total and the step agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.losses import data_loss, hinge_per_example, one_vs_all_terms, softmax_per_example
from core.regularization import penalty as _penalty
from core.validation import check_random_state

__all__ = ["LOSS_NAMES", "PlaygroundLoss", "per_example_loss", "evaluate", "gradient_step", "random_params"]

LOSS_NAMES = {
    "hinge": "Weston–Watkins hinge (multiclass SVM)",
    "ova_hinge": "One-vs-all hinge",
    "softmax": "Softmax (cross-entropy)",
}
"""Loss name -> what the playground's menu calls it."""


@dataclass(frozen=True)
class PlaygroundLoss:
    """The loss of ``(W, b)`` on the playground's points.

    Attributes
    ----------
    data : float
        Mean data loss over the N points (0 when there are no points).
    reg : float
        ``reg * R(W)``.
    total : float
        ``data + reg``.
    dW : ndarray (C, 2)
        Gradient of ``total`` w.r.t. ``W``.
    db : ndarray (C,)
        Gradient of ``total`` w.r.t. ``b``.
    scores : ndarray (N, C)
    per_example : ndarray (N,)
        Each point's data loss ``L_i`` (their mean is ``data``).
    penalty_value : float
        ``R(W)`` itself (before multiplying by ``reg``).
    """

    data: float
    reg: float
    total: float
    dW: np.ndarray
    db: np.ndarray
    scores: np.ndarray
    per_example: np.ndarray
    penalty_value: float


def _check(W, b, X, y):
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if X.size == 0:
        X = X.reshape(0, 2)
    y = np.asarray(y, dtype=np.int64).ravel()
    if W.ndim != 2 or W.shape[1] != 2:
        raise ValueError(f"W must have shape (C, 2) (got shape {W.shape})")
    if b.shape != (W.shape[0],):
        raise ValueError(f"b must have shape ({W.shape[0]},) to match W (got shape {b.shape})")
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2) (got shape {X.shape})")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X (got shape {y.shape})")
    if y.size and (y.min() < 0 or y.max() >= W.shape[0]):
        raise ValueError(f"y must hold labels 0..{W.shape[0] - 1} for {W.shape[0]} classes "
                         f"(got {int(y.min())}..{int(y.max())})")
    return W, b, X, y


def per_example_loss(loss, scores, y, delta=1.0):
    """Each point's data loss ``L_i`` for a loss name of :data:`LOSS_NAMES`; ``(N,)``."""
    if loss == "hinge":
        return hinge_per_example(scores, y, delta)
    if loss == "softmax":
        return softmax_per_example(scores, y)
    if loss == "ova_hinge":
        return one_vs_all_terms(scores, y, delta).sum(axis=1)
    raise ValueError(f"loss must be one of {', '.join(map(repr, LOSS_NAMES))} (got loss={loss!r})")


def evaluate(W, b, X, y, loss="hinge", reg=0.0, penalty="l2", delta=1.0):
    """Loss parts and gradients of ``(W, b)`` on ``(X, y)``.

    Parameters
    ----------
    W : array (C, 2)
    b : array (C,)
    X : array (N, 2)
        May be empty (N = 0): the data loss is then 0.
    y : int array (N,)
    loss : {"hinge", "ova_hinge", "softmax"}
    reg : float
        lambda, ``>= 0``.
    penalty : {"l2", "l1", "none"} or None
    delta : float
        Hinge margin.

    Returns
    -------
    PlaygroundLoss
    """
    W, b, X, y = _check(W, b, X, y)
    if loss not in LOSS_NAMES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSS_NAMES))} (got loss={loss!r})")
    reg = float(reg)
    if not np.isfinite(reg) or reg < 0:
        raise ValueError(f"reg (lambda) must be a finite number >= 0 (got reg={reg})")
    scores = X @ W.T + b
    if X.shape[0]:
        data, dscores = data_loss(loss, scores, y, delta)
        per = per_example_loss(loss, scores, y, delta)
    else:
        data, dscores, per = 0.0, np.zeros_like(scores), np.zeros(0)
    R, dR = _penalty(W, penalty)
    dW = dscores.T @ X + reg * dR
    db = dscores.sum(axis=0)
    return PlaygroundLoss(data=float(data), reg=reg * R, total=float(data) + reg * R, dW=dW, db=db,
                          scores=scores, per_example=np.asarray(per, dtype=np.float64), penalty_value=R)


def gradient_step(W, b, X, y, loss, reg, penalty, step_size, delta=1.0):
    """One full-batch gradient-descent step.

    Parameters
    ----------
    W, b, X, y, loss, reg, penalty, delta
        As in :func:`evaluate`.
    step_size : float
        Learning rate, ``> 0``.

    Returns
    -------
    W_new : ndarray (C, 2)
    b_new : ndarray (C,)
    parts : PlaygroundLoss
        The loss and gradients at the *old* ``(W, b)`` -- the ones the step followed.
    """
    step_size = float(step_size)
    if not np.isfinite(step_size) or step_size <= 0:
        raise ValueError(f"step_size must be a finite number > 0 (got step_size={step_size})")
    parts = evaluate(W, b, X, y, loss, reg, penalty, delta)
    W_new = np.asarray(W, dtype=np.float64) - step_size * parts.dW
    b_new = np.asarray(b, dtype=np.float64) - step_size * parts.db
    return W_new, b_new, parts


def random_params(n_classes, scale=1.0, random_state=None):
    """A random start: ``W ~ N(0, scale^2)`` of shape ``(C, 2)`` and ``b ~ N(0, (scale/2)^2)`` ``(C,)``."""
    c = int(n_classes)
    if c < 1:
        raise ValueError(f"n_classes must be >= 1 (got n_classes={n_classes!r})")
    rng = check_random_state(random_state)
    return rng.normal(0.0, float(scale), size=(c, 2)), rng.normal(0.0, float(scale) / 2, size=c)
