"""Nearest Neighbour workspace, Test set tab: evaluate with live accuracy, cancel, confusion click-through, timing."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtCore

from core.knn import KNearestNeighbor
from core.metrics import confusion_matrix, per_class_accuracy
from tests._knn_gui import click_tile, counts_from_label, make_workspace, plain, wait_idle

pytestmark = pytest.mark.gui


@pytest.fixture
def ws(qtbot, digits):
    w = make_workspace(qtbot, digits)
    w.tabs.setCurrentWidget(w.evaluate)
    yield w
    w.runner.shutdown()


def _core_predictions(ds, k, metric):
    X = ds.X_train.reshape(ds.n_train, -1)
    Xt = ds.X_test.reshape(ds.n_test, -1)
    return KNearestNeighbor(k, metric).fit(X, ds.y_train).predict(Xt)


def _evaluate(qtbot, ws):
    with qtbot.waitSignal(ws.runner.job_finished, timeout=60000,
                          check_params_cb=lambda job, status: job.kind == "knn-evaluate"):
        qtbot.mouseClick(ws.evaluate.run_button, QtCore.Qt.MouseButton.LeftButton)


def test_evaluate_shows_core_accuracy_confusion_and_per_class(qtbot, ws, digits):
    ws.set_k(3)
    ws.metric_buttons["l1"].click()
    assert ws.evaluate.run_button.text() == "Evaluate k = 3, L1 on 360 test images"
    _evaluate(qtbot, ws)
    pred = _core_predictions(digits, 3, "l1")
    correct, n = counts_from_label(ws.evaluate.accuracy_label.text())
    assert (correct, n) == (int((pred == digits.y_test).sum()), digits.n_test)
    assert f"{correct / n:.2%}" in plain(ws.evaluate.accuracy_label.text())
    cm = confusion_matrix(digits.y_test, pred, 10)
    shown = np.array([[int(ws.evaluate.confusion.cell_text(i, j)) for j in range(10)] for i in range(10)])
    np.testing.assert_array_equal(shown, cm)
    np.testing.assert_allclose(ws.evaluate.per_class.values, per_class_accuracy(digits.y_test, pred, 10))
    assert ws.evaluate.per_class.texts()[0].endswith("%")
    assert ws.evaluate.progress.value() == digits.n_test
    header, rows = ws.table_for_export()
    assert header[0] == "true \\ predicted" and rows[0][1] == cm[0, 0]


def test_running_accuracy_streams_while_evaluating(qtbot, ws, digits):
    ws.evaluate.chunk_rows = 40
    texts, values = [], []
    original = ws.evaluate._on_partial

    def spy(block):
        original(block)
        texts.append(plain(ws.evaluate.accuracy_label.text()))
        values.append(ws.evaluate.progress.value())

    ws.evaluate._on_partial = spy
    _evaluate(qtbot, ws)
    assert len(texts) == 9                                    # ceil(360 / 40) blocks
    assert all(t.startswith("Running accuracy:") for t in texts)
    assert [counts_from_label(t)[1] for t in texts] == [40, 80, 120, 160, 200, 240, 280, 320, 360]
    assert values == sorted(values) and values[-1] == 360
    pred = _core_predictions(digits, 5, "l2")
    assert counts_from_label(texts[2]) == (int((pred[:120] == digits.y_test[:120]).sum()), 120)


def test_cancel_mid_run(qtbot, ws, digits, monkeypatch):
    ws.evaluate.chunk_rows = 4
    model = ws.session.models["l2"]
    slow = model.predict

    def predict(X, k=None, **kw):
        time.sleep(0.03)
        return slow(X, k, **kw)

    monkeypatch.setattr(model, "predict", predict)
    qtbot.mouseClick(ws.evaluate.run_button, QtCore.Qt.MouseButton.LeftButton)
    assert not ws.evaluate.run_button.isEnabled() and ws.evaluate.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: ws.evaluate._done >= 12, timeout=20000)
    t0 = time.perf_counter()
    with qtbot.waitSignal(ws.runner.job_finished, timeout=5000):
        qtbot.mouseClick(ws.evaluate.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    assert time.perf_counter() - t0 < 1.0
    text = plain(ws.evaluate.accuracy_label.text())
    assert text.startswith("Cancelled after") and ws.evaluate._done < digits.n_test
    assert ws.evaluate.result is None
    assert ws.evaluate.run_button.isEnabled() and not ws.evaluate.cancel_button.isEnabled()
    assert ws.evaluate.confusion.table.rowCount() == 0


def test_confusion_cell_click_shows_images_and_opens_matches(qtbot, ws, digits):
    _evaluate(qtbot, ws)
    pred = ws.evaluate.result["pred"]
    cm = ws.evaluate.result["confusion"]
    off = cm.copy()
    np.fill_diagonal(off, 0)
    i, j = (int(v) for v in np.argwhere(off > 0)[0])
    table = ws.evaluate.confusion.table
    rect = table.visualItemRect(table.item(i, j))
    qtbot.mouseClick(table.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    expected = np.flatnonzero((digits.y_test == i) & (pred == j))
    assert ws.evaluate.cell_grid.captions() == [f"#{k}" for k in expected]
    assert f"{expected.size:,} test images" in plain(ws.evaluate.cell_title.text())
    click_tile(qtbot, ws.evaluate.cell_grid, 0)
    assert ws.tabs.currentWidget() is ws.matches
    assert ws.matches.index == int(expected[0])
    assert "wrong" in plain(ws.matches.result_label.text())
    # whole-test-set predictions colour the strip (green right / red wrong)
    assert "green = right" in ws.matches.page_label.text()


def test_train_vs_test_time_and_scaling(qtbot, ws, digits):
    _evaluate(qtbot, ws)
    summary = plain(ws.evaluate.timing.summary.text())
    assert summary.startswith("train: ") and "vs test: " in summary and "measured" in summary
    bars = ws.evaluate.timing.bars.opts["height"]
    assert bars[1] > bars[0] > 0          # predicting the test set costs more than memorising
    wait_idle(qtbot, ws, "knn-timing")
    x, y = ws.evaluate.timing.pred_curve.getData()
    assert len(x) >= 3 and x[-1] == digits.n_train
    text = plain(ws.evaluate.timing.scaling_label.text())
    assert f"training images: ● predicting the {digits.n_test} test images" in text and "● fit" in text


def test_stale_results_are_flagged_after_k_changes(qtbot, ws):
    _evaluate(qtbot, ws)
    ws.set_k(9)
    assert "for k = 5, L2" in ws.evaluate.stale_label.text()
    assert ws.evaluate.run_button.text().startswith("Evaluate k = 9")
    ws.set_k(5)
    assert ws.evaluate.stale_label.text() == ""


def test_new_dataset_cancels_and_clears(qtbot, ws, digits):
    ws.evaluate.chunk_rows = 2
    qtbot.mouseClick(ws.evaluate.run_button, QtCore.Qt.MouseButton.LeftButton)
    ws.set_dataset(digits.subsample(50, 10))
    wait_idle(qtbot, ws)
    assert ws.evaluate.result is None
    assert plain(ws.evaluate.accuracy_label.text()) == "Not evaluated yet"
    assert ws.evaluate.run_button.text() == "Evaluate k = 5, L2 on 100 test images"


def test_scaling_estimate_counts_one_time_setup_once(monkeypatch):
    """The first prediction on a fitted model may include set-up (core's search projection): the
    estimate for the whole test set is set-up + per-image time x test images, not the first sample's
    per-image time x test images (which would charge the set-up once per 300 images)."""
    import types

    from gui import knn_timing

    clock = [0.0]

    class FakeModel:
        def __init__(self, k, metric, algorithm):
            assert algorithm == "brute"     # the lecture's kNN at every size: no step where core switches
            self.calls = 0

        def fit(self, X, y):
            clock[0] += 0.01
            return self

        def predict(self, q, k, cancel=None):
            clock[0] += (0.5 if self.calls == 0 else 0.0) + 0.001 * len(q)
            self.calls += 1

    monkeypatch.setattr(knn_timing, "KNearestNeighbor", FakeModel)
    monkeypatch.setattr(knn_timing, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    ctx = types.SimpleNamespace(check=lambda: None, cancelled=lambda: False, emit=lambda p: None,
                                progress=lambda *a: None)
    X, y, Xt = np.zeros((4000, 4), np.uint8), np.zeros(4000, int), np.zeros((5000, 4), np.uint8)
    points = knn_timing.measure_scaling(X, y, Xt, "l2", 1, ctx, n_points=3, n_queries=300)
    assert [p[0] for p in points] == [1000, 2500, 4000]
    for _, fit, predict_all in points:
        assert fit == pytest.approx(0.01)
        assert predict_all == pytest.approx(0.5 + 0.001 * 5000)     # not (0.5 + 0.3) / 300 * 5000


def test_a_measured_evaluation_faster_than_the_brute_force_curve_is_explained(qtbot, ws, digits):
    _evaluate(qtbot, ws)
    timing = ws.evaluate.timing
    timing.set_test_seconds(1.0)
    note = plain(timing._shortcut_note(digits.n_train, 5.0))
    assert "took 1.0 s" in note and "same neighbours" in note
    assert "261 numbers" in timing.scaling_label.toolTip() and "lower bound" in timing.scaling_label.toolTip()
    timing.set_k_metric(timing.k, "l1")                              # L1 has its own shortcut
    timing.set_test_seconds(1.0)
    note = plain(timing._shortcut_note(digits.n_train, 5.0))
    assert "quarter-size copies" in note and "same neighbours" in note
    assert "divided by 4" in timing.scaling_label.toolTip() and "261" not in timing.scaling_label.toolTip()
    assert timing._shortcut_note(digits.n_train, 1.1) == ""          # no gap to explain
    assert timing._shortcut_note(digits.n_train // 2, 5.0) == ""     # not the full training set
