"""Reset (R) gives the loss and accuracy plots fresh ranges that follow the new run, even after the user
zoomed or panned during the old one (pytest-qt, offscreen, the bundled 8x8 digits)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from tests._linear_gui import idle as _idle, ws  # noqa: F401 - fixture

pytestmark = pytest.mark.gui


def _ranges(plot):
    """The view's (x0, x1, y0, y1) as drawn: pyqtgraph auto-ranges when it paints, so let it paint first."""
    plot.getViewBox().update()
    QtWidgets.QApplication.processEvents()
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    return x0, x1, y0, y1


def _view_point(view, plot) -> QtCore.QPointF:
    return QtCore.QPointF(view.mapFromScene(plot.getViewBox().sceneBoundingRect().center()))


def _wheel_zoom(view, plot, clicks: int) -> None:
    """Turn the mouse wheel over the middle of ``plot`` (positive zooms in), as a user would."""
    pos = _view_point(view, plot)
    ev = QtGui.QWheelEvent(pos, QtCore.QPointF(view.viewport().mapToGlobal(pos.toPoint())), QtCore.QPoint(),
                           QtCore.QPoint(0, 120 * clicks), QtCore.Qt.MouseButton.NoButton,
                           QtCore.Qt.KeyboardModifier.NoModifier, QtCore.Qt.ScrollPhase.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(view.viewport(), ev)


def _drag_pan(view, plot, dx: int, dy: int) -> None:
    """Press the left button over ``plot``, drag by (dx, dy) pixels and release (a pan)."""
    left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton
    mods = QtCore.Qt.KeyboardModifier.NoModifier
    vp = view.viewport()
    start = _view_point(view, plot)

    def send(kind, pos, button, buttons):
        g = QtCore.QPointF(vp.mapToGlobal(pos.toPoint()))
        QtWidgets.QApplication.sendEvent(vp, QtGui.QMouseEvent(kind, pos, g, button, buttons, mods))

    send(QtCore.QEvent.Type.MouseButtonPress, start, left, left)
    for k in range(1, 6):
        send(QtCore.QEvent.Type.MouseMove, start + QtCore.QPointF(dx * k / 5, dy * k / 5), none, left)
    send(QtCore.QEvent.Type.MouseButtonRelease, start + QtCore.QPointF(dx, dy), left, none)


def _train_epochs(qtbot, w, n):
    for _ in range(n):
        w.controller.step_epoch()
        _idle(qtbot, w)


def _assert_loss_range_fits(w, last_iteration):
    """The loss plot shows 0..last iteration with little wasted room, and all of the drawn curve in y."""
    x0, x1, y0, y1 = _ranges(w.curves.loss_plot)
    assert x0 <= 0.5 and last_iteration <= x1 <= max(12.0, 2.5 * last_iteration), (x0, x1)
    h = w.controller.histories["softmax"]
    data = np.concatenate([h.column(k) for k in ("data", "reg", "total")]
                          + [h.smoothed(k) for k in ("data", "total")])
    lo, hi = float(data.min()), float(data.max())
    assert y0 <= lo and hi <= y1, ((y0, y1), (lo, hi))
    assert (hi - lo) >= 0.5 * (y1 - y0), "the curve fills less than half of the plot's height"


def test_reset_starts_the_plots_over_at_the_new_run(qtbot, ws):
    _train_epochs(qtbot, ws, 6)
    n_old = ws.controller.trainer.iteration
    assert _ranges(ws.curves.loss_plot)[1] >= n_old > 100
    assert _ranges(ws.curves.acc_plot)[1] >= 6
    ws.setFocus()
    qtbot.keyClick(ws, QtCore.Qt.Key.Key_R)
    assert ws.controller.trainer.iteration == 0
    # an empty new run: iterations 0..10, the expected initial loss in view, accuracy 0..100 % over epoch 0..1
    x0, x1, y0, y1 = _ranges(ws.curves.loss_plot)
    assert x0 <= 0 and 5 <= x1 <= 12, (x0, x1)
    expected = ws.curves.expected_lines()["softmax"].value()
    assert y0 < expected < y1 and y1 < 3 * expected
    x0, x1, y0, y1 = _ranges(ws.curves.acc_plot)
    assert x1 <= 2 and (y0, y1) == pytest.approx((-2, 102), abs=0.5)
    # the new run's curve fills the plot as it grows
    ws.controller.step_iterations(7)
    _idle(qtbot, ws)
    _assert_loss_range_fits(ws, 7)
    _train_epochs(qtbot, ws, 1)
    _assert_loss_range_fits(ws, ws.controller.trainer.iteration)
    _train_epochs(qtbot, ws, 2)
    _assert_loss_range_fits(ws, ws.controller.trainer.iteration)
    x0, x1, _, _ = _ranges(ws.curves.acc_plot)
    assert x0 <= 1 and 3 <= x1 <= 5, (x0, x1)


def test_reset_gives_auto_range_back_after_the_user_zoomed_and_panned(qtbot, ws):
    curves = ws.curves
    _train_epochs(qtbot, ws, 4)
    before_loss, before_acc = _ranges(curves.loss_plot), _ranges(curves.acc_plot)
    _wheel_zoom(curves.loss_widget, curves.loss_plot, 3)
    _drag_pan(curves.loss_widget, curves.loss_plot, 120, -40)
    _wheel_zoom(curves.acc_widget, curves.acc_plot, 3)
    _drag_pan(curves.acc_widget, curves.acc_plot, 60, 30)
    zoomed_loss, zoomed_acc = _ranges(curves.loss_plot), _ranges(curves.acc_plot)
    assert zoomed_loss[1] - zoomed_loss[0] < 0.8 * (before_loss[1] - before_loss[0]), "the wheel did not zoom"
    assert zoomed_acc[3] - zoomed_acc[2] < 0.8 * (before_acc[3] - before_acc[2]), "the wheel did not zoom"
    assert zoomed_loss[0] > before_loss[0], "the drag did not pan"
    _train_epochs(qtbot, ws, 1)                        # the user's view stays put while training goes on
    assert _ranges(curves.loss_plot) == pytest.approx(zoomed_loss)
    assert _ranges(curves.acc_plot) == pytest.approx(zoomed_acc)

    ws.setFocus()
    qtbot.keyClick(ws, QtCore.Qt.Key.Key_R)
    x0, x1, _, _ = _ranges(curves.loss_plot)
    assert x0 <= 0 and 5 <= x1 <= 12, (x0, x1)
    assert _ranges(curves.acc_plot)[2:] == pytest.approx((-2, 102), abs=0.5)
    ws.controller.step_iterations(15)
    _idle(qtbot, ws)
    _assert_loss_range_fits(ws, 15)
    _train_epochs(qtbot, ws, 2)
    _assert_loss_range_fits(ws, ws.controller.trainer.iteration)
    x0, x1, y0, y1 = _ranges(curves.acc_plot)
    _, tr = curves.accuracy_curve("softmax", "train").getData()
    assert x0 <= 1 and 2 <= x1 <= 4, (x0, x1)          # both epochs of the new run are in view
    assert y0 <= 0 and y1 >= 100 and np.all((tr > y0) & (tr < y1))
