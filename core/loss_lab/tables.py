"""The slide's hinge and softmax tables for a ``(C, N)`` score table (one column per image).

:func:`hinge_table` writes every term ``max(0, s_j - s_y + delta)`` out with its numbers (slide: 2.9, 0,
12.9, mean 5.27); :func:`softmax_table` gives the chain scores -> exp -> probabilities -> ``-ln p``
(slide: 0.13 / 0.87 / 0.00, ``-ln 0.13 = 2.04``); :func:`log_base_note` explains the slide's 0.89
(log base 10). The arithmetic is :mod:`core.losses` on the transposed ``(N, C)`` table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.loss_lab._checks import check_delta, check_table, mean_expr
from core.loss_lab.format import MINUS, fmt, fmt_prob, fmt_score, paren
from core.losses import hinge_margins, hinge_per_example, hinge_terms, softmax_per_example, softmax_probabilities

__all__ = ["HingeTerm", "HingeImage", "HingeTable", "hinge_table",
           "SoftmaxImage", "SoftmaxTable", "softmax_table", "LogNote", "log_base_note"]


@dataclass(frozen=True)
class HingeTerm:
    """One term ``max(0, s_j - s_y + delta)`` of an image's hinge loss."""
    cls: int
    s_j: float
    s_y: float
    margin: float       # s_j - s_y + delta, before clipping
    value: float        # max(0, margin)
    text: str           # "max(0, 5.1 − 3.2 + 1)"


@dataclass(frozen=True)
class HingeImage:
    """An image's hinge loss written out line by line."""
    image: int
    label: int
    terms: tuple
    loss: float
    threshold: float    # s_y - delta: any other score above it pays the difference
    lines: tuple        # ("max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1)", "= max(0, 2.9) + ...", ...)


@dataclass(frozen=True)
class HingeTable:
    images: tuple
    losses: np.ndarray  # (N,)
    mean: float
    delta: float
    mean_expr: str      # "(2.9 + 0 + 12.9) / 3"
    mean_text: str      # "L = (2.9 + 0 + 12.9) / 3 = 5.27"


def hinge_table(scores, y, delta=1.0) -> HingeTable:
    """Every term of the multiclass hinge loss for a ``(C, N)`` score table, with its numbers.

    Parameters
    ----------
    scores : array (C, N)
        One column per image, like the slide.
    y : int array (N,)
    delta : float

    Returns
    -------
    HingeTable
        For the slide's table: losses 2.9, 0, 12.9 and mean 5.27.
    """
    s, y = check_table(scores, y)
    delta = check_delta(delta)
    sn = s.T                                          # (N, C) for core.losses
    margins = hinge_margins(sn, y, delta)
    clipped = hinge_terms(sn, y, delta)
    losses = hinge_per_example(sn, y, delta)
    images = []
    for i in range(sn.shape[0]):
        sy = sn[i, y[i]]
        terms = []
        for j in range(sn.shape[1]):
            if j == y[i]:
                continue
            text = f"max(0, {fmt_score(sn[i, j])} {MINUS} {paren(sy)} + {fmt(delta)})"
            terms.append(HingeTerm(j, float(sn[i, j]), float(sy), float(margins[i, j]),
                                   float(clipped[i, j]), text))
        lines = (" + ".join(t.text for t in terms),
                 "= " + " + ".join(f"max(0, {fmt_score(t.margin)})" for t in terms),
                 "= " + " + ".join(fmt(t.value) for t in terms),
                 "= " + fmt(losses[i]))
        images.append(HingeImage(i, int(y[i]), tuple(terms), float(losses[i]), float(sy - delta), lines))
    mean = float(losses.mean())
    expr = mean_expr(losses)
    return HingeTable(tuple(images), losses, mean, delta, expr, f"L = {expr} = {fmt(mean)}")


@dataclass(frozen=True)
class SoftmaxImage:
    """An image's softmax chain: scores -> exp -> normalised probabilities -> -ln p."""
    image: int
    label: int
    scores: np.ndarray   # (C,)
    exp: np.ndarray      # (C,) unnormalised probabilities exp(s) (inf if it overflows)
    exp_sum: float
    probs: np.ndarray    # (C,) computed stably
    loss: float          # -ln p_y
    loss_log10: float    # -log10 p_y (what the slide printed)
    loss_text: str       # "L = −ln(0.13) = 2.04"
    loss_expr: str       # "−ln(0.13)"


@dataclass(frozen=True)
class SoftmaxTable:
    images: tuple
    losses: np.ndarray
    mean: float
    mean_expr: str
    mean_text: str


def softmax_table(scores, y) -> SoftmaxTable:
    """The softmax chain of every image of a ``(C, N)`` score table.

    For the slide's cat image: exp 24.5 / 164.0 / 0.18, probabilities 0.13 / 0.87 / 0.00,
    ``L = -ln 0.13 = 2.04``.
    """
    s, y = check_table(scores, y)
    sn = s.T
    probs = softmax_probabilities(sn)
    losses = softmax_per_example(sn, y)
    with np.errstate(over="ignore"):
        ex = np.exp(sn)
    images = []
    for i in range(sn.shape[0]):
        p = float(probs[i, y[i]])
        expr = f"{MINUS}ln({fmt_prob(p)})"
        images.append(SoftmaxImage(i, int(y[i]), sn[i].copy(), ex[i].copy(), float(ex[i].sum()),
                                   probs[i].copy(), float(losses[i]), float(losses[i] / math.log(10)),
                                   f"L = {expr} = {fmt(losses[i])}", expr))
    mean = float(losses.mean())
    expr = mean_expr(losses)
    return SoftmaxTable(tuple(images), losses, mean, expr, f"L = {expr} = {fmt(mean)}")


@dataclass(frozen=True)
class LogNote:
    p: float
    log10: float        # -log10 p   (the slide's 0.89)
    ln: float           # -ln p      (the loss: 2.04)
    text: str


def log_base_note(p) -> LogNote:
    """Why the slide shows ``-log(0.13) = 0.89``: that is base 10; the loss uses the natural log."""
    p = float(p)
    if not 0 < p <= 1:
        raise ValueError(f"p must be a probability in (0, 1] (got p={p})")
    l10, ln = -math.log10(p), -math.log(p)
    text = (f"The slide writes {MINUS}log({fmt_prob(p)}) = {fmt(l10)}: that is log base 10. "
            f"The softmax loss uses the natural log: {MINUS}ln({fmt_prob(p)}) = {fmt(ln)} "
            f"(= {fmt(l10)} × ln 10). Only the scale differs, not which W is better.")
    return LogNote(p, l10, ln, text)
