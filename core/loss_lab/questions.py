"""The slide's questions about the losses, answered for any score table.

What if a score changes a bit (:func:`nudge_effect`)? The minimum and maximum possible loss
(:func:`loss_facts`, :func:`score_sweep`)? The loss when all scores are ~0 -- ``C - 1`` and ``ln C``,
the sanity check at initialisation (:func:`loss_facts`, :func:`near_zero_scores`)? And the "what if"
variants of the hinge loss (:func:`hinge_variants`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.loss_lab._checks import check_delta, check_table
from core.losses import expected_initial_loss, hinge_per_example, hinge_terms, softmax_per_example
from core.validation import check_random_state

__all__ = ["LossFacts", "loss_facts", "NudgeEffect", "nudge_effect", "loss_vs_score", "score_sweep",
           "hinge_zero_point", "near_zero_scores", "hinge_variants"]


@dataclass(frozen=True)
class LossFacts:
    n_classes: int
    delta: float
    hinge_min: float
    hinge_max: float
    softmax_min: float
    softmax_max: float
    hinge_at_zero: float      # (C - 1) * delta
    softmax_at_zero: float    # ln C


def loss_facts(n_classes, delta=1.0) -> LossFacts:
    """Min/max of each per-image loss and its value when all scores are ~0 (the sanity check)."""
    c = int(n_classes)
    if c < 2:
        raise ValueError(f"n_classes must be >= 2 (got n_classes={n_classes!r})")
    delta = check_delta(delta)
    return LossFacts(c, delta, 0.0, math.inf, 0.0, math.inf,
                     expected_initial_loss("hinge", c, delta), expected_initial_loss("softmax", c))


@dataclass(frozen=True)
class NudgeEffect:
    image: int
    cls: int
    amount: float
    hinge_before: float
    hinge_after: float
    softmax_before: float
    softmax_after: float

    @property
    def hinge_changed(self) -> bool:
        return not math.isclose(self.hinge_before, self.hinge_after, rel_tol=1e-12, abs_tol=1e-12)

    @property
    def softmax_changed(self) -> bool:
        return not math.isclose(self.softmax_before, self.softmax_after, rel_tol=1e-12, abs_tol=1e-12)


def nudge_effect(scores, y, image, cls, amount, delta=1.0) -> NudgeEffect:
    """Image ``image``'s hinge and softmax losses before and after adding ``amount`` to one score.

    On the slide's car image (hinge loss 0, every margin > delta) a small nudge leaves the hinge
    loss at 0 while the softmax loss moves.
    """
    s, y = check_table(scores, y)
    delta = check_delta(delta)
    i, c = int(image), int(cls)
    if not (0 <= i < s.shape[1] and 0 <= c < s.shape[0]):
        raise ValueError(f"image must be 0..{s.shape[1] - 1} and cls 0..{s.shape[0] - 1} (got {image}, {cls})")
    after = s.copy()
    after[c, i] += float(amount)
    col_b, col_a = s[:, i:i + 1].T, after[:, i:i + 1].T
    yy = y[i:i + 1]
    return NudgeEffect(i, c, float(amount),
                       float(hinge_per_example(col_b, yy, delta)[0]), float(hinge_per_example(col_a, yy, delta)[0]),
                       float(softmax_per_example(col_b, yy)[0]), float(softmax_per_example(col_a, yy)[0]))


def loss_vs_score(scores, y, image, values, delta=1.0, cls=None):
    """Image ``image``'s losses as one of its scores (default: the correct one) sweeps ``values``.

    Returns
    -------
    hinge : ndarray (K,)
    softmax : ndarray (K,)
    """
    s, y = check_table(scores, y)
    delta = check_delta(delta)
    i = int(image)
    c = int(y[i]) if cls is None else int(cls)
    v = np.asarray(values, dtype=np.float64).ravel()
    cols = np.repeat(s[:, i][None, :], v.size, axis=0)   # (K, C)
    cols[:, c] = v
    yy = np.full(v.size, y[i])
    return hinge_per_example(cols, yy, delta), softmax_per_example(cols, yy)


def score_sweep(scores, y, image, delta=1.0, n=241):
    """Sweep image ``image``'s correct-class score across a range that shows both losses' shapes.

    Returns
    -------
    values : ndarray (n,)
        From 8 below the lowest other score to 6 above the hinge's zero point.
    hinge, softmax : ndarray (n,)
    zero_point : float
        :func:`hinge_zero_point`.
    """
    s, y = check_table(scores, y)
    i = int(image)
    zp = hinge_zero_point(s, y, i, delta)
    lo = float(min(np.delete(s[:, i], y[i]).min(), s[y[i], i]) - 8.0)
    hi = float(max(zp, s[y[i], i]) + 6.0)
    values = np.linspace(lo, hi, int(n))
    h, sm = loss_vs_score(s, y, i, values, delta)
    return values, h, sm, zp


def hinge_zero_point(scores, y, image, delta=1.0) -> float:
    """The correct-class score from which image ``image``'s hinge loss is exactly 0: ``max_{j≠y} s_j + delta``."""
    s, y = check_table(scores, y)
    delta = check_delta(delta)
    i = int(image)
    others = np.delete(s[:, i], y[i])
    return float(others.max() + delta)


def near_zero_scores(n_classes, n_images, scale=1e-3, random_state=0):
    """A ``(C, N)`` table of tiny random scores, as at initialisation with a small random W."""
    rng = check_random_state(random_state)
    return np.round(rng.normal(0.0, float(scale), size=(int(n_classes), int(n_images))), 6)


def hinge_variants(scores, y, delta=1.0):
    """The slide's "what if" variants of the hinge loss, per image and mean.

    Returns
    -------
    dict name -> (per_image (N,), mean)
        ``"sum over j ≠ y (slide)"``, ``"sum over all j (incl. y)"`` (adds delta to every image),
        ``"mean over j ≠ y"`` (divides by C - 1: same minimiser), ``"squared terms"`` (a different loss).
    """
    s, y = check_table(scores, y)
    delta = check_delta(delta)
    sn = s.T
    terms = hinge_terms(sn, y, delta)
    rows = np.arange(sn.shape[0])
    all_j = np.maximum(0.0, sn - sn[rows, y][:, None] + delta).sum(axis=1)
    out = {
        "sum over j ≠ y (slide)": terms.sum(axis=1),
        "sum over all j (incl. y)": all_j,
        "mean over j ≠ y": terms.sum(axis=1) / (sn.shape[1] - 1),
        "squared terms": (terms ** 2).sum(axis=1),
    }
    return {k: (v, float(v.mean())) for k, v in out.items()}
