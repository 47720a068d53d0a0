"""The slide's regularization example and the full loss ``L = data loss + lambda * R(W)``.

``x = [1, 1, 1, 1]``, ``w1 = [1, 0, 0, 0]``, ``w2 = [.25, .25, .25, .25]``: both give the score 1, but
``R_L2(w1) = 1`` vs ``R_L2(w2) = 0.25`` (``R = sum w**2``, no 1/2) while L1 gives 1 vs 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.loss_lab.format import fmt
from core.regularization import l1_penalty, l2_penalty

__all__ = ["SLIDE_X", "SLIDE_W1", "SLIDE_W2", "RegExample", "regularization_example", "FullLoss", "full_loss"]

SLIDE_X = np.array([1.0, 1.0, 1.0, 1.0])
SLIDE_W1 = np.array([1.0, 0.0, 0.0, 0.0])
SLIDE_W2 = np.array([0.25, 0.25, 0.25, 0.25])


@dataclass(frozen=True)
class RegExample:
    x: np.ndarray
    w1: np.ndarray
    w2: np.ndarray
    score1: float        # w1 . x
    score2: float        # w2 . x
    l2: tuple            # (R(w1), R(w2)) with R = sum w^2
    l1: tuple            # (R(w1), R(w2)) with R = sum |w|

    @property
    def same_score(self) -> bool:
        """True when ``w1 . x == w2 . x`` (so any data loss is the same for both)."""
        return math.isclose(self.score1, self.score2, rel_tol=1e-12, abs_tol=1e-12)

    def preferred(self, kind) -> int | None:
        """0 if ``kind`` ("l2"/"l1") prefers w1, 1 if w2, None if it cannot tell them apart."""
        r = self.l2 if kind == "l2" else self.l1
        if math.isclose(r[0], r[1], rel_tol=1e-12, abs_tol=1e-12):
            return None
        return 0 if r[0] < r[1] else 1


def regularization_example(x=SLIDE_X, w1=SLIDE_W1, w2=SLIDE_W2) -> RegExample:
    """The slide's example: same scores ``w1.x = w2.x = 1`` but ``R_L2(w1) = 1`` vs ``R_L2(w2) = 0.25``."""
    x, w1, w2 = (np.asarray(a, dtype=np.float64).ravel() for a in (x, w1, w2))
    if not (x.shape == w1.shape == w2.shape) or x.size == 0:
        raise ValueError(f"x, w1 and w2 must have the same length (got {x.size}, {w1.size}, {w2.size})")
    return RegExample(x, w1, w2, float(w1 @ x), float(w2 @ x),
                      (l2_penalty(w1)[0], l2_penalty(w2)[0]), (l1_penalty(w1)[0], l1_penalty(w2)[0]))


@dataclass(frozen=True)
class FullLoss:
    data: float
    lam: float
    R: float
    reg_term: float
    total: float
    text: str            # "L = 5.27 + 0.1 × 1 = 5.37"
    total_text: str      # "5.37" (same rounding as in ``text``)


def full_loss(data, lam, R) -> FullLoss:
    """``L = data loss + lambda * R(W)``, with the sum written out."""
    data, lam, R = float(data), float(lam), float(R)
    if not math.isfinite(lam) or lam < 0:
        raise ValueError(f"lambda must be a finite number >= 0 (got lambda={lam})")
    reg = lam * R
    total = data + reg
    digits = 2 if reg == 0 or abs(reg) >= 0.01 else 4
    text = f"L = {fmt(data, digits)} + {fmt(lam, 4)} × {fmt(R, 4)} = {fmt(total, digits)}"
    return FullLoss(data, lam, R, reg, total, text, fmt(total, digits))
