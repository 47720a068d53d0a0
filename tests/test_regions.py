"""core.regions (decision-region grids) and core.playground (the 2-D gradient step), no Qt."""
from __future__ import annotations

import numpy as np
import pytest

from core.gradcheck import numerical_gradient
from core.knn import KNearestNeighbor
from core.losses import hinge_loss, one_vs_all_hinge_loss, softmax_loss
from core.playground import evaluate, gradient_step, per_example_loss, random_params
from core.regions import (grid_coordinates, knn_region_grid, linear_region_grid, region_rgba,
                          weight_arrow, zero_score_line)
from core.regularization import l1_penalty, l2_penalty


# --------------------------------------------------------------------------- references (plain loops)
def _knn_reference(X, y, k, metric, q):
    """Loop kNN on one query: stable order by (distance, index), majority, tie -> nearest top member."""
    d = np.abs(X - q).sum(1) if metric == "l1" else np.sqrt(((X - q) ** 2).sum(1))
    order = sorted(range(len(X)), key=lambda i: (d[i], i))[:k]
    votes = {}
    for i in order:
        votes[y[i]] = votes.get(y[i], 0) + 1
    best = max(votes.values())
    top = [c for c, v in votes.items() if v == best]
    for i in order:
        if y[i] in top:
            return y[i], len(top) > 1


def test_grid_coordinates_tile_the_box():
    xs, ys = grid_coordinates((-1, 1), (0, 4), 4)
    np.testing.assert_allclose(xs, [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(ys, [0.5, 1.5, 2.5, 3.5])
    with pytest.raises(ValueError, match="xlim and ylim"):
        grid_coordinates((1, 1), (0, 1), 4)
    with pytest.raises(ValueError, match="resolution"):
        grid_coordinates((0, 1), (0, 1), 1)


def test_linear_region_grid_matches_scores_and_row_order():
    W = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0]])
    b = np.array([0.0, 0.0, -1.0])
    labels, scores = linear_region_grid(W, b, (-2, 2), (-2, 2), 40)
    xs, ys = grid_coordinates((-2, 2), (-2, 2), 40)
    i, j = 35, 3                                          # high y, low x
    np.testing.assert_allclose(scores[i, j], W @ [xs[j], ys[i]] + b)
    assert labels[i, j] == np.argmax(W @ [xs[j], ys[i]] + b)
    assert labels[0, 39] == 0 and labels[0, 0] == 1 and labels[39, 20] == 2   # row 0 is the bottom
    with pytest.raises(ValueError, match=r"W must have shape \(C, 2\)"):
        linear_region_grid(np.zeros((3, 3)), b, (-1, 1), (-1, 1))


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7, 10])
@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_knn_region_grid_matches_loop_reference(k, metric):
    rng = np.random.default_rng(k)
    X = rng.uniform(-1, 1, size=(12, 2))
    y = rng.integers(0, 3, 12)
    labels, tied = knn_region_grid(X, y, k, metric, (-1.2, 1.2), (-1.2, 1.2), 17, n_classes=3)
    xs, ys = grid_coordinates((-1.2, 1.2), (-1.2, 1.2), 17)
    for i in range(17):
        for j in range(17):
            want, want_tied = _knn_reference(X, y, k, metric, np.array([xs[j], ys[i]]))
            assert labels[i, j] == want, (i, j)
            assert tied[i, j] == want_tied, (i, j)


def test_knn_region_grid_agrees_with_core_knn():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 2))
    y = rng.integers(0, 4, 50)
    labels, tied = knn_region_grid(X, y, 5, "l2", (-2, 2), (-2, 2), 30, n_classes=4)
    xs, ys = grid_coordinates((-2, 2), (-2, 2), 30)
    Q = np.column_stack([np.tile(xs, 30), np.repeat(ys, 30)])
    model = KNearestNeighbor(k=5, metric="l2").fit(X.astype(np.float32), y)
    pred = model.predict(Q.astype(np.float32))
    assert np.mean(pred == labels.ravel()) > 0.995       # float32 rounding may flip a boundary cell


def test_knn_ties_in_a_symmetric_configuration():
    # one point of each class, mirrored: with k = 2 every cell has one vote each -> all tied;
    # the tie rule hands each half to the closer point
    X = np.array([[-0.5, 0.0], [0.5, 0.0]])
    y = np.array([0, 1])
    labels, tied = knn_region_grid(X, y, 2, "l2", (-1, 1), (-1, 1), 20)
    assert tied.all()
    assert (labels[:, :10] == 0).all() and (labels[:, 10:] == 1).all()
    labels1, tied1 = knn_region_grid(X, y, 1, "l2", (-1, 1), (-1, 1), 20)
    assert not tied1.any()
    np.testing.assert_array_equal(labels1, labels)


def test_knn_region_grid_validates():
    X = np.zeros((3, 2))
    y = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="k must be between 1 and the number of points"):
        knn_region_grid(X, y, 4, "l2", (-1, 1), (-1, 1), 10)
    with pytest.raises(ValueError, match="metric"):
        knn_region_grid(X, y, 1, "cosine", (-1, 1), (-1, 1), 10)
    with pytest.raises(ValueError, match="empty"):
        knn_region_grid(np.zeros((0, 2)), np.zeros(0, int), 1, "l2", (-1, 1), (-1, 1), 10)


def test_zero_score_line_is_on_the_line_and_clipped():
    w, b = np.array([1.0, 2.0]), -0.5
    seg = zero_score_line(w, b, (-1, 1), (-1, 1))
    assert seg.shape == (2, 2)
    np.testing.assert_allclose(seg @ w + b, 0, atol=1e-12)
    assert (np.abs(seg) <= 1 + 1e-12).all()
    assert zero_score_line([1.0, 0.0], 5.0, (-1, 1), (-1, 1)) is None     # x = -5: outside
    assert zero_score_line([0.0, 0.0], 1.0, (-1, 1), (-1, 1)) is None
    vert = zero_score_line([1.0, 0.0], -0.25, (-1, 1), (-1, 1))
    np.testing.assert_allclose(sorted(vert[:, 1]), [-1, 1])
    np.testing.assert_allclose(vert[:, 0], [0.25, 0.25])


def test_weight_arrow_points_along_w():
    arrow = weight_arrow([0.0, 3.0], 0.0, (-1, 1), (-1, 1), 0.5)
    np.testing.assert_allclose(arrow, [[0, 0], [0, 0.5]], atol=1e-12)
    assert weight_arrow([1.0, 0.0], 9.0, (-1, 1), (-1, 1), 0.5) is None


def test_region_rgba_blends_with_white_and_hatches_ties():
    labels = np.array([[0, 1], [1, 0]])
    colors = np.array([[255, 0, 0], [0, 0, 255]])
    img = region_rgba(labels, colors, alpha=0.4)
    assert img.shape == (2, 2, 4) and img.dtype == np.uint8
    np.testing.assert_array_equal(img[0, 0], [255, 153, 153, 255])
    tied = np.ones((2, 2), bool)
    img2 = region_rgba(labels, colors, alpha=0.4, tied=tied, tie_color=(0, 0, 0), hatch=1)
    np.testing.assert_array_equal(img2[0, 0, :3], [153, 153, 153])   # stripe cell: grey
    np.testing.assert_array_equal(img2[0, 1], img[0, 1])              # gap between stripes: class colour


# --------------------------------------------------------------------------- the playground's step
def _toy():
    X = np.array([[0.5, 0.4], [0.8, 0.3], [-0.4, 0.3], [-0.3, 0.7], [0.7, -0.4], [0.5, -0.6]])
    y = np.array([0, 0, 1, 1, 2, 2])
    W = np.array([[1.0, 2.0], [2.0, -4.0], [3.0, -1.0]])
    b = np.array([0.0, 0.5, -0.5])
    return W, b, X, y


@pytest.mark.parametrize("loss,fn", [("hinge", hinge_loss), ("softmax", softmax_loss),
                                     ("ova_hinge", one_vs_all_hinge_loss)])
def test_gradient_step_is_core_losses_plus_exact_l2(loss, fn):
    W, b, X, y = _toy()
    reg, lr = 0.1, 0.05
    W1, b1, parts = gradient_step(W, b, X, y, loss, reg, "l2", lr)
    data, dscores = fn(X @ W.T + b, y)
    R, dR = l2_penalty(W)
    np.testing.assert_allclose(dR, 2 * W)
    np.testing.assert_allclose(W1, W - lr * (dscores.T @ X + reg * 2 * W))
    np.testing.assert_allclose(b1, b - lr * dscores.sum(0))
    assert parts.data == pytest.approx(data)
    assert parts.reg == pytest.approx(reg * R)
    assert parts.total == pytest.approx(data + reg * R)
    assert parts.per_example.mean() == pytest.approx(data)
    # not the web demo's 0.5 * reg * W
    assert not np.allclose(W1, W - lr * (dscores.T @ X + 0.5 * reg * W))


def test_gradient_matches_numerical_gradient():
    W, b, X, y = _toy()
    for loss in ("softmax", "hinge"):
        parts = evaluate(W, b, X, y, loss, 0.3, "l2")
        num = numerical_gradient(lambda w: evaluate(w, b, X, y, loss, 0.3, "l2").total, W)
        np.testing.assert_allclose(parts.dW, num, rtol=1e-5, atol=1e-7)


def test_l1_and_no_points():
    W, b, X, y = _toy()
    parts = evaluate(W, b, X, y, "softmax", 0.2, "l1")
    assert parts.reg == pytest.approx(0.2 * l1_penalty(W)[0])
    empty = evaluate(W, b, np.zeros((0, 2)), np.zeros(0, int), "hinge", 0.2, "l2")
    assert empty.data == 0 and empty.per_example.shape == (0,)
    np.testing.assert_allclose(empty.dW, 0.2 * 2 * W)


def test_playground_validation_messages():
    W, b, X, y = _toy()
    with pytest.raises(ValueError, match="step_size must be"):
        gradient_step(W, b, X, y, "hinge", 0.1, "l2", 0)
    with pytest.raises(ValueError, match="loss must be one of"):
        evaluate(W, b, X, y, "squared", 0.1, "l2")
    with pytest.raises(ValueError, match="reg"):
        evaluate(W, b, X, y, "hinge", -1, "l2")
    with pytest.raises(ValueError, match="y must hold labels"):
        evaluate(W, b, X, np.array([0, 0, 1, 1, 2, 3]), "hinge", 0.1, "l2")
    with pytest.raises(ValueError, match="loss must be one of"):
        per_example_loss("nope", X @ W.T, y)


def test_random_params_is_seeded():
    a = random_params(4, 1.0, 7)
    b = random_params(4, 1.0, 7)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].shape == (4, 2) and a[1].shape == (4,)
