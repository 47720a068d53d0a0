"""Argument checks shared by the loss-lab modules (messages name the parameter, rule and value)."""
from __future__ import annotations

import math

import numpy as np

from core.loss_lab.format import fmt

__all__ = ["check_table", "check_delta", "mean_expr"]


def check_table(scores, y):
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 2 or s.shape[1] < 1:
        raise ValueError(f"scores must be a (C, N) table with C >= 2 classes, one column per image "
                         f"(got shape {s.shape})")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite numbers (got NaN or infinity)")
    y = np.asarray(y)
    if y.shape != (s.shape[1],):
        raise ValueError(f"y must give the correct class of each of the {s.shape[1]} images "
                         f"(got shape {y.shape})")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= s.shape[0]:
        raise ValueError(f"y must hold classes 0..{s.shape[0] - 1} (got {y.tolist()})")
    return s, y


def check_delta(delta):
    d = float(delta)
    if not math.isfinite(d) or d < 0:
        raise ValueError(f"delta (the margin) must be a finite number >= 0 (got delta={delta})")
    return d


def mean_expr(losses) -> str:
    return f"({' + '.join(fmt(v) for v in losses)}) / {len(losses)}"
