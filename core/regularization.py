"""Regularization penalties ``R(W)`` and their gradients.

Conventions
-----------
* ``W`` is ``(C, D)`` (one row -- one template -- per class). The bias ``b`` is **never** regularized:
  pass only ``W``.
* The full loss is ``L = mean data loss + reg * R(W)`` (``reg`` is the lecture's lambda).
* L2: ``R(W) = sum W**2`` with gradient ``2 W`` -- no 1/2 in front, as on the slide, so for
  ``w1 = [1, 0, 0, 0]`` and ``w2 = [.25, .25, .25, .25]`` we get ``R(w1) = 1`` and ``R(w2) = 0.25``
  (L2 prefers spreading the weight out). CS231n's assignments use the same scaling; scikit-learn's
  ``alpha`` multiplies ``0.5 * ||w||**2``.
* L1: ``R(W) = sum |W|`` with (sub)gradient ``sign(W)`` (0 at exactly 0). For the same ``w1``, ``w2``
  both give ``R = 1``.
* Every function returns ``(R, dR)``: ``R`` a Python float, ``dR`` an array of ``W``'s shape and float dtype.
"""
from __future__ import annotations

import numpy as np

__all__ = ["l2_penalty", "l1_penalty", "penalty", "PENALTIES"]

PENALTIES = ("l2", "l1", "none")
"""Names accepted by :func:`penalty` and ``LinearClassifier(penalty=...)`` (``None`` means ``"none"``)."""


def _as_float(W):
    W = np.asarray(W)
    if not np.issubdtype(W.dtype, np.floating):
        W = W.astype(np.float64)
    return W


def l2_penalty(W):
    """L2 penalty ``R = sum W**2`` and its gradient ``dR = 2 W``.

    Parameters
    ----------
    W : array (C, D) (any shape works)

    Returns
    -------
    R : float
    dR : ndarray, same shape as ``W``
    """
    W = _as_float(W)
    flat = W.ravel()
    return float(np.dot(flat, flat)), 2 * W


def l1_penalty(W):
    """L1 penalty ``R = sum |W|`` and its subgradient ``dR = sign(W)``.

    Parameters
    ----------
    W : array (C, D) (any shape works)

    Returns
    -------
    R : float
    dR : ndarray, same shape as ``W`` (values -1, 0, +1)
    """
    W = _as_float(W)
    return float(np.abs(W).sum(dtype=np.float64)), np.sign(W)


def penalty(W, kind):
    """Dispatch on the penalty name: ``"l2"``, ``"l1"``, or ``None``/``"none"`` (``R = 0``, ``dR = 0``).

    Raises
    ------
    ValueError
        If ``kind`` is not one of the names above.
    """
    if kind is None or kind == "none":
        W = _as_float(W)
        return 0.0, np.zeros_like(W)
    if kind == "l2":
        return l2_penalty(W)
    if kind == "l1":
        return l1_penalty(W)
    raise ValueError(f"penalty must be one of 'l2', 'l1', 'none' or None (got penalty={kind!r})")
