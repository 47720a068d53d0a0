"""Losses: the lecture's worked numbers, plain-loop references, gradients, stability, dtypes."""
import math

import numpy as np
import pytest

from core.gradcheck import check_gradient
from core.losses import (LOSSES, data_loss, expected_initial_loss, hinge_loss, hinge_margins, hinge_per_example,
                         hinge_terms, one_vs_all_hinge_loss, one_vs_all_terms, softmax_loss,
                         softmax_per_example, softmax_probabilities)

# The slide: columns are the cat, car and frog images; rows here are images, columns classes cat/car/frog.
SLIDE_SCORES = np.array([[3.2, 5.1, -1.7],
                         [1.3, 4.9, 2.0],
                         [2.2, 2.5, -3.1]])
SLIDE_Y = np.array([0, 1, 2])


# --------------------------------------------------------------------------- plain-loop references
def hinge_loop(scores, y, delta=1.0):
    n, c = scores.shape
    loss, grad = 0.0, np.zeros_like(scores, dtype=np.float64)
    for i in range(n):
        for j in range(c):
            if j == y[i]:
                continue
            margin = scores[i, j] - scores[i, y[i]] + delta
            if margin > 0:
                loss += margin
                grad[i, j] += 1
                grad[i, y[i]] -= 1
    return loss / n, grad / n


def softmax_loop(scores, y):
    n, c = scores.shape
    loss, grad = 0.0, np.zeros((n, c))
    for i in range(n):
        m = max(scores[i])
        exps = [math.exp(scores[i, j] - m) for j in range(c)]
        total = sum(exps)
        for j in range(c):
            p = exps[j] / total
            grad[i, j] = (p - (1.0 if j == y[i] else 0.0)) / n
        loss += -math.log(exps[y[i]] / total)
    return loss / n, grad


def ova_loop(scores, y, delta=1.0):
    n, c = scores.shape
    loss, grad = 0.0, np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            t = 1.0 if j == y[i] else -1.0
            term = delta - t * scores[i, j]
            if term > 0:
                loss += term
                grad[i, j] = -t / n
    return loss / n, grad


def _random_problem(seed, n=40, c=7):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=2.0, size=(n, c)), rng.integers(0, c, n)


# --------------------------------------------------------------------------- the slide
def test_hinge_slide_numbers():
    per = hinge_per_example(SLIDE_SCORES, SLIDE_Y)
    np.testing.assert_allclose(per, [2.9, 0.0, 12.9], atol=1e-12)
    loss, _ = hinge_loss(SLIDE_SCORES, SLIDE_Y)
    assert loss == pytest.approx(15.8 / 3, abs=1e-12)
    assert round(loss, 2) == 5.27


def test_hinge_terms_table_of_the_cat_image():
    terms = hinge_terms(SLIDE_SCORES, SLIDE_Y)
    np.testing.assert_allclose(terms[0], [0.0, 2.9, 0.0], atol=1e-12)   # max(0, 5.1-3.2+1), max(0, -1.7-3.2+1)
    np.testing.assert_allclose(terms[2], [6.3, 6.6, 0.0], atol=1e-12)
    margins = hinge_margins(SLIDE_SCORES, SLIDE_Y)
    assert margins[0, 2] == pytest.approx(-3.9)
    assert margins[0, 0] == 0.0


def test_softmax_slide_numbers():
    p = softmax_probabilities(SLIDE_SCORES)[0]
    np.testing.assert_allclose(np.round(p, 2), [0.13, 0.87, 0.00])
    e = [math.exp(s) for s in SLIDE_SCORES[0]]
    exact = -math.log(e[0] / sum(e))
    assert softmax_per_example(SLIDE_SCORES, SLIDE_Y)[0] == pytest.approx(exact, rel=1e-12)
    assert round(exact, 2) == 2.04
    np.testing.assert_allclose(softmax_probabilities(SLIDE_SCORES).sum(axis=1), 1.0)


def test_loss_dict_and_dispatch():
    assert set(LOSSES) == {"hinge", "softmax", "ova_hinge"}
    assert data_loss("hinge", SLIDE_SCORES, SLIDE_Y)[0] == pytest.approx(hinge_loss(SLIDE_SCORES, SLIDE_Y)[0])
    assert data_loss("softmax", SLIDE_SCORES, SLIDE_Y)[0] == pytest.approx(softmax_loss(SLIDE_SCORES, SLIDE_Y)[0])
    with pytest.raises(ValueError, match="loss must be one of .*'svm'"):
        data_loss("svm", SLIDE_SCORES, SLIDE_Y)


# --------------------------------------------------------------------------- vectorised == loops
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hinge_matches_loop(seed):
    s, y = _random_problem(seed)
    loss, d = hinge_loss(s, y, delta=1.5)
    rloss, rd = hinge_loop(s, y, delta=1.5)
    assert loss == pytest.approx(rloss, rel=1e-12)
    np.testing.assert_allclose(d, rd, atol=1e-15)
    np.testing.assert_allclose(hinge_per_example(s, y, 1.5).mean(), rloss, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softmax_matches_loop(seed):
    s, y = _random_problem(seed)
    loss, d = softmax_loss(s, y)
    rloss, rd = softmax_loop(s, y)
    assert loss == pytest.approx(rloss, rel=1e-12)
    np.testing.assert_allclose(d, rd, atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1])
def test_one_vs_all_matches_loop_and_terms(seed):
    s, y = _random_problem(seed)
    loss, d = one_vs_all_hinge_loss(s, y, delta=1.0)
    rloss, rd = ova_loop(s, y)
    assert loss == pytest.approx(rloss, rel=1e-12)
    np.testing.assert_allclose(d, rd, atol=1e-15)
    assert one_vs_all_terms(s, y).sum(axis=1).mean() == pytest.approx(rloss, rel=1e-12)


# --------------------------------------------------------------------------- gradients
def _away_from_kinks(seed, name):
    """A random problem whose hinge margins are all at least 1e-3 away from 0 (no kinks)."""
    for k in range(100):
        s, y = _random_problem(seed * 100 + k, n=8, c=5)
        if name == "hinge":
            m = hinge_margins(s, y)
            m[np.arange(len(y)), y] = 1.0
        else:
            t = np.where(np.arange(5)[None, :] == y[:, None], 1.0, -1.0)
            m = 1.0 - t * s
        if np.abs(m).min() > 1e-3:
            return s, y
    raise AssertionError("no kink-free problem found")


@pytest.mark.parametrize("name", ["hinge", "softmax", "ova_hinge"])
def test_dscores_match_numerical_gradient(name):
    s, y = _away_from_kinks(3, name)
    _, d = data_loss(name, s, y)
    res = check_gradient(lambda z: data_loss(name, z, y)[0], s, d)
    assert res.relative_error < 1e-7, res.relative_error


def test_wrong_gradient_is_detected():
    s, y = _away_from_kinks(4, "hinge")
    _, d = hinge_loss(s, y)
    assert check_gradient(lambda z: hinge_loss(z, y)[0], s, d * 1.01).relative_error > 1e-3


# --------------------------------------------------------------------------- sanity values, stability, dtype
@pytest.mark.parametrize("c", [3, 10])
def test_initial_loss_for_tiny_weights(c):
    rng = np.random.default_rng(c)
    X = rng.standard_normal((500, 50))
    W = 1e-4 * rng.standard_normal((c, 50))
    y = rng.integers(0, c, 500)
    scores = X @ W.T
    assert hinge_loss(scores, y)[0] == pytest.approx(c - 1, abs=0.02)
    assert softmax_loss(scores, y)[0] == pytest.approx(math.log(c), abs=0.01)
    assert one_vs_all_hinge_loss(scores, y)[0] == pytest.approx(c, abs=0.02)
    assert expected_initial_loss("hinge", c) == c - 1
    assert expected_initial_loss("softmax", c) == pytest.approx(math.log(c))
    assert expected_initial_loss("ova_hinge", c, delta=2.0) == 2 * c
    with pytest.raises(ValueError, match="loss"):
        expected_initial_loss("svm", c)


def test_softmax_is_stable_for_huge_scores():
    s = np.array([[1000.0, 1001.0, 990.0], [-1000.0, -1000.0, -1000.0]])
    loss, d = softmax_loss(s, np.array([1, 0]))
    assert np.isfinite(loss) and np.isfinite(d).all()
    assert softmax_per_example(s, np.array([1, 0]))[1] == pytest.approx(math.log(3))
    with np.errstate(all="raise"):
        softmax_probabilities(s.astype(np.float32))


@pytest.mark.parametrize("fn", [hinge_loss, softmax_loss, one_vs_all_hinge_loss])
def test_float32_in_float32_out(fn):
    s, y = _random_problem(5)
    loss32, d32 = fn(s.astype(np.float32), y)
    loss64, d64 = fn(s, y)
    assert d32.dtype == np.float32
    assert isinstance(loss32, float)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(d32, d64, atol=1e-6)


def test_integer_scores_are_computed_in_float64():
    loss, d = hinge_loss([[3, 5, -2]], [0])
    assert d.dtype == np.float64 and loss == pytest.approx(3.0)


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="scores must be 2-D"):
        hinge_loss(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match="y must have shape"):
        softmax_loss(np.zeros((2, 3)), np.array([0]))
    with pytest.raises(ValueError, match="between 0 and 2"):
        hinge_loss(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer class indices"):
        hinge_loss(np.zeros((2, 3)), np.array([0.0, 1.0]))
