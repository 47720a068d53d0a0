"""core.metrics against sklearn.metrics, plus input validation."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from core.metrics import (accuracy, classification_summary, confusion_matrix, misclassified,
                          per_class_accuracy)


@pytest.fixture
def preds():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < 0.6, y, rng.integers(0, 5, 300))
    return y, p


def test_accuracy_and_confusion_match_sklearn(preds):
    y, p = preds
    assert accuracy(y, p) == pytest.approx(skm.accuracy_score(y, p))
    cm = confusion_matrix(y, p, 6)                       # a class that never occurs
    assert cm.shape == (6, 6) and cm.dtype == np.int64
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, p, labels=range(6)))
    assert cm[5].sum() == 0 and cm.sum() == 300


def test_per_class_accuracy_is_recall(preds):
    y, p = preds
    got = per_class_accuracy(y, p, 6)
    np.testing.assert_allclose(got[:5], skm.recall_score(y, p, average=None, labels=range(5)))
    assert np.isnan(got[5])


def test_misclassified(preds):
    y, p = preds
    idx = misclassified(y, p)
    np.testing.assert_array_equal(idx, np.flatnonzero(y != p))
    assert idx.dtype == np.int64 and misclassified([1, 2], [1, 2]).size == 0


def test_summary_text():
    text = classification_summary([0, 0, 1, 1], [0, 1, 1, 1], 3, ["cat", "dog", "frog"])
    lines = text.splitlines()
    assert lines[0] == "accuracy 75.00% on 4 examples"
    assert "cat" in lines[1] and "50.00%" in lines[1] and "(2 examples)" in lines[1]
    assert "frog" in lines[3] and "n/a" in lines[3]


def test_validation():
    with pytest.raises(ValueError, match="same length"):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="y_pred must be < n_classes=2"):
        confusion_matrix([0, 1], [0, 2], 2)
    with pytest.raises(ValueError, match="n_classes must be a positive integer"):
        confusion_matrix([0], [0], 0)
    with pytest.raises(TypeError, match="y_true must hold integer class indices"):
        accuracy(["a"], [0])
    with pytest.raises(ValueError, match="y_true must be >= 0"):
        accuracy([-1], [0])
    with pytest.raises(ValueError, match="class_names must have n_classes=2"):
        classification_summary([0], [0], 2, ["a"])
