"""2D Playground: editing points and W by mouse and spin boxes, stepping, losses, kNN regions and ties."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from core.losses import hinge_loss, one_vs_all_hinge_loss, softmax_loss, softmax_per_example
from core.regularization import l1_penalty, l2_penalty
from gui.playground import Playground2D
from gui.workers import JobRunner

LEFT = QtCore.Qt.MouseButton.LeftButton
RIGHT = QtCore.Qt.MouseButton.RightButton


@pytest.fixture
def pg2d(qtbot):
    runner = JobRunner()
    w = Playground2D(runner)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.repaint_now()
    yield w
    w.shutdown()
    runner.shutdown()


def _model(w):
    return w.table.model_


def _loss_column(w):
    m = _model(w)
    return [float(m.cell(r, m.columnCount() - 1)) for r in range(m.rowCount())]


def _click(qtbot, w, x, y, button=LEFT):
    pos = w.canvas.data_to_viewport(x, y)
    qtbot.mouseClick(w.canvas.viewport(), button, pos=pos)
    w.repaint_now()


def test_opens_on_the_cs231n_layout(pg2d):
    X, y = pg2d.canvas.points()
    assert X.shape == (9, 2) and list(np.bincount(y)) == [3, 3, 3]
    assert _model(pg2d).rowCount() == 9
    assert pg2d.canvas.regions.image.shape == (200, 200, 4)
    assert "regions" in pg2d.timing.text() and "200×200" in pg2d.timing.text()


def test_click_adds_a_point_of_the_chosen_class(pg2d, qtbot):
    qtbot.mouseClick(pg2d.findChild(QtWidgets.QPushButton, "paint_2"), LEFT)
    _click(qtbot, pg2d, 0.95, -0.95)
    X, y = pg2d.canvas.points()
    assert len(X) == 10 and y[-1] == 2
    np.testing.assert_allclose(X[-1], [0.95, -0.95], atol=0.02)
    assert _model(pg2d).rowCount() == 10
    assert _model(pg2d).cell(9, 1) == "2"
    # a click on an existing point does not add another one
    _click(qtbot, pg2d, *X[0])
    assert len(pg2d.canvas.points()[0]) == 10


def test_right_click_removes_and_drag_moves(pg2d, qtbot):
    X0, _ = pg2d.canvas.points()
    _click(qtbot, pg2d, *X0[4], button=RIGHT)
    X1, _ = pg2d.canvas.points()
    assert len(X1) == 8
    assert not np.any(np.all(np.isclose(X1, X0[4]), axis=1))
    _click(qtbot, pg2d, 1.1, 1.1, button=RIGHT)                  # empty space: nothing to remove
    assert len(pg2d.canvas.points()[0]) == 8
    # drag: the canvas's drag handler with data coordinates (what a mouse drag delivers)
    before = _loss_column(pg2d)
    i = pg2d.canvas.point_at(*X1[0])
    assert i == 0
    pg2d.canvas.handle_drag(0, -0.9, -0.9)
    pg2d.canvas.handle_drag(0, -1.0, -1.0, finished=True)
    pg2d.repaint_now()
    np.testing.assert_allclose(pg2d.canvas.points()[0][0], [-1.0, -1.0])
    assert _model(pg2d).cell(0, 2) == "-1.000" and _model(pg2d).cell(0, 3) == "-1.000"
    assert _loss_column(pg2d)[0] != before[0]


def _mouse_drag(qtbot, w, start, end, steps=5):
    vp = w.canvas.viewport()
    none = QtCore.Qt.KeyboardModifier.NoModifier
    QTest.mousePress(vp, LEFT, none, w.canvas.data_to_viewport(*start))
    p = None
    for t in np.linspace(0, 1, steps + 1)[1:]:
        p = w.canvas.data_to_viewport(start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
        QTest.mouseMove(vp, p)
        qtbot.wait(5)
    QTest.mouseRelease(vp, LEFT, none, p)
    w.repaint_now()


def test_real_mouse_drag_moves_a_point_and_empty_drag_pans(pg2d, qtbot):
    X0 = pg2d.X.copy()
    _mouse_drag(qtbot, pg2d, X0[0], (-0.9, -0.9))
    np.testing.assert_allclose(pg2d.canvas.points()[0][0], [-0.9, -0.9], atol=0.03)
    np.testing.assert_array_equal(pg2d.X[1:], X0[1:])
    assert _model(pg2d).cell(0, 2) == f"{pg2d.X[0, 0]:.3f}"
    xlim0, _ = pg2d.canvas.view_limits()
    _mouse_drag(qtbot, pg2d, (0.0, -1.0), (0.3, -1.0))            # no point there: pans the view
    xlim1, _ = pg2d.canvas.view_limits()
    assert xlim1[0] < xlim0[0] - 0.1
    assert len(pg2d.X) == 9 and np.allclose(pg2d.X[1:], X0[1:])


def test_editing_w_changes_regions_lines_and_losses(pg2d):
    img0 = pg2d.canvas.regions.image.copy()
    losses0 = _loss_column(pg2d)
    spin = pg2d.findChild(QtWidgets.QDoubleSpinBox, "param_0_2")   # b[0]
    spin.setValue(5.0)
    pg2d.repaint_now()
    assert pg2d.b[0] == 5.0
    img1 = pg2d.canvas.regions.image
    assert not np.array_equal(img0, img1)
    assert (img1 == img1[0, 0]).all()                              # class 0 everywhere in view
    assert _loss_column(pg2d) != losses0
    pg2d.findChild(QtWidgets.QDoubleSpinBox, "param_1_0").setValue(2.0)
    pg2d.findChild(QtWidgets.QDoubleSpinBox, "param_1_1").setValue(0.0)
    pg2d.findChild(QtWidgets.QDoubleSpinBox, "param_1_2").setValue(-0.5)
    pg2d.repaint_now()
    xs, ys = pg2d.canvas.line_data(1)                              # 2 x - 0.5 = 0: the line x = 0.25
    np.testing.assert_allclose(xs, [0.25, 0.25])


@pytest.mark.parametrize("loss,fn,penalty,pfn", [("hinge", hinge_loss, "l2", l2_penalty),
                                                 ("softmax", softmax_loss, "l2", l2_penalty),
                                                 ("ova_hinge", one_vs_all_hinge_loss, "l1", l1_penalty)])
def test_step_matches_core_with_exact_gradient(pg2d, qtbot, loss, fn, penalty, pfn):
    k = pg2d.controls
    k.loss.setCurrentIndex(k.loss.findData(loss))
    k.penalty.setCurrentIndex(k.penalty.findData(penalty))
    k.reg.setValue(0.3)
    k.step_size.setValue(0.05)
    W = np.array([[1.0, 2.0], [2.0, -4.0], [3.0, -1.0]])
    b = np.array([0.0, 0.5, -0.5])
    pg2d.set_params(W, b)
    X, y = pg2d.X.copy(), pg2d.y.copy()
    qtbot.mouseClick(k.step_button, LEFT)
    data, dscores = fn(X @ W.T + b, y)
    R, dR = pfn(W)
    if penalty == "l2":
        np.testing.assert_allclose(dR, 2 * W)                       # the exact gradient, not 0.5 λ W
    W_expected = W - 0.05 * (dscores.T @ X + 0.3 * dR)
    b_expected = b - 0.05 * dscores.sum(axis=0)
    np.testing.assert_allclose(pg2d.W, W_expected, rtol=1e-12)
    np.testing.assert_allclose(pg2d.b, b_expected, rtol=1e-12)
    pg2d.repaint_now()
    shown = [[k.param_spins[c][j].value() for j in range(2)] for c in range(3)]
    np.testing.assert_allclose(shown, W_expected, atol=5e-4)
    # the read-out is the loss at the new W
    d_new, _ = fn(X @ W_expected.T + b_expected, y)
    total = d_new + 0.3 * pfn(W_expected)[0]
    assert f"{total:.4f}" in k.readout.text()
    assert "1 steps" in k.readout.text()


def test_switching_the_loss_changes_the_table(pg2d):
    hinge = _loss_column(pg2d)
    k = pg2d.controls
    k.loss.setCurrentIndex(k.loss.findData("softmax"))
    pg2d.repaint_now()
    soft = _loss_column(pg2d)
    assert soft != hinge
    expected = softmax_per_example(pg2d.X @ pg2d.W.T + pg2d.b, pg2d.y)
    np.testing.assert_allclose(soft, expected, atol=5e-4)
    k.loss.setCurrentIndex(k.loss.findData("ova_hinge"))
    pg2d.repaint_now()
    assert _loss_column(pg2d) not in (hinge, soft)


def test_loss_colours_green_at_zero_red_above(pg2d):
    # a W that separates the CS231n layout with big margins: every hinge loss is 0
    pg2d.set_params(np.array([[10.0, 10.0], [-10.0, 5.0], [0.0, -15.0]]), np.zeros(3))
    pg2d.controls.reg.setValue(0.0)
    pg2d.repaint_now()
    m = _model(pg2d)
    col = m.columnCount() - 1
    green = m.data(m.index(0, col), QtCore.Qt.ItemDataRole.BackgroundRole).color().name()
    assert _loss_column(pg2d) == [0.0] * 9 and green == "#bfe8bf"
    pg2d.set_params(np.zeros((3, 2)), np.zeros(3))
    pg2d.repaint_now()
    red = m.data(m.index(0, col), QtCore.Qt.ItemDataRole.BackgroundRole).color()
    assert _loss_column(pg2d) == [2.0] * 9 and red.red() > red.green()
    assert "data loss <b>2.0000</b>" in pg2d.controls.readout.text()     # C - 1 at W = 0


def test_knn_regions_follow_k_and_metric(pg2d, qtbot):
    k = pg2d.controls
    k.per_class.setValue(12)
    k.noise.setValue(0.3)
    k.mode_tabs.setCurrentIndex(1)
    pg2d.repaint_now()
    assert not pg2d.table.isVisible()
    xs, _ = pg2d.canvas.line_data(0)
    assert xs is None or len(xs) == 0                   # no zero-score lines in kNN mode
    img1 = pg2d.canvas.regions.image.copy()
    k.k.setValue(7)
    pg2d.repaint_now()
    img7 = pg2d.canvas.regions.image.copy()
    assert not np.array_equal(img1, img7)
    k.metric_combo.setCurrentIndex(k.metric_combo.findData("l1"))
    pg2d.repaint_now()
    assert not np.array_equal(img7, pg2d.canvas.regions.image)
    assert "k = 7, L1" in k.knn_info.text()


def test_knn_ties_are_shown(pg2d, qtbot):
    k = pg2d.controls
    qtbot.mouseClick(k.clear_button, LEFT)
    k.mode_tabs.setCurrentIndex(1)
    qtbot.mouseClick(pg2d.findChild(QtWidgets.QPushButton, "paint_0"), LEFT)
    pg2d.canvas.handle_click(-0.5, 0.0, "left")
    qtbot.mouseClick(pg2d.findChild(QtWidgets.QPushButton, "paint_1"), LEFT)
    pg2d.canvas.handle_click(0.5, 0.0, "left")
    k.k.setValue(2)                                     # one vote each, everywhere
    pg2d.repaint_now()
    assert pg2d.tie_fraction == 1.0
    assert "100.0% of the view is a vote tie" in k.knn_info.text()
    img = pg2d.canvas.regions.image
    colours = {tuple(c) for c in img.reshape(-1, 4)}
    assert len(colours) == 3                            # two class colours + the grey hatch
    k.show_ties.setChecked(False)
    pg2d.repaint_now()
    assert len({tuple(c) for c in pg2d.canvas.regions.image.reshape(-1, 4)}) == 2
    k.k.setValue(1)
    pg2d.repaint_now()
    assert pg2d.tie_fraction == 0.0


def test_play_pause_and_randomize(pg2d, qtbot):
    k = pg2d.controls
    qtbot.mouseClick(k.play_button, LEFT)
    assert pg2d.is_playing() and k.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: pg2d.iteration >= 3, timeout=3000)
    qtbot.mouseClick(k.play_button, LEFT)
    assert not pg2d.is_playing() and k.play_button.text() == "Play"
    n = pg2d.iteration
    qtbot.wait(100)
    assert pg2d.iteration == n
    W = pg2d.W.copy()
    qtbot.mouseClick(k.random_button, LEFT)
    assert not np.allclose(W, pg2d.W) and pg2d.iteration == 0
    qtbot.mouseClick(k.play_button, LEFT)
    k.mode_tabs.setCurrentIndex(1)                      # kNN mode stops the loop
    assert not pg2d.is_playing()


def test_generators_and_class_count(pg2d):
    k = pg2d.controls
    k.per_class.setValue(10)
    for kind in ("blobs", "circles", "spiral", "xor", "cs231n"):
        k.kind.setCurrentIndex(k.kind.findData(kind))
        assert len(pg2d.X) == 30, kind
    k.classes.setValue(5)
    assert pg2d.W.shape == (5, 2) and len(k.param_spins) == 5
    assert pg2d.findChild(QtWidgets.QPushButton, "paint_4") is not None
    assert set(np.unique(pg2d.y)) == set(range(5))
    pg2d.repaint_now()
    assert _model(pg2d).columnCount() == 4 + 5 + 1


def test_repaints_are_coalesced(pg2d, qtbot, monkeypatch):
    calls = []
    original = pg2d.repaint_now
    monkeypatch.setattr(pg2d, "repaint_now", lambda: (calls.append(1), original()))
    pg2d._repaint_timer.timeout.disconnect()
    pg2d._repaint_timer.timeout.connect(pg2d.repaint_now)
    for i in range(30):
        pg2d.move_point(0, 0.01 * i, 0.0)
    qtbot.wait(120)
    assert 1 <= len(calls) <= 3
    np.testing.assert_allclose(pg2d.canvas.points()[0][0], [0.29, 0.0])


def test_presentation_mode_and_export(pg2d):
    pg2d.set_presentation(True)
    assert pg2d.font().pointSize() == 16
    pg2d.repaint_now()
    header, rows = pg2d.table_for_export()
    assert header[-1] == "loss Lᵢ" and len(rows) == 9
    assert "2D playground" in pg2d.export_targets()
    pg2d.set_presentation(False)
    assert pg2d.font().pointSize() == 10
