"""Input checks of :class:`core.linear.LinearClassifier`: its hyperparameters, the arrays and labels given to
``fit``/``partial_fit``/``compute_loss``/``predict``, the class labels, and whether the model is fitted.

Every check raises ``ValueError``/``TypeError`` (``NotFittedError`` for an unfitted model) whose message names
the parameter or array, the rule and the value, e.g.
``learning_rate must be a finite number > 0 (got learning_rate=-0.1)``; the GUI shows these messages as they are.
The generic checks live in :mod:`core.validation`; this module applies them to the linear classifier.
"""
from __future__ import annotations

import numbers

import numpy as np

from core.losses import LOSSES
from core.validation import (NotFittedError, check_array, check_choice, check_in_range, check_labels,
                             check_positive, check_random_state)

__all__ = ["PARAMS", "validate_params", "check_fitted", "check_features", "encode_labels", "check_classes",
           "check_samples", "check_validation_set"]

PARAMS = ("loss", "penalty", "reg", "learning_rate", "batch_size", "init_scale", "delta", "momentum",
          "random_state")
"""The hyperparameters of :class:`core.linear.LinearClassifier`, in ``get_params`` order."""


def validate_params(model):
    """Check every hyperparameter of ``model`` and return clean values (see
    :meth:`core.linear.LinearClassifier.validated_params`)."""
    check_choice(model.loss, "loss", tuple(LOSSES))
    pen = "none" if model.penalty is None else model.penalty
    check_choice(pen, "penalty", ("l2", "l1", "none"))
    bs = model.batch_size
    if isinstance(bs, bool) or not isinstance(bs, numbers.Integral):
        raise TypeError(f"batch_size must be an integer (got batch_size={bs!r})")
    if bs < 1:
        raise ValueError(f"batch_size must be >= 1 (got batch_size={bs!r})")
    mom = check_in_range(model.momentum, "momentum", 0.0, 1.0)
    if mom >= 1.0:
        raise ValueError(f"momentum must be >= 0 and < 1 (got momentum={model.momentum!r})")
    check_random_state(model.random_state)
    return {"loss": model.loss, "penalty": pen, "reg": check_positive(model.reg, "reg", strict=False),
            "learning_rate": check_positive(model.learning_rate, "learning_rate"), "batch_size": int(bs),
            "init_scale": check_positive(model.init_scale, "init_scale", strict=False),
            "delta": check_positive(model.delta, "delta", strict=False), "momentum": mom}


def check_fitted(model):
    """Raise :class:`NotFittedError` unless ``model`` has weights (``W_``)."""
    if not hasattr(model, "W_"):
        raise NotFittedError(f"This {type(model).__name__} instance is not fitted yet: "
                             "call fit(X, y) (or train it) before using it to predict")


def check_features(X, n_features, name="X"):
    """``X`` as a checked 2-D array with ``n_features`` columns."""
    X = check_array(X, name)
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features but the classifier expects "
                         f"{n_features} (got shape {X.shape})")
    return X


def encode_labels(classes, y, name="y"):
    """Labels -> row indices into ``classes`` (sorted); refuses labels that are not in ``classes``."""
    y = np.asarray(y)
    idx = np.searchsorted(classes, y)
    idx = np.clip(idx, 0, len(classes) - 1)
    bad = classes[idx] != y
    if bad.any():
        raise ValueError(f"{name} contains labels the classifier does not know: "
                         f"{np.unique(y[bad])[:10].tolist()} (classes are {classes.tolist()})")
    return idx.astype(np.int64)


def check_classes(y, classes=None):
    """The sorted class labels to train on: ``np.unique(y)``, or the ``classes`` given; at least two."""
    cls = np.unique(y) if classes is None else np.unique(check_labels(classes, "classes"))
    if cls.size < 2:
        raise ValueError(f"y must contain at least 2 classes to train a classifier (got {cls.size}: "
                         f"{cls.tolist()}); pass classes=... to name them all")
    return cls


def check_samples(X, y, x_name="X", y_name="y"):
    """``(X, y)`` checked and of the same length: ``X`` as a C-contiguous float32 array, ``y`` as labels."""
    X = check_array(X, x_name)
    y = check_labels(y, y_name)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{x_name} and {y_name} have different lengths "
                         f"({x_name} has {X.shape[0]} rows, {y_name} has {y.shape[0]} labels)")
    return np.ascontiguousarray(X, dtype=np.float32), y


def check_validation_set(X_val, y_val, n_features, classes):
    """``(X_val, y_val as row indices into classes)`` checked like the training set, or None when neither is
    given; both or neither must be given."""
    if X_val is None and y_val is None:
        return None
    if X_val is None or y_val is None:
        raise ValueError("X_val and y_val must be given together")
    Xv, yv = check_samples(X_val, y_val, "X_val", "y_val")
    return check_features(Xv, n_features, "X_val"), encode_labels(classes, yv, "y_val")
