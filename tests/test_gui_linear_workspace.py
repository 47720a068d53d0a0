"""The Linear Classifier workspace, driven through its real controls (pytest-qt, offscreen).

Small data (the bundled 8x8 digits) keeps every test fast; what is asserted is what the user sees:
button texts, the counters line, the sanity-check and message lines, curve data (``getData``),
template captions and pixels, the score table.
"""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from core.losses import expected_initial_loss
from gui.linear_controls import PAUSE_TEXT, PLAY_TEXT
from tests._linear_gui import idle as _idle, ws  # noqa: F401 - fixture

pytestmark = pytest.mark.gui
LEFT = QtCore.Qt.MouseButton.LeftButton


def _iteration_shown(w) -> int:
    import re
    return int(re.search(r"Iteration (\d+)", w.counters.text()).group(1))


def _curve_x(w, model="softmax", series="total"):
    x = w.curves.curve(model, series).xData      # every point (getData() is what is drawn: downsampled)
    return np.asarray([] if x is None else x)


# ------------------------------------------------------------------------------ start
def test_start_shows_the_sanity_check_and_one_template_per_class(ws, digits):
    text = ws.sanity_label.text()
    assert "Sanity check" in text and "ln 10 = 2.303" in text and "✓" in text
    measured = ws.controller.sanity["softmax"].measured
    assert measured == pytest.approx(math.log(10), abs=0.05)
    assert f"{measured:.3f}" in text
    assert ws.templates.captions("softmax") == digits.class_names
    assert ws.templates.images("softmax").shape == (10, 8, 8, 1)
    lines = ws.curves.expected_lines()
    assert lines["softmax"].value() == pytest.approx(math.log(10))
    assert _iteration_shown(ws) == 0
    assert ws.controls.play_button.text() == PLAY_TEXT


# ------------------------------------------------------------------------------ play / pause / step / reset
def test_play_then_pause_shows_exactly_what_the_trainer_did(qtbot, ws):
    templates0 = ws.templates.images("softmax").copy()
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    assert ws.controls.play_button.text() == PAUSE_TEXT
    assert not ws.controls.step_button.isEnabled()
    qtbot.waitUntil(lambda: ws.controller.live.iteration > 30, timeout=10000)
    qtbot.waitUntil(lambda: ws.templates.updates >= 2, timeout=5000)
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    _idle(qtbot, ws)
    ctl = ws.controller
    n = ctl.trainer.iteration
    assert ws.controls.play_button.text() == PLAY_TEXT
    assert _iteration_shown(ws) == n
    x = _curve_x(ws)
    assert x.size == n and x[-1] == n
    y = ws.curves.curve("softmax", "total", smoothed=False).yData          # every point of the raw band
    np.testing.assert_allclose(y, [r.total_loss for r in ctl.trainer.history["softmax"]])
    assert not np.array_equal(ws.templates.images("softmax"), templates0), "templates did not update"
    np.testing.assert_array_equal(ctl.weights["softmax"][0], ctl.trainer.models["softmax"].W_)
    qtbot.wait(300)
    assert ctl.trainer.iteration == n, "training went on after Pause"


def test_step_keys_run_one_iteration_then_one_epoch_and_r_resets(qtbot, ws):
    ctl = ws.controller
    W0 = ctl.trainer.models["softmax"].W_.copy()
    ws.setFocus()
    qtbot.keyClick(ws, QtCore.Qt.Key.Key_S)
    _idle(qtbot, ws)
    assert ctl.trainer.iteration == 1 and _iteration_shown(ws) == 1
    assert _curve_x(ws).tolist() == [1.0]
    qtbot.keyClick(ws, QtCore.Qt.Key.Key_S, QtCore.Qt.KeyboardModifier.ShiftModifier)
    _idle(qtbot, ws)
    recs = ctl.trainer.history["softmax"]
    assert recs[-1].epoch_end and recs[-1].epoch == 1
    per_epoch = len(recs)
    assert per_epoch == math.ceil(len(ctl.features.y_train) / 200) or per_epoch > 1
    ep, tr = ws.curves.accuracy_curve("softmax", "train").getData()
    assert list(ep) == [1.0] and tr[0] == pytest.approx(recs[-1].train_accuracy * 100)
    assert f"train {recs[-1].train_accuracy * 100:.1f}%" in ws.metrics.text()
    qtbot.keyClick(ws, QtCore.Qt.Key.Key_R)
    assert ctl.trainer.iteration == 0 and _iteration_shown(ws) == 0
    assert _curve_x(ws).size == 0
    np.testing.assert_array_equal(ctl.trainer.models["softmax"].W_, W0)   # same seed, same start
    assert "Sanity check" in ws.sanity_label.text()


def test_space_toggles_play_and_pause(qtbot, ws):
    ws.setFocus()
    qtbot.keyClick(ws, QtCore.Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ws.controller.running, timeout=3000)
    qtbot.waitUntil(lambda: ws.controller.live.iteration > 5, timeout=5000)
    qtbot.keyClick(ws, QtCore.Qt.Key.Key_Space)
    _idle(qtbot, ws)
    assert ws.controls.play_button.text() == PLAY_TEXT


def test_epoch_limit_stops_play_by_itself(qtbot, ws):
    ws.controls.epochs_spin.setValue(2)
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    _idle(qtbot, ws, timeout=15000)
    assert ws.controller.trainer.epoch == 2
    assert "epoch 2" in ws.counters.text()
    ep, _ = ws.curves.accuracy_curve("softmax", "train").getData()
    assert list(ep) == [1.0, 2.0]


# ------------------------------------------------------------------------------ live hyperparameters
def test_lambda_and_learning_rate_change_mid_run(qtbot, ws):
    c, ctl = ws.controls, ws.controller
    c.epochs_spin.setValue(0)                                   # no epoch limit: keep playing
    qtbot.mouseClick(c.play_button, LEFT)
    qtbot.waitUntil(lambda: ctl.live.iteration > 10, timeout=5000)
    c.reg_slider.slider.setValue(0)                           # λ = 0 while training runs
    c.lr_slider.set_value(3e-3)
    c.flush()
    n_change = ctl.live.iteration
    # the job applies the change between chunks: wait until the shown records carry it, then 30 more
    qtbot.waitUntil(lambda: ctl.histories["softmax"].last().reg_loss == 0, timeout=10000)
    n_applied = ctl.live.iteration
    assert n_applied > n_change
    qtbot.waitUntil(lambda: ctl.live.iteration > n_applied + 30, timeout=10000)
    qtbot.mouseClick(c.play_button, LEFT)
    _idle(qtbot, ws)
    m = ctl.trainer.models["softmax"]
    assert m.reg == 0 and m.learning_rate == pytest.approx(c.lr_slider.value())
    assert c.reg_slider.label.text() == "0"
    recs = ctl.trainer.history["softmax"]
    assert recs[5].reg_loss > 0 and recs[-1].reg_loss == 0       # λR before and after the change
    reg_curve = ws.curves.curve("softmax", "reg").yData   # all points (getData() is what is drawn: downsampled)
    assert reg_curve[5] == pytest.approx(recs[5].reg_loss) and reg_curve[-1] == 0   # ... and on the λ·R(W) line


def test_penalty_none_disables_lambda(qtbot, ws):
    c = ws.controls
    c.penalty_combo.setCurrentIndex(c.penalty_combo.findData("none"))
    assert not c.reg_slider.isEnabled()
    qtbot.mouseClick(c.step_button, LEFT)                    # takes effect at the next step
    _idle(qtbot, ws)
    assert ws.controller.trainer.models["softmax"].penalty == "none"
    _, reg = ws.curves.curve("softmax", "reg").getData()
    assert reg.tolist() == [0.0]


# ------------------------------------------------------------------------------ compare mode
def test_compare_mode_trains_two_models_from_the_same_start(qtbot, ws, digits):
    c, ctl = ws.controls, ws.controller
    c.loss_combo.setCurrentIndex(c.loss_combo.findData("compare"))
    assert sorted(ctl.trainer.models) == ["hinge", "softmax"]
    np.testing.assert_array_equal(ctl.trainer.models["hinge"].W_, ctl.trainer.models["softmax"].W_)
    text = ws.sanity_label.text()
    assert "C−1 = 9" in text and "ln 10 = 2.303" in text
    assert ctl.sanity["hinge"].measured == pytest.approx(expected_initial_loss("hinge", 10), abs=0.2)
    assert ws.templates.captions("hinge") == digits.class_names == ws.templates.captions("softmax")
    assert ws.inspector.model_combo.isVisible() and ws.inspector.model_combo.count() == 2
    ws.controller.step_iterations(7)
    _idle(qtbot, ws)
    for name in ("hinge", "softmax"):
        assert _curve_x(ws, name).tolist() == list(range(1, 8))
        assert f"<b>{name}</b></span>: loss" in ws.metrics.text()
    hinge = ctl.trainer.history["hinge"]
    soft = ctl.trainer.history["softmax"]
    assert [r.batch_accuracy for r in hinge][0] == [r.batch_accuracy for r in soft][0]  # same first minibatch
    assert not np.array_equal(ctl.trainer.models["hinge"].W_, ctl.trainer.models["softmax"].W_)
    assert set(ws.curves.model_names()) == {"hinge", "softmax"}


# ------------------------------------------------------------------------------ divergence
def test_overflowing_learning_rate_stops_with_a_marker_and_keeps_the_last_good_w(qtbot, ws):
    c, ctl = ws.controls, ws.controller
    c.reg_slider.slider.setValue(c.reg_slider.slider.maximum())      # λ = 1e3
    c.lr_slider.slider.setValue(c.lr_slider.slider.maximum())        # the largest rate
    c.flush()
    qtbot.mouseClick(c.play_button, LEFT)
    qtbot.waitUntil(lambda: ws.message_kind == "error", timeout=10000)
    _idle(qtbot, ws)
    reason = ctl.trainer.stopped["softmax"]
    assert reason and reason in ws.message.text() and "Training stopped" in ws.message.text()
    assert "learning rate" in ws.message.text() and "try" in ws.message.text()
    markers = ws.curves.markers()
    assert len(markers) == 1
    assert markers[0].value() == ctl.histories["softmax"].last_iteration + 1
    W = ctl.trainer.models["softmax"].W_
    assert np.isfinite(W).all()
    np.testing.assert_array_equal(ctl.weights["softmax"][0], W)
    assert ws.controls.play_button.text() == PLAY_TEXT and ws.controls.play_button.isEnabled()
    c.lr_slider.set_value(1e-3)                                       # usable: lower the rate, go on
    c.reg_slider.set_value(1e-4)
    c.flush()
    n = ctl.trainer.iteration
    qtbot.mouseClick(c.step_button, LEFT)
    _idle(qtbot, ws)
    assert ctl.trainer.iteration == n + 1 and not ctl.trainer.stopped["softmax"]


# ------------------------------------------------------------------------------ keep the work
def test_save_and_load_round_trip_predicts_identically(qtbot, ws, tmp_path, digits):
    c, ctl = ws.controls, ws.controller
    c.lr_slider.set_value(5e-2)
    c.flush()
    ctl.step_iterations(25)
    _idle(qtbot, ws)
    model = ctl.trainer.models["softmax"]
    W, b = model.W_.copy(), model.b_.copy()
    pred = model.predict(ctl.features.X_test)
    shown = ws.displayed_test_accuracy("softmax")
    path = tmp_path / "softmax.npz"
    ws.save_model_to(str(path))
    assert path.is_file()
    c.seed_spin.setValue(7)                      # a different run replaces the trained one
    assert ctl.trainer.iteration == 0
    ws.load_model_from(str(path))
    m2 = ctl.trainer.models["softmax"]
    np.testing.assert_array_equal(m2.W_, W)
    np.testing.assert_array_equal(m2.b_, b)
    np.testing.assert_array_equal(m2.predict(ctl.features.X_test), pred)
    assert ws.displayed_test_accuracy("softmax") == shown
    assert _curve_x(ws).size == 25 and ws.message_kind == "ok"
    assert "first recorded loss of the loaded model" in ws.sanity_label.text()
    assert c.values()["learning_rate"] == 5e-2 and m2.learning_rate == 5e-2 and c.values()["seed"] == 0
    ctl.step_iterations(1)                       # and training continues from the loaded W
    _idle(qtbot, ws)
    assert ctl.trainer.iteration == 26


def test_loading_a_model_for_other_data_is_refused_with_a_message(qtbot, ws, tmp_path, monkeypatch):
    from PySide6 import QtWidgets

    from _gui_data import tiny_dataset
    path = tmp_path / "digits.npz"
    ws.save_model_to(str(path))
    ws.set_dataset(tiny_dataset(n_classes=3, shape=(6, 5, 3), name="Other"), val_fraction=0.0)
    W = ws.controller.trainer.models["softmax"].W_.copy()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    qtbot.mouseClick(ws.controls.load_button, LEFT)
    assert ws.message_kind == "error" and "Could not load the model" in ws.message.text()
    np.testing.assert_array_equal(ws.controller.trainer.models["softmax"].W_, W)


def test_history_csv_png_and_export_targets(qtbot, ws, tmp_path):
    ws.controller.step_iterations(12)
    _idle(qtbot, ws)
    path = tmp_path / "history.csv"
    ws.export_history_csv(str(path))
    rows = list(csv.reader(path.open()))
    assert rows[0][:6] == ["model", "iteration", "epoch", "data_loss", "reg_loss", "total_loss"]
    assert len(rows) == 13 and rows[-1][1] == "12"
    header, table = ws.table_for_export()
    assert header == rows[0] and len(table) == 12
    targets = ws.export_targets()
    assert set(targets) == {"Loss curves", "Accuracy per epoch"}
    png = tmp_path / "loss.png"
    ws.curves.export_png(str(png))
    assert png.stat().st_size > 1000


# ------------------------------------------------------------------------------ views
def test_hover_readout_and_log_y(qtbot, ws):
    ws.controller.step_iterations(10)
    _idle(qtbot, ws)
    text = ws.curves.show_readout(5.2)
    assert "iteration <b>5</b>" in text and text == ws.curves.readout.text()
    rec = ws.controller.trainer.history["softmax"][4]
    assert f"raw {rec.total_loss:.4g}" in text
    assert ws.curves.hover_line.value() == 5
    qtbot.mouseClick(ws.curves.log_box, LEFT, pos=QtCore.QPoint(5, 5))
    assert ws.curves.log_box.isChecked()
    assert ws.curves.loss_plot.getAxis("left").logMode
    assert ws.curves.expected_lines()["softmax"].value() == pytest.approx(math.log10(math.log(10)))
    _, y = ws.curves.curve("softmax", "total").getData()
    assert y.size == 10


def test_clicking_a_template_opens_a_large_view_with_a_colour_bar(qtbot, ws, digits):
    ws.controller.step_iterations(20)
    _idle(qtbot, ws)
    grid = ws.templates.grids["softmax"]
    qtbot.mouseClick(grid, LEFT, pos=grid.tile_rect(3).center())
    d = ws.templates.dialog
    assert d is not None and d.isVisible()
    assert digits.class_names[3] in d.info.text()
    w3 = ws.controller.trainer.models["softmax"].W_[3]
    m = float(np.abs(w3).max())
    assert d.levels() == pytest.approx((-m, m), rel=1e-5)
    ws.controller.step_iterations(5)                    # the large view follows training
    _idle(qtbot, ws)
    w3 = ws.controller.trainer.models["softmax"].W_[3]
    assert d.levels() == pytest.approx((-float(np.abs(w3).max()), float(np.abs(w3).max())), rel=1e-5)
    ws.templates.scale_combo.setCurrentIndex(1)          # one shared scale
    from core.preprocess import template_images_shared
    np.testing.assert_array_equal(ws.templates.images("softmax"),
                                  template_images_shared(ws.controller.trainer.models["softmax"].W_, (8, 8, 1)))


def test_presentation_mode_enlarges_templates(qtbot, ws):
    before = ws.templates.grids["softmax"].tile
    ws.resize(1920, 1080)
    ws.set_presentation(True)
    qtbot.wait(50)
    assert ws.templates.grids["softmax"].tile > before or ws.templates.grids["softmax"].tile >= 84
    assert ws.counters.font().pointSize() == 16


def test_tips_fade_but_errors_stay(qtbot, ws, monkeypatch):
    from gui import linear_workspace

    monkeypatch.setattr(linear_workspace, "MESSAGE_SECONDS", 0.2)
    ws._show_message("a tip", "info")
    assert ws.message.isVisible()
    qtbot.waitUntil(lambda: not ws.message.isVisible(), timeout=3000)
    assert ws.message.text() == "a tip"                      # still readable by code, just not shown
    ws._show_message("Training stopped: overflow", "error")
    qtbot.wait(500)
    assert ws.message.isVisible() and ws.message_kind == "error"


def test_hover_readout_floats_over_the_loss_plot(qtbot, ws):
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: ws.controller.live.iteration >= 10, timeout=10000)
    qtbot.mouseClick(ws.controls.play_button, LEFT)
    _idle(qtbot, ws)
    text = ws.curves.show_readout(5.0)
    r = ws.curves.readout
    assert r.parent() is ws.curves.loss_widget and r.isVisible() and text == r.text()
    w = ws.curves.loss_widget.width()
    assert w - 40 <= r.geometry().right() <= w                  # inside the plot, at its right edge
    QtWidgets.QApplication.sendEvent(ws.curves.loss_widget, QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert not r.isVisible()                                    # like a tooltip: gone with the pointer
