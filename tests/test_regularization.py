"""Regularization: the lecture's w1/w2 example, gradients, dispatch."""
import numpy as np
import pytest

from core.gradcheck import check_gradient
from core.regularization import PENALTIES, l1_penalty, l2_penalty, penalty

X = np.array([1.0, 1.0, 1.0, 1.0])
W1 = np.array([1.0, 0.0, 0.0, 0.0])
W2 = np.array([0.25, 0.25, 0.25, 0.25])


def test_w1_and_w2_give_the_same_score():
    assert W1 @ X == W2 @ X == 1.0


def test_l2_prefers_spread_out_weights():
    assert l2_penalty(W1)[0] == 1.0
    assert l2_penalty(W2)[0] == 0.25


def test_l1_does_not_distinguish_them():
    assert l1_penalty(W1)[0] == 1.0
    assert l1_penalty(W2)[0] == 1.0


def test_gradients_are_2w_and_sign():
    W = np.array([[1.5, -2.0, 0.0], [0.5, 3.0, -0.1]])
    np.testing.assert_array_equal(l2_penalty(W)[1], 2 * W)
    np.testing.assert_array_equal(l1_penalty(W)[1], [[1, -1, 0], [1, 1, -1]])


@pytest.mark.parametrize("kind", ["l2", "l1"])
def test_numerical_gradient(kind):
    rng = np.random.default_rng(1)
    W = rng.normal(size=(4, 6))
    W[np.abs(W) < 1e-2] = 0.5  # keep L1 away from its kink at 0
    R, dR = penalty(W, kind)
    res = check_gradient(lambda w: penalty(w, kind)[0], W, dR)
    assert res.relative_error < 1e-7, res.relative_error


def test_float32_stays_float32():
    W = np.ones((2, 3), dtype=np.float32)
    assert l2_penalty(W)[1].dtype == np.float32
    assert l1_penalty(W)[1].dtype == np.float32
    assert l2_penalty(W)[0] == 6.0


def test_none_and_dispatch():
    W = np.arange(6.0).reshape(2, 3)
    for kind in (None, "none"):
        R, dR = penalty(W, kind)
        assert R == 0.0 and not dR.any() and dR.shape == W.shape
    assert penalty(W, "l2")[0] == l2_penalty(W)[0] == 55.0
    assert penalty(W, "l1")[0] == 15.0
    assert PENALTIES == ("l2", "l1", "none")
    with pytest.raises(ValueError, match="penalty must be one of .*got penalty='l3'"):
        penalty(W, "l3")


def test_input_is_not_modified():
    W = np.array([[1.0, -2.0]])
    before = W.copy()
    l2_penalty(W)
    l1_penalty(W)
    np.testing.assert_array_equal(W, before)
