"""The lecture's worked loss examples as data: hinge and softmax tables, the slide's questions, regularization.

Conventions
-----------
* Like the slide, a score table here is ``(C, N)``: **one column per image**, one row per class
  (cat / car / frog). :mod:`core.losses` works on ``(N, C)``; these modules transpose.
* ``y`` is ``(N,)``: the correct class of each column. ``delta`` is the hinge margin (1 on the slide).
* Every number the loss lab shows is computed here (the GUI only lays the strings out): the hinge terms
  ``max(0, s_j - s_y + delta)`` written out (:mod:`~core.loss_lab.tables`), the softmax chain
  ``scores -> exp -> probabilities -> -ln p`` and the log-base-10 remark, the questions' answers
  (:mod:`~core.loss_lab.questions`), and ``R(w)`` for the regularization example with the full loss
  (:mod:`~core.loss_lab.reg_example`; ``R = sum w**2``, no 1/2, so ``R(w1) = 1`` and ``R(w2) = 0.25``).
* Numbers are written as the slide writes them (:mod:`~core.loss_lab.format`): at most 2 decimals,
  trailing zeros dropped (``2.9``, ``0``, ``12.9``, ``5.27``), a true minus sign; probabilities keep
  2 decimals (``0.13``, ``0.87``, ``0.00``). Logs are natural logs unless said otherwise.
"""
from __future__ import annotations

import numpy as np

from core.loss_lab.format import MINUS, fmt, fmt_exp, fmt_fixed, fmt_prob, fmt_score
from core.loss_lab.questions import (LossFacts, NudgeEffect, hinge_variants, hinge_zero_point, loss_facts,
                                     loss_vs_score, near_zero_scores, nudge_effect, score_sweep)
from core.loss_lab.reg_example import (SLIDE_W1, SLIDE_W2, SLIDE_X, FullLoss, RegExample, full_loss,
                                       regularization_example)
from core.loss_lab.tables import (HingeImage, HingeTable, HingeTerm, LogNote, SoftmaxImage, SoftmaxTable,
                                  hinge_table, log_base_note, softmax_table)

__all__ = [
    "SLIDE_CLASSES", "SLIDE_SCORES", "SLIDE_LABELS", "SLIDE_DELTA", "SLIDE_X", "SLIDE_W1", "SLIDE_W2",
    "MINUS", "fmt", "fmt_fixed", "fmt_score", "fmt_prob", "fmt_exp",
    "HingeTerm", "HingeImage", "HingeTable", "hinge_table",
    "SoftmaxImage", "SoftmaxTable", "softmax_table", "LogNote", "log_base_note",
    "LossFacts", "loss_facts", "NudgeEffect", "nudge_effect", "loss_vs_score", "score_sweep", "hinge_zero_point",
    "near_zero_scores", "hinge_variants",
    "RegExample", "regularization_example", "FullLoss", "full_loss",
]

SLIDE_CLASSES = ("cat", "car", "frog")
SLIDE_SCORES = np.array([[3.2, 1.3, 2.2],
                         [5.1, 4.9, 2.5],
                         [-1.7, 2.0, -3.1]])
"""The slide's scores, ``(C, N)`` = 3 classes x 3 images, one column per image."""
SLIDE_LABELS = np.array([0, 1, 2])
"""Image 1 is a cat, image 2 a car, image 3 a frog."""
SLIDE_DELTA = 1.0
