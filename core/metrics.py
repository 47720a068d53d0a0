"""Evaluation: accuracy, confusion matrix, per-class accuracy, misclassified examples.

Conventions: ``y_true`` and ``y_pred`` are ``(N,)`` integer class indices ``0 .. C-1``;
the confusion matrix has rows = true class, columns = predicted class.
"""
from __future__ import annotations

import numpy as np

from core.validation import check_labels

__all__ = ["accuracy", "confusion_matrix", "per_class_accuracy", "misclassified",
           "classification_summary"]


def _pair(y_true, y_pred, n_classes: int | None = None):
    y_true = check_labels(y_true, "y_true", n_classes)
    y_pred = check_labels(y_pred, "y_pred", n_classes)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length "
                         f"(got {y_true.shape[0]} and {y_pred.shape[0]})")
    return y_true, y_pred


def _check_n_classes(n_classes) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer (got {n_classes!r})")
    return int(n_classes)


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the true label, in [0, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(C, C) int64 counts; ``cm[i, j]`` = examples of true class i predicted as j."""
    n_classes = _check_n_classes(n_classes)
    y_true, y_pred = _pair(y_true, y_pred, n_classes)
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def per_class_accuracy(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(C,) float64 recall of each class; NaN for a class with no examples in ``y_true``."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)


def misclassified(y_true, y_pred) -> np.ndarray:
    """Indices (int64, ascending) of the examples whose prediction is wrong."""
    y_true, y_pred = _pair(y_true, y_pred)
    return np.flatnonzero(y_true != y_pred).astype(np.int64)


def classification_summary(y_true, y_pred, n_classes: int, class_names=None) -> str:
    """A short text report: overall accuracy, then one line per class (accuracy, support)."""
    n_classes = _check_n_classes(n_classes)
    if class_names is not None and len(class_names) != n_classes:
        raise ValueError(f"class_names must have n_classes={n_classes} entries "
                         f"(got {len(class_names)})")
    names = list(class_names) if class_names is not None else [str(c) for c in range(n_classes)]
    cm = confusion_matrix(y_true, y_pred, n_classes)
    acc = np.trace(cm) / cm.sum()
    lines = [f"accuracy {acc:.2%} on {int(cm.sum())} examples"]
    width = max(len(n) for n in names)
    for c, name in enumerate(names):
        support = int(cm[c].sum())
        rate = f"{cm[c, c] / support:.2%}" if support else "n/a"
        lines.append(f"  {name:<{width}}  {rate:>7}  ({support} examples)")
    return "\n".join(lines)
